//! LaTeX tables (booktabs) ready to `\input` into a paper: one per task, plus Δm, paired
//! tests and cost per experiment, and `preview.tex`, a document that inputs them all (the
//! tables need the `booktabs` and `graphicx` packages).

use std::fmt::Write;

use super::format::{decimals_for, file_part, interval, num, p_value, signed};
use super::model::{AuxiliaryRow, ExperimentReport, FractionCurve, PooledTable, Report, TaskTable};

/// A LaTeX table file: its name (under `tables/`) and text.
pub struct TexTable {
    /// File name under `tables/`: `<experiment>__<task or table>.tex`, or `preview.tex`.
    pub file: String,
    /// The LaTeX source.
    pub text: String,
}

/// Escapes text for LaTeX (ASCII only out; the few symbols used are mapped to macros).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '–' | '−' => out.push_str("--"),
            '±' => out.push_str("$\\pm$"),
            'Δ' => out.push_str("$\\Delta$"),
            'τ' => out.push_str("$\\tau$"),
            '·' => out.push_str("$\\cdot$"),
            '×' => out.push_str("$\\times$"),
            '↑' => out.push_str("$\\uparrow$"),
            '↓' => out.push_str("$\\downarrow$"),
            '∞' => out.push_str("$\\infty$"),
            c if c.is_ascii() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

