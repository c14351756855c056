//! The Markdown report: per experiment and task, a design x weighting table of every
//! metric on the test split, mean +/- std over seeds.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use super::SuiteTable;
use crate::metrics::higher_is_better;
use crate::stats::summarize;

/// Renders the suite report.
pub fn render_markdown(table: &SuiteTable, results_dir: &Path) -> String {
    let mut out = String::new();
    let suite = table.runs.first().map(|r| r.suite.clone()).unwrap_or_else(|| {
        results_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    });
    let _ = writeln!(out, "# medmtl report: suite `{suite}`\n");
    let _ = writeln!(
        out,
        "Every cell is the mean ± sample standard deviation over training seeds of a metric on the \
         **test** split, with the number of seeds in parentheses. Model selection used the validation \
         split only. Best mean per column in **bold** (for MAE/RMSE lower is better, otherwise higher).\n"
    );
    let experiments: BTreeSet<&str> = table.rows.iter().map(|r| r.experiment.as_str()).collect();
    for exp in experiments {
        render_experiment(&mut out, table, exp);
    }
    if !table.skipped.is_empty() {
        let _ = writeln!(out, "## Skipped experiments\n");
        for s in &table.skipped {
            let _ = writeln!(out, "- `{}` (dataset `{}`): {}", s.experiment, s.dataset, s.reason.replace('\n', " "));
        }
        let _ = writeln!(out);
    }
    render_method(&mut out, table);
    out
}

fn render_experiment(out: &mut String, table: &SuiteTable, exp: &str) {
    let rows: Vec<_> = table.rows.iter().filter(|r| r.experiment == exp && r.split == "test").collect();
    let datasets: BTreeSet<&str> = rows.iter().map(|r| r.datasets.as_str()).collect();
    let _ = writeln!(out, "## Experiment `{exp}` ({})\n", datasets.into_iter().collect::<Vec<_>>().join(", "));
    let mut tasks: Vec<&str> = Vec::new();
    for r in &rows {
        if !tasks.contains(&r.task.as_str()) {
            tasks.push(&r.task);
        }
    }
    for task in tasks {
        let task_rows: Vec<_> = rows.iter().filter(|r| r.task == task).collect();
        let kind = task_rows.first().map(|r| r.task_kind.as_str()).unwrap_or("");
        let mut metric_names: Vec<&str> = Vec::new();
        for r in &task_rows {
            if !metric_names.contains(&r.metric.as_str()) {
                metric_names.push(&r.metric);
            }
        }
        // (design, weighting) -> metric -> values over seeds
        let mut cells: BTreeMap<(&str, &str), BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
        for r in &task_rows {
            cells
                .entry((r.design.as_str(), r.weighting.as_str()))
                .or_default()
                .entry(r.metric.as_str())
                .or_default()
                .push(r.value);
        }
        let best: BTreeMap<&str, f64> = metric_names
            .iter()
            .map(|&m| {
                let means = cells.values().filter_map(|c| c.get(m)).map(|v| summarize(v).mean).filter(|v| v.is_finite());
                let best = if higher_is_better(m) { means.fold(f64::NEG_INFINITY, f64::max) } else { means.fold(f64::INFINITY, f64::min) };
                (m, best)
            })
            .collect();
        let _ = writeln!(out, "### Task `{task}` ({kind})\n");
        let _ = writeln!(out, "| design | weighting | {} |", metric_names.join(" | "));
        let _ = writeln!(out, "|---|---|{}", "---|".repeat(metric_names.len()));
        for ((design, weighting), by_metric) in &cells {
            let mut line = format!("| {design} | {weighting} |");
            for m in &metric_names {
                let cell = match by_metric.get(m) {
                    Some(values) => {
                        let s = summarize(values);
                        let text = format!("{:.3} ± {:.3} ({})", s.mean, s.std, s.n);
                        if s.n > 0 && (s.mean - best[m]).abs() < 1e-12 { format!("**{text}**") } else { text }
                    }
                    None => "–".into(),
                };
                let _ = write!(line, " {cell} |");
            }
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out);
    }
    render_efficiency(out, table, exp);
}

