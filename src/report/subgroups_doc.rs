//! The "Results per subgroup" blocks of an experiment (Markdown and HTML; LaTeX and CSV
//! export the same model).

use super::doc::{Block, Cell as DocCell, FigureRef, Table, Text};
use super::format::{interval, mean_std, num, signed};
use super::model::{ExperimentReport, SubgroupMetric};

/// The subsection (nothing when the experiment reports no subgroups); `figure_of` finds the
/// figure of a task.
pub fn experiment(out: &mut Vec<Block>, exp: &ExperimentReport, id: &str, figure_of: impl Fn(&str) -> Option<FigureRef>) {
    let Some(section) = &exp.subgroups else { return };
    out.push(Block::Heading { level: 3, text: "Results per subgroup".into(), id: format!("{id}-subgroups") });
    let groups: Vec<String> = section.groups.iter().map(|(g, n)| format!("{g} ({n} test samples)")).collect();
    let mut intro = match &section.shift {
        Some((train, held_out)) => format!(
            "Distribution shift by {}: trained and selected on {}; tested on the test samples of those groups \
             (in-distribution) and of {} (shifted). ",
            section.by,
            train.join(", "),
            held_out.join(", ")
        ),
        None => format!("Test metrics per subgroup of {}. ", section.by),
    };
    intro += &format!(
        "Subgroups: {}. Each cell: mean ± std over seeds of the metric computed on the subgroup's samples alone, \
         with the mean over seeds of each run's per-sample bootstrap 95% CI; best per column in bold. Paired tests \
         and Δm above are on the pooled test set.",
        groups.join("; ")
    );
    if section.shift.is_some() {
        intro += " Change: shifted − in-distribution, mean ± std over seeds (for a lower-is-better metric a positive change is a loss).";
    }
    out.push(Block::Paragraph(Text::plain(intro)));
    for task in &section.tasks {
        for m in &task.metrics {
            out.push(Block::Paragraph(Text::new().t("Task ").c(&task.task).t(", ").c(&m.metric).t(if m.higher_is_better {
                " (higher is better)"
            } else {
                " (lower is better)"
            })));
            out.push(Block::Table(metric_table(exp, section.groups.iter().map(|(g, _)| g.as_str()), m)));
        }
        if let Some(f) = figure_of(&task.task) {
            out.push(Block::Figure(f));
        }
    }
}

fn metric_table<'a>(exp: &ExperimentReport, groups: impl Iterator<Item = &'a str>, m: &SubgroupMetric) -> Table {
    let mut header = vec!["design".to_owned(), "weighting".to_owned(), "pooled".to_owned()];
    header.extend(groups.map(str::to_owned));
    if m.change.is_some() {
        header.push("change".into());
    }
    let d = m.decimals;
    let cell = |c: &Option<super::model::Cell>| match c {
        Some(c) => DocCell { text: mean_std(c, d), sub: interval(c.ci, d), bold: c.best, mark: "" },
        None => "–".into(),
    };
    let rows = exp
        .combos
        .iter()
        .enumerate()
        .map(|(c, combo)| {
            let mut row: Vec<DocCell> = vec![combo.design.clone().into(), combo.weighting.clone().into(), cell(&m.pooled[c])];
            row.extend(m.per_group.iter().map(|g| cell(&g[c])));
            if let Some(change) = &m.change {
                row.push(match &change[c] {
                    Some(s) if s.n > 1 => format!("{} ± {}", signed(s.mean, d), num(s.std, d)).into(),
                    Some(s) => signed(s.mean, d).into(),
                    None => "–".into(),
                });
            }
            row
        })
        .collect();
    let numeric = (0..header.len()).map(|i| i >= 2).collect();
    Table { header, numeric, rows }
}