fn label(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

/// Every LaTeX table of the report, plus `preview.tex`.
pub fn tables(report: &Report) -> Vec<TexTable> {
    let mut out = Vec::new();
    for exp in &report.experiments {
        if !exp.delta_m.rows.is_empty() {
            out.push(delta_m_table(exp));
        }
        for task in &exp.tasks {
            out.push(task_table(exp, task));
        }
        if exp.tests.iter().any(|t| t.note.is_none()) {
            out.push(tests_table(exp));
        }
        if !exp.cost.is_empty() {
            out.push(cost_table(exp));
        }
        if !exp.literature.papers.is_empty() {
            out.push(literature_table(exp));
        }
        out.extend(subgroup_tables(exp));
    }
    out.extend(report.pooled.iter().map(pooled_table));
    if !report.auxiliary.is_empty() {
        out.push(auxiliary_table(&report.auxiliary));
    }
    out.extend(report.fractions.iter().map(fraction_table));
    let mut preview = String::from(
        "% Compile with pdflatex to preview every table of this report.\n\\documentclass{article}\n\
         \\usepackage[margin=1.5cm,landscape]{geometry}\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n\\begin{document}\n",
    );
    for t in &out {
        let _ = writeln!(preview, "\\input{{{}}}", t.file);
    }
    preview.push_str("\\end{document}\n");
    out.push(TexTable { file: "preview.tex".into(), text: preview });
    out
}

/// Opens a table; a table wider than the text is scaled down to fit (graphicx).
fn begin(text: &mut String, columns: &str) {
    let _ = write!(
        text,
        "% Needs \\usepackage{{booktabs}} and \\usepackage{{graphicx}}.\n\\begin{{table}}[htbp]\n\\centering\n\\small\n\\setlength{{\\tabcolsep}}{{4pt}}\n\
         {RESIZE}\\begin{{tabular}}{{{columns}}}\n\\toprule\n"
    );
}

/// Scales a tabular down to the text width when it is wider (graphicx).
const RESIZE: &str = "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n";

fn end(text: &mut String, caption: &str, label_text: &str) {
    let _ =
        write!(text, "\\bottomrule\n\\end{{tabular}}}}\n\\caption{{{caption}}}\n\\label{{tab:{}}}\n\\end{{table}}\n", label(label_text));
}

fn math_cell(mean: &str, std: Option<&str>, bold: bool, mark: &str) -> String {
    let body = match std {
        Some(s) => format!("{mean} \\pm {s}"),
        None => mean.to_owned(),
    };
    let body = body.replace('–', "\\text{--}").replace('∞', "\\infty");
    let body = if bold { format!("\\mathbf{{{body}}}") } else { body };
    let mark = if mark.is_empty() { String::new() } else { format!("^{{{mark}}}") };
    format!("${body}{mark}$")
}

/// Auxiliary tasks against the same design without them (see the Markdown section).
fn auxiliary_table(rows: &[AuxiliaryRow]) -> TexTable {
    let mut text = String::new();
    begin(&mut text, "llllllrrrlrr");
    text.push_str("experiment & auxiliary & design & against & task & metric & with & without & difference & 95\\% CI & $p$ (Holm) & seeds \\\\\n\\midrule\n");
    for r in rows {
        let ci = r.test.note.clone().unwrap_or_else(|| interval(r.test.ci, 3).unwrap_or_else(|| "–".into()));
        let p = if r.test.p_holm.is_finite() { p_value(r.test.p_holm) } else { "–".into() };
        let _ = writeln!(
            text,
            "{} & {} & {} & {} & {} & {} & {} & {} & {} & {} & {} & {} \\\\",
            escape(&r.experiment),
            escape(&r.auxiliary.join(", ")),
            escape(&r.combo),
            escape(&format!("{} {}", r.baseline, r.baseline_combo)),
            escape(&r.test.task),
            escape(&r.test.metric),
            math_cell(&num(r.with, 3), None, false, ""),
            math_cell(&num(r.without, 3), None, false, ""),
            math_cell(&signed(r.test.difference, 3), None, false, r.test.mark),
            escape(&ci),
            escape(&p),
            r.test.seeds.len()
        );
    }
    end(&mut text, &escape(super::auxiliary_doc::EXPLANATION), "auxiliary");
    TexTable { file: "auxiliary.tex".into(), text }
}

/// ` & mean [lo, hi]` of a cell, or ` & --` where there is none.
fn mean_interval_cell(cell: Option<(f64, (f64, f64))>) -> String {
    match cell {
        Some((mean, ci)) => {
            let ci = interval(ci, 3).map(|s| format!(" {}", escape(&s))).unwrap_or_default();
            format!(" & {}{ci}", math_cell(&num(mean, 3), None, false, ""))
        }
        None => " & --".into(),
    }
}

/// A learning curve over the labelled fraction (see the Markdown section).
fn fraction_table(c: &FractionCurve) -> TexTable {
    let mut text = String::new();
    begin(&mut text, &format!("lll{}", "c".repeat(c.fractions.len())));
    text.push_str("task & metric & design");
    for f in &c.fractions {
        let _ = write!(text, " & $f = {}$", num(*f, 2));
    }
    text.push_str(" \\\\\n\\midrule\n");
    for r in &c.rows {
        let _ = write!(text, "{} & {} & {}", escape(&r.task), escape(&r.metric), escape(&r.combo));
        for cell in &r.cells {
            text.push_str(&mean_interval_cell(cell.map(|v| (v.mean, v.ci))));
        }
        text.push_str(" \\\\\n");
    }
    let caption =
        format!("{}: labelled fraction of task {}. {}", escape(&c.dataset), escape(&c.task), escape(super::partial_doc::EXPLANATION));
    end(&mut text, &caption, &format!("fraction-{}-{}", c.dataset, c.task));
    TexTable { file: format!("fraction__{}__{}.tex", file_part(&c.dataset), file_part(&c.task)), text }
}

/// A dataset's cross-validation pools: mean over folds with the 95% t-interval over folds.
fn pooled_table(t: &PooledTable) -> TexTable {
    let mut text = String::new();
    begin(&mut text, &format!("llr{}", "c".repeat(t.columns.len())));
    let _ = write!(text, "pool & design & folds");
    for (task, metric, _) in &t.columns {
        let _ = write!(text, " & {} {}", escape(task), escape(metric));
    }
    text.push_str(" \\\\\n\\midrule\n");
    for r in &t.rows {
        let _ = write!(text, "{} & {} & {}", escape(&r.pool), escape(&r.combo), r.folds);
        for cell in &r.cells {
            text.push_str(&mean_interval_cell(cell.as_ref().map(|v| (v.mean, v.ci))));
        }
        text.push_str(" \\\\\n");
    }
    end(
        &mut text,
        &format!("{}: pooled over folds (mean over folds; 95\\% t-interval over folds).", escape(&t.dataset)),
        &format!("pooled-{}", t.dataset),
    );
    TexTable { file: format!("pooled__{}.tex", file_part(&t.dataset)), text }
}

fn task_table(exp: &ExperimentReport, task: &TaskTable) -> TexTable {
    let mut text = String::new();
    // As in the report: more than nine metrics go into stacked parts of one table, so
    // none is shrunk to an unreadable size.
    let parts = task.columns.len().div_ceil(super::format::MAX_METRIC_COLUMNS).max(1);
    let per_part = task.columns.len().div_ceil(parts).max(1);
    for (part, columns) in task.columns.chunks(per_part).enumerate() {
        let spec = format!("ll{}", "r".repeat(columns.len()));
        if part == 0 {
            begin(&mut text, &spec);
        } else {
            let _ = write!(text, "\\bottomrule\n\\end{{tabular}}}}\n\n\\medskip\n{}\\begin{{tabular}}{{{spec}}}\n\\toprule\n", RESIZE);
        }
        let mut header = vec!["Design".to_owned(), "Weighting".to_owned()];
        for col in columns {
            let arrow = if col.count {
                ""
            } else if col.higher_is_better {
                " $\\uparrow$"
            } else {
                " $\\downarrow$"
            };
            header.push(format!("{}{arrow}", escape(&col.metric)));
        }
        let _ = writeln!(text, "{} \\\\\n\\midrule", header.join(" & "));
        for (c, combo) in exp.combos.iter().enumerate() {
            let mut row = vec![escape(&combo.design), escape(&combo.weighting)];
            for col in columns {
                row.push(match &col.cells[c] {
                    Some(cell) => {
                        let std = (cell.summary.n > 1 && !col.count).then(|| num(cell.summary.std, col.decimals));
                        math_cell(&num(cell.summary.mean, col.decimals), std.as_deref(), cell.best, cell.mark)
                    }
                    None => "--".into(),
                });
            }
            let _ = writeln!(text, "{} \\\\", row.join(" & "));
        }
    }
    let caption = format!(
        "{}: task {} ({}), test split. Mean $\\pm$ std over seeds; best in bold; $^{{*}}$/$^{{**}}$: the primary metric ({}) \
         differs from STL in a paired bootstrap test (Holm-adjusted $p<0.05$/$p<0.01$). 95\\% CIs in the report.",
        escape(&exp.name),
        escape(&task.name),
        escape(&task.kind),
        escape(&task.primary)
    );
    end(&mut text, &caption, &format!("{}-{}", exp.name, task.name));
    TexTable { file: format!("{}__{}.tex", file_part(&exp.name), file_part(&task.name)), text }
}

fn delta_m_table(exp: &ExperimentReport) -> TexTable {
    let mut text = String::new();
    begin(&mut text, "llrrrrr");
    let _ = writeln!(
        text,
        "Design & Weighting & Seeds & $\\Delta_m$ (\\%) $\\uparrow$ & 95\\% CI & LibMTL (\\%) $\\uparrow$ & nash-mtl (\\%) $\\downarrow$ \\\\\n\\midrule"
    );
    let best = exp.delta_m.rows.iter().map(|r| r.summary.mean).filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    for r in &exp.delta_m.rows {
        let c = &exp.combos[r.combo];
        let std = (r.summary.n > 1).then(|| num(r.summary.std, 2));
        let _ = writeln!(
            text,
            "{} & {} & {} & {} & {} & {} & {} \\\\",
            escape(&c.design),
            escape(&c.weighting),
            r.summary.n,
            math_cell(&signed(r.summary.mean, 2), std.as_deref(), r.summary.mean == best, ""),
            escape(&interval(r.ci, 2).unwrap_or_else(|| "–".into())),
            math_cell(&signed(r.libmtl, 2), None, false, ""),
            math_cell(&signed(r.nashmtl, 2), None, false, ""),
        );
    }
    let metrics: Vec<String> = exp.delta_m.metrics.iter().map(|(t, ms)| format!("{}: {}", escape(t), escape(&ms.join(", ")))).collect();
    let caption = format!(
        "{}: multi-task performance change against STL, $\\Delta_m = \\frac{{100}}{{T}}\\sum_t \\frac{{1}}{{K_t}}\\sum_k s_{{tk}} (M_{{tk}} - B_{{tk}})/|B_{{tk}}|$ \
         (positive = better), mean $\\pm$ std over seeds with a Student-$t$ 95\\% CI; metrics per task: {}. LibMTL's and nash-mtl's conventions of the same seed means for comparison.",
        escape(&exp.name),
        metrics.join("; ")
    ) + &escape(&super::document::auxiliary_note(&exp.delta_m.excluded));
    end(&mut text, &caption, &format!("{}-delta-m", exp.name));
    TexTable { file: format!("{}__delta_m.tex", file_part(&exp.name)), text }
}

fn tests_table(exp: &ExperimentReport) -> TexTable {
    let mut text = String::new();
    begin(&mut text, "llllrrrrr");
    let _ = writeln!(
        text,
        "Task & Metric & Design & Weighting & Seeds & Difference & 95\\% CI & $p$ & $p_{{\\mathrm{{Holm}}}}$ \\\\\n\\midrule"
    );
    for t in exp.tests.iter().filter(|t| t.note.is_none()) {
        let c = &exp.combos[t.combo];
        let d = decimals_for([t.difference.abs(), t.ci.0.abs(), t.ci.1.abs()]).max(3);
        let _ = writeln!(
            text,
            "{} & {} & {} & {} & {} & {} & {} & {} & {}{} \\\\",
            escape(&t.task),
            escape(&t.metric),
            escape(&c.design),
            escape(&c.weighting),
            t.seeds.len(),
            math_cell(&signed(t.difference, d), None, false, ""),
            escape(&interval(t.ci, d).unwrap_or_else(|| "–".into())),
            escape(&p_value(t.p_value)).replace('<', "$<$"),
            escape(&p_value(t.p_holm)).replace('<', "$<$"),
            if t.mark.is_empty() { String::new() } else { format!("$^{{{}}}$", t.mark) },
        );
    }
    let caption = format!(
        "{}: paired bootstrap comparison with STL on each task's primary metric (design $-$ STL, averaged over the common seeds, \
         same test samples), Holm-adjusted within each task.",
        escape(&exp.name)
    );
    end(&mut text, &caption, &format!("{}-tests", exp.name));
    TexTable { file: format!("{}__paired_tests.tex", file_part(&exp.name)), text }
}

/// The papers' reported numbers beside medmtl's measurement of their designs.
fn literature_table(exp: &ExperimentReport) -> TexTable {
    let mut text = String::new();
    begin(&mut text, "lllllr");
    let _ = writeln!(text, "Paper & Design & Paper's metric (task) & Paper's value (its data) & medmtl metric & medmtl \\\\\n\\midrule");
    for p in &exp.literature.papers {
        for (k, r) in p.rows.iter().enumerate() {
            let (metric, value) = match (&r.medmtl, &r.value) {
                (Some((t, m)), Some(v)) => {
                    (format!("{t}: {m}"), format!("{} ± {}", num(v.mean, decimals_for([v.mean])), num(v.std, decimals_for([v.mean]))))
                }
                (Some((t, m)), None) => (format!("{t}: {m}"), "not run".into()),
                (None, _) => ("--".into(), "--".into()),
            };
            let (id, design) = if k == 0 { (format!("{} {}", p.id, p.citation), p.design.clone()) } else { (String::new(), String::new()) };
            let _ = writeln!(
                text,
                "{} & {} & {} ({}) & {} & {} & {} \\\\",
                escape(&id),
                escape(&design),
                escape(&r.paper_metric),
                escape(&r.paper_task),
                escape(&r.paper_value),
                escape(&metric),
                escape(&value)
            );
        }
    }
    let caption = format!(
        "{}: each paper's own reported values (its data, not comparable) and medmtl's measurement of the design that \
         re-implements it on this experiment's public data (mean $\\pm$ std over seeds).",
        escape(&exp.name)
    );
    end(&mut text, &caption, &format!("{}-literature", exp.name));
    TexTable { file: format!("{}__literature.tex", file_part(&exp.name)), text }
}

fn cost_table(exp: &ExperimentReport) -> TexTable {
    let mut text = String::new();
    begin(&mut text, "llrrrrr");
    let _ = writeln!(
        text,
        "Design & Weighting & Parameters & Train img/s & Inference img/s & Train time (s) & Peak memory (MiB) \\\\\n\\midrule"
    );
    for r in &exp.cost {
        let c = &exp.combos[r.combo];
        let _ = writeln!(
            text,
            "{} & {} & {} & {} & {} & {} & {} \\\\",
            escape(&c.design),
            escape(&c.weighting),
            r.params,
            num(r.train_images_per_sec.mean, 0),
            num(r.inference_images_per_sec.mean, 0),
            num(r.train_seconds.mean, 1),
            escape(&num(r.peak_memory_mib.mean, 0)),
        );
    }
    let caption = format!("{}: cost, means over seeds.", escape(&exp.name));
    end(&mut text, &caption, &format!("{}-cost", exp.name));
    TexTable { file: format!("{}__cost.tex", file_part(&exp.name)), text }
}

/// One table per task of an experiment's per-subgroup results: a block of rows per metric.
fn subgroup_tables(exp: &ExperimentReport) -> Vec<TexTable> {
    let Some(section) = &exp.subgroups else { return Vec::new() };
    let shift = section.shift.is_some();
    section
        .tasks
        .iter()
        .filter(|t| !t.metrics.is_empty())
        .map(|task| {
            let mut text = String::new();
            let columns = section.groups.len() + 1 + usize::from(shift);
            begin(&mut text, &format!("lll{}", "r".repeat(columns)));
            let mut header = vec!["Metric".to_owned(), "Design".to_owned(), "Weighting".to_owned(), "Pooled".to_owned()];
            header.extend(section.groups.iter().map(|(g, n)| format!("{} ($n={n}$)", escape(g))));
            if shift {
                header.push("Change".into());
            }
            let _ = writeln!(text, "{} \\\\\n\\midrule", header.join(" & "));
            for (k, m) in task.metrics.iter().enumerate() {
                if k > 0 {
                    text.push_str("\\midrule\n");
                }
                let d = m.decimals;
                let cell = |c: &Option<super::model::Cell>| match c {
                    Some(c) => {
                        let std = (c.summary.n > 1).then(|| num(c.summary.std, d));
                        math_cell(&num(c.summary.mean, d), std.as_deref(), c.best, "")
                    }
                    None => "--".into(),
                };
                for (c, combo) in exp.combos.iter().enumerate() {
                    let arrow = if m.higher_is_better { " $\\uparrow$" } else { " $\\downarrow$" };
                    let metric = if c == 0 { format!("{}{arrow}", escape(&m.metric)) } else { String::new() };
                    let mut row = vec![metric, escape(&combo.design), escape(&combo.weighting), cell(&m.pooled[c])];
                    row.extend(m.per_group.iter().map(|g| cell(&g[c])));
                    if let Some(change) = &m.change {
                        row.push(match &change[c] {
                            Some(s) => {
                                let std = (s.n > 1).then(|| num(s.std, d));
                                math_cell(&signed(s.mean, d), std.as_deref(), false, "")
                            }
                            None => "--".into(),
                        });
                    }
                    let _ = writeln!(text, "{} \\\\", row.join(" & "));
                }
            }
            let what = match &section.shift {
                Some((train, held_out)) => format!(
                    "trained on {}, tested in-distribution and on {} (shifted); change = shifted $-$ in-distribution",
                    escape(&train.join(", ")),
                    escape(&held_out.join(", "))
                ),
                None => format!("subgroups of {}", escape(&section.by)),
            };
            let caption = format!(
                "{}: task {} per subgroup ({what}). Test metrics on each subgroup's samples alone, mean $\\pm$ std over seeds; \
                 best per column in bold. Paired tests and $\\Delta_m$ are on the pooled test set.",
                escape(&exp.name),
                escape(&task.task)
            );
            end(&mut text, &caption, &format!("{}-{}-subgroups", exp.name, task.task));
            TexTable { file: format!("{}__{}__subgroups.tex", file_part(&exp.name), file_part(&task.task)), text }
        })
        .collect()
}