fn render_efficiency(out: &mut String, table: &SuiteTable, exp: &str) {
    let mut by_design: BTreeMap<(&str, &str), Vec<&crate::results::RunMeta>> = BTreeMap::new();
    for run in table.runs.iter().filter(|r| r.experiment == exp) {
        by_design.entry((run.design.as_str(), run.weighting.as_str())).or_default().push(run);
    }
    if by_design.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Cost\n");
    let _ = writeln!(out, "| design | weighting | parameters | train images/s | inference images/s | train time (s) | peak memory (MiB) |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for ((design, weighting), runs) in by_design {
        let params = runs[0].param_count;
        let train: Vec<f64> = runs.iter().map(|r| r.train_images_per_sec).collect();
        let infer: Vec<f64> = runs.iter().map(|r| r.inference_images_per_sec).collect();
        let secs: Vec<f64> = runs.iter().map(|r| r.train_seconds).collect();
        let mem: Vec<f64> = runs.iter().filter_map(|r| r.peak_rss_bytes).map(|b| b as f64 / (1 << 20) as f64).collect();
        let (t, i, s, m) = (summarize(&train), summarize(&infer), summarize(&secs), summarize(&mem));
        let mem_text = if m.n > 0 { format!("{:.0}", m.mean) } else { "–".into() };
        let _ = writeln!(
            out,
            "| {design} | {weighting} | {params} | {:.0} ± {:.0} | {:.0} ± {:.0} | {:.1} | {mem_text} |",
            t.mean, t.std, i.mean, i.std, s.mean
        );
    }
    let _ = writeln!(out);
}

fn render_method(out: &mut String, table: &SuiteTable) {
    let _ = writeln!(out, "## Method\n");
    let revisions: BTreeSet<&str> = table.runs.iter().map(|r| r.git_revision.as_str()).collect();
    let versions: BTreeSet<&str> = table.runs.iter().map(|r| r.medmtl_version.as_str()).collect();
    let seeds: BTreeSet<u64> = table.runs.iter().map(|r| r.seed).collect();
    let devices: BTreeSet<String> = table.runs.iter().map(|r| format!("{} ({} threads)", r.device, r.threads)).collect();
    let unverified: Vec<&str> = table.runs.iter().filter(|r| !r.data_verified).map(|r| r.run_id.as_str()).collect();
    let _ = writeln!(out, "- medmtl {} at revision {}", join(&versions), join(&revisions));
    let _ = writeln!(out, "- seeds: {}", seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "));
    let _ = writeln!(out, "- hardware: {}", devices.into_iter().collect::<Vec<_>>().join(", "));
    let mut files: BTreeSet<String> = BTreeSet::new();
    for r in &table.runs {
        for (path, md5) in &r.data_files {
            files.insert(format!("`{path}` (md5 {md5})"));
        }
    }
    if !files.is_empty() {
        let _ = writeln!(out, "- data files: {}", files.into_iter().collect::<Vec<_>>().join(", "));
    }
    if unverified.is_empty() {
        let _ = writeln!(out, "- every data file matched its catalog md5");
    } else {
        let _ = writeln!(out, "- **unverified data** (md5 differs from the catalog) in runs: {}", unverified.join(", "));
    }
    let _ = writeln!(
        out,
        "- metrics: ACC (binary: positive when p > 0.5; multi-class: argmax), AUC (binary: on the \
         positive-class probability; multi-class and ordinal: unweighted mean of one-vs-rest AUCs over the \
         classes present in the targets), macro F1 (over classes present in targets or predictions, F1 = 0 \
         when undefined), MAE, RMSE, R² (NaN for constant targets)"
    );
    let _ = writeln!(
        out,
        "- model selection: the epoch with the best mean validation primary metric (AUC for \
         classification, R² for regression); STL selects each task's network on its own task"
    );
    let _ = writeln!(out, "- config hashes: one per run in `runs/*/run.json` (`config_hash`)");
}

fn join(set: &BTreeSet<&str>) -> String {
    set.iter().copied().collect::<Vec<_>>().join(", ")
}
