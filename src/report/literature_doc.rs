//! The Literature blocks of a report (laid out once for Markdown and HTML; LaTeX and CSV
//! export the same tables from the model).

use super::doc::{Block, Cell as DocCell, FigureRef, Table, Text};
use super::format::{decimals_for, num};
use super::model::{ExperimentLiterature, ExperimentReport, SuiteLiterature};

/// The per-experiment Literature subsection (nothing when no paper's design runs here).
pub fn experiment(out: &mut Vec<Block>, exp: &ExperimentReport, id: &str, ranks_figure: Option<FigureRef>) {
    let lit: &ExperimentLiterature = &exp.literature;
    if lit.papers.is_empty() {
        return;
    }
    out.push(Block::Heading { level: 3, text: "Literature: the papers' designs, re-measured".into(), id: format!("{id}-literature") });
    out.push(Block::Paragraph(Text::plain(
        "Each paper's own numbers are on its own data, splits and metric code (mostly private or 3-D data): they are \
         not comparable with medmtl's, nor with each other. medmtl's value is the same metric for the design that \
         re-implements the paper, on this experiment's public data and protocol (mean ± std over seeds, test split).",
    )));
    let mut table = Table {
        header: [
            "paper",
            "design (host data)",
            "paper's task",
            "paper's metric",
            "paper's value (its data)",
            "medmtl metric",
            "medmtl value",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, false, false, false, true, false, true],
        rows: Vec::new(),
    };
    for p in &lit.papers {
        let head: DocCell = format!("{} {}", p.id, p.citation).into();
        let design: DocCell = format!("{} ({})", p.design, p.host).into();
        if p.rows.is_empty() {
            table.rows.push(vec![
                head.clone(),
                design.clone(),
                "–".into(),
                "–".into(),
                "no number reported".into(),
                "–".into(),
                "–".into(),
            ]);
        }
        for (k, r) in p.rows.iter().enumerate() {
            let (metric, value) = match (&r.medmtl, &r.value) {
                (Some((task, m)), Some(v)) => (format!("{task}: {m}"), mean_std_text(v)),
                (Some((task, m)), None) => (format!("{task}: {m}"), "not run".to_owned()),
                (None, _) => ("none comparable".to_owned(), "–".to_owned()),
            };
            let (h, d) = if k == 0 { (head.clone(), design.clone()) } else { ("".into(), "".into()) };
            table.rows.push(vec![
                h,
                d,
                r.paper_task.clone().into(),
                r.paper_metric.clone().into(),
                format!("{} on {}", r.paper_value, r.on).into(),
                metric.into(),
                value.into(),
            ]);
        }
    }
    out.push(Block::Table(table));
    let standing: Vec<Text> = lit
        .papers
        .iter()
        .map(|p| match (p.delta_m_rank, p.delta_m) {
            (Some((rank, of)), Some(dm)) => Text::new().b(p.id.clone()).t(format!(
                " ({}): Δm {} % against STL, rank {} of {} combos under the uniform metric set",
                p.design,
                num(dm, 1),
                num(rank, 1),
                of
            )),
            _ => Text::new().b(p.id.clone()).t(format!(" ({}): no complete run to rank", p.design)),
        })
        .collect();
    out.push(Block::Paragraph(Text::plain("Standing of each paper's design among this experiment's combos:")));
    out.push(Block::List(standing));
    let v = &lit.variability;
    if v.labels.len() > 1 {
        out.push(Block::Paragraph(Text::plain(
            "Ranking of the combos when each paper's headline metric decides (1 = best, bold), against the uniform Δm:",
        )));
        let mut ranks = Table { header: vec!["ranking by".into()], numeric: vec![false], rows: Vec::new() };
        for c in &exp.combos {
            ranks.header.push(c.label());
            ranks.numeric.push(true);
        }
        ranks.header.push("τ-b vs Δm".into());
        ranks.numeric.push(true);
        let last = v.labels.len() - 1;
        for (r, label) in v.labels.iter().enumerate() {
            let mut row: Vec<DocCell> = vec![label.clone().into()];
            for c in 0..exp.combos.len() {
                let x = v.ranks[r][c];
                row.push(DocCell {
                    text: if x.fract() == 0.0 { num(x, 0) } else { num(x, 1) },
                    bold: v.best[r].contains(&c),
                    ..DocCell::default()
                });
            }
            row.push(if r == last { "–".into() } else { num(v.tau[r][last], 2).into() });
            ranks.rows.push(row);
        }
        out.push(Block::Table(ranks));
        if let Some(f) = ranks_figure {
            out.push(Block::Figure(f));
        }
    }
}

fn mean_std_text(s: &crate::stats::Summary) -> String {
    let d = decimals_for([s.mean]);
    if s.n > 1 {
        format!("{} ± {}", num(s.mean, d), num(s.std, d))
    } else {
        num(s.mean, d)
    }
}

/// The suite-wide Literature map section: metric coverage and scope of task combinations.
pub fn suite(out: &mut Vec<Block>, lit: &SuiteLiterature) {
    out.push(Block::Heading { level: 2, text: "Literature map: metrics and task combinations".into(), id: "literature-map".into() });
    out.push(Block::Paragraph(
        Text::new()
            .c("benchmarks/literature.toml")
            .t(format!(
                " maps {} medical MTL papers (2016-2024); medmtl re-implements {} of them on public data (",
                lit.counts.0, lit.counts.1
            ))
            .c("medmtl literature")
            .t(" lists them). Which metrics each paper reports shows why the papers cannot be compared:"),
    ));
    let cov = &lit.coverage;
    let mut table = Table { header: vec!["paper".into()], numeric: vec![false], rows: Vec::new() };
    let shown: Vec<usize> = (0..cov.metrics.len()).filter(|&m| cov.rows.iter().filter(|(_, r)| r[m]).count() > 1).collect();
    for &m in &shown {
        table.header.push(cov.metrics[m].clone());
        table.numeric.push(true);
    }
    table.header.push("other metrics".into());
    table.numeric.push(true);
    for (id, row) in &cov.rows {
        let mut cells: Vec<DocCell> = vec![id.clone().into()];
        cells.extend(shown.iter().map(|&m| DocCell::new(if row[m] { "x" } else { "" })));
        let others = (0..cov.metrics.len()).filter(|m| row[*m] && !shown.contains(m)).count();
        cells.push(DocCell::new(if others > 0 { others.to_string() } else { String::new() }));
        table.rows.push(cells);
    }
    out.push(Block::Details {
        summary: format!("Metric coverage: {} papers x {} metrics reported by more than one paper", cov.rows.len(), shown.len()),
        blocks: vec![Block::Table(table)],
    });
    let mut scope = Table {
        header: ["task kinds", "papers", "papers (ids)", "medmtl experiments"].map(String::from).to_vec(),
        numeric: vec![false, true, false, false],
        rows: Vec::new(),
    };
    for row in &lit.scope {
        scope.rows.push(vec![
            row.label().into(),
            row.papers.len().to_string().into(),
            row.papers.join(", ").into(),
            if row.experiments.is_empty() { "none".into() } else { row.experiments.join(", ").into() },
        ]);
    }
    out.push(Block::Paragraph(Text::plain("Scope of task combinations: what the papers study and what medmtl's suites measure.")));
    out.push(Block::Table(scope));
}
