//! CSV exports of the summary model at full precision (`tables/*.csv`), for re-analysis:
//! the same numbers the Markdown, HTML and LaTeX tables round.

use super::model::Report;

/// A CSV file: its name (under `tables/`) and rows (header first).
pub struct CsvTable {
    /// File name under `tables/`.
    pub file: String,
    /// Rows, header first.
    pub rows: Vec<Vec<String>>,
}

impl CsvTable {
    /// RFC 4180 text (the `csv` crate's writer: fields with a comma, quote or line break
    /// are quoted), `\n` line ends.
    pub fn text(&self) -> String {
        let mut writer = ::csv::WriterBuilder::new().terminator(::csv::Terminator::Any(b'\n')).flexible(true).from_writer(Vec::new());
        for row in &self.rows {
            // Writing into memory cannot fail.
            let _ = writer.write_record(row);
        }
        String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

/// Full precision; empty for NaN (what CSV readers take as missing).
fn f(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Every CSV table of the report.
pub fn tables(report: &Report) -> Vec<CsvTable> {
    let mut metrics = vec![strings(&[
        "experiment",
        "task",
        "task_kind",
        "metric",
        "higher_is_better",
        "is_count",
        "design",
        "weighting",
        "seeds",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "best",
        "mark",
    ])];
    let mut delta = vec![strings(&[
        "experiment",
        "design",
        "weighting",
        "seeds",
        "delta_m_pct",
        "delta_m_std",
        "ci95_low",
        "ci95_high",
        "delta_m_libmtl_pct",
        "delta_m_nashmtl_pct",
        "per_seed",
    ])];
    let mut tests = vec![strings(&[
        "experiment",
        "task",
        "metric",
        "design",
        "weighting",
        "seeds",
        "test_samples",
        "resamples",
        "difference",
        "ci95_low",
        "ci95_high",
        "p_value",
        "p_holm",
        "mark",
        "note",
    ])];
    let mut ranks = vec![strings(&["experiment", "ranking", "design", "weighting", "rank", "best"])];
    let mut cost = vec![strings(&[
        "experiment",
        "design",
        "weighting",
        "seeds",
        "parameters",
        "train_images_per_sec",
        "train_images_per_sec_std",
        "relative_throughput",
        "inference_images_per_sec",
        "train_seconds",
        "peak_memory_mib",
    ])];
    let mut out = Vec::new();
    for exp in &report.experiments {
        for task in &exp.tasks {
            for col in &task.columns {
                for (c, cell) in col.cells.iter().enumerate() {
                    let Some(cell) = cell else { continue };
                    let combo = &exp.combos[c];
                    metrics.push(vec![
                        exp.name.clone(),
                        task.name.clone(),
                        task.kind.clone(),
                        col.metric.clone(),
                        col.higher_is_better.to_string(),
                        col.count.to_string(),
                        combo.design.clone(),
                        combo.weighting.clone(),
                        cell.summary.n.to_string(),
                        f(cell.summary.mean),
                        f(cell.summary.std),
                        f(cell.ci.0),
                        f(cell.ci.1),
                        cell.best.to_string(),
                        cell.mark.to_owned(),
                    ]);
                }
            }
        }
        for r in &exp.delta_m.rows {
            let combo = &exp.combos[r.combo];
            let per_seed: Vec<String> = r.per_seed.iter().map(|(s, d)| format!("{s}:{}", f(*d))).collect();
            delta.push(vec![
                exp.name.clone(),
                combo.design.clone(),
                combo.weighting.clone(),
                r.summary.n.to_string(),
                f(r.summary.mean),
                f(r.summary.std),
                f(r.ci.0),
                f(r.ci.1),
                f(r.libmtl),
                f(r.nashmtl),
                per_seed.join(" "),
            ]);
        }
        for t in &exp.tests {
            let combo = &exp.combos[t.combo];
            tests.push(vec![
                exp.name.clone(),
                t.task.clone(),
                t.metric.clone(),
                combo.design.clone(),
                combo.weighting.clone(),
                t.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(" "),
                t.samples.to_string(),
                t.resamples.to_string(),
                f(t.difference),
                f(t.ci.0),
                f(t.ci.1),
                f(t.p_value),
                f(t.p_holm),
                t.mark.to_owned(),
                t.note.clone().unwrap_or_default(),
            ]);
        }
        let a = &exp.agreement;
        for (r, label) in a.labels.iter().enumerate() {
            for (c, combo) in exp.combos.iter().enumerate() {
                ranks.push(vec![
                    exp.name.clone(),
                    label.clone(),
                    combo.design.clone(),
                    combo.weighting.clone(),
                    f(a.ranks[r][c]),
                    a.best[r].contains(&c).to_string(),
                ]);
            }
        }
        if !a.labels.is_empty() {
            let mut tau = vec![std::iter::once("ranking".to_owned()).chain(a.labels.iter().cloned()).collect::<Vec<_>>()];
            for (r, label) in a.labels.iter().enumerate() {
                tau.push(std::iter::once(label.clone()).chain(a.tau[r].iter().map(|&v| f(v))).collect());
            }
            out.push(CsvTable { file: format!("{}__kendall_tau.csv", super::format::file_part(&exp.name)), rows: tau });
        }
        for r in &exp.cost {
            let combo = &exp.combos[r.combo];
            cost.push(vec![
                exp.name.clone(),
                combo.design.clone(),
                combo.weighting.clone(),
                r.train_images_per_sec.n.to_string(),
                r.params.to_string(),
                f(r.train_images_per_sec.mean),
                f(r.train_images_per_sec.std),
                f(r.relative_throughput.mean),
                f(r.inference_images_per_sec.mean),
                f(r.train_seconds.mean),
                f(r.peak_memory_mib.mean),
            ]);
        }
    }
    out.push(CsvTable { file: "metrics.csv".into(), rows: metrics });
    out.push(CsvTable { file: "delta_m.csv".into(), rows: delta });
    out.push(CsvTable { file: "paired_tests.csv".into(), rows: tests });
    out.push(CsvTable { file: "ranks.csv".into(), rows: ranks });
    out.push(CsvTable { file: "cost.csv".into(), rows: cost });
    if report.experiments.iter().any(|e| e.subgroups.is_some()) {
        out.push(CsvTable { file: "subgroups.csv".into(), rows: subgroup_rows(report) });
    }
    if report.experiments.iter().any(|e| !e.literature.papers.is_empty()) {
        out.push(CsvTable { file: "literature.csv".into(), rows: literature_rows(report) });
    }
    if report.experiments.iter().any(|e| !e.relatedness.gradient.is_empty() || !e.relatedness.gains.is_empty()) {
        out.push(CsvTable { file: "relatedness.csv".into(), rows: relatedness_rows(report) });
        out.push(CsvTable { file: "relatedness_gain.csv".into(), rows: gain_rows(report) });
    }
    out
}

/// The papers' reported numbers beside medmtl's, one row per reported number.
fn literature_rows(report: &Report) -> Vec<Vec<String>> {
    let mut rows = vec![strings(&[
        "experiment",
        "paper",
        "citation",
        "design",
        "host",
        "paper_task",
        "paper_metric",
        "paper_value",
        "paper_data",
        "medmtl_task",
        "medmtl_metric",
        "medmtl_mean",
        "medmtl_std",
        "seeds",
        "delta_m",
        "delta_m_rank",
    ])];
    for exp in &report.experiments {
        for p in &exp.literature.papers {
            for r in &p.rows {
                let (task, metric) = r.medmtl.clone().unwrap_or_default();
                rows.push(vec![
                    exp.name.clone(),
                    p.id.clone(),
                    p.citation.clone(),
                    p.design.clone(),
                    p.host.clone(),
                    r.paper_task.clone(),
                    r.paper_metric.clone(),
                    r.paper_value.clone(),
                    r.on.clone(),
                    task,
                    metric,
                    r.value.as_ref().map_or(String::new(), |v| f(v.mean)),
                    r.value.as_ref().map_or(String::new(), |v| f(v.std)),
                    r.value.as_ref().map_or(String::new(), |v| v.n.to_string()),
                    p.delta_m.map_or(String::new(), f),
                    p.delta_m_rank.map_or(String::new(), |(rank, _)| f(rank)),
                ]);
            }
        }
    }
    rows
}

/// Every metric per subgroup, one row per (experiment, task, metric, subgroup, combo); a
/// shift's change (shifted minus in-distribution) as the subgroup `change`.
fn subgroup_rows(report: &Report) -> Vec<Vec<String>> {
    let mut rows = vec![strings(&[
        "experiment",
        "task",
        "metric",
        "higher_is_better",
        "subgroup",
        "test_samples",
        "design",
        "weighting",
        "seeds",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "best",
    ])];
    for exp in &report.experiments {
        let Some(section) = &exp.subgroups else { continue };
        for task in &section.tasks {
            for m in &task.metrics {
                for (g, (group, n)) in section.groups.iter().enumerate() {
                    for (c, cell) in m.per_group[g].iter().enumerate() {
                        let Some(cell) = cell else { continue };
                        let combo = &exp.combos[c];
                        rows.push(vec![
                            exp.name.clone(),
                            task.task.clone(),
                            m.metric.clone(),
                            m.higher_is_better.to_string(),
                            group.clone(),
                            n.to_string(),
                            combo.design.clone(),
                            combo.weighting.clone(),
                            cell.summary.n.to_string(),
                            f(cell.summary.mean),
                            f(cell.summary.std),
                            f(cell.ci.0),
                            f(cell.ci.1),
                            cell.best.to_string(),
                        ]);
                    }
                }
                for (c, s) in m.change.iter().flatten().enumerate() {
                    let Some(s) = s else { continue };
                    let combo = &exp.combos[c];
                    rows.push(vec![
                        exp.name.clone(),
                        task.task.clone(),
                        m.metric.clone(),
                        m.higher_is_better.to_string(),
                        "change".into(),
                        String::new(),
                        combo.design.clone(),
                        combo.weighting.clone(),
                        s.n.to_string(),
                        f(s.mean),
                        f(s.std),
                        String::new(),
                        String::new(),
                        String::new(),
                    ]);
                }
            }
        }
    }
    rows
}

/// Gradient relatedness per (experiment, combo, pair), and CKA per (experiment, pair, stage)
/// with the design `stl`.
fn relatedness_rows(report: &Report) -> Vec<Vec<String>> {
    let mut rows = vec![strings(&["experiment", "design", "weighting", "task_a", "task_b", "measure", "stage", "value", "steps"])];
    for exp in &report.experiments {
        let r = &exp.relatedness;
        for g in &r.gradient {
            let c = &exp.combos[g.combo];
            let (a, b) = &r.pairs[g.pair];
            for (measure, value) in [
                ("cosine", g.cos),
                ("conflict", g.conflict),
                ("norm_ratio", g.norm_ratio),
                ("affinity_ab", g.affinity_ab),
                ("affinity_ba", g.affinity_ba),
            ] {
                rows.push(vec![
                    exp.name.clone(),
                    c.design.clone(),
                    c.weighting.clone(),
                    a.clone(),
                    b.clone(),
                    measure.into(),
                    String::new(),
                    f(value),
                    f(g.steps),
                ]);
            }
        }
        for k in &r.cka {
            let (a, b) = &r.pairs[k.pair];
            rows.push(vec![
                exp.name.clone(),
                "stl".into(),
                "none".into(),
                a.clone(),
                b.clone(),
                "cka".into(),
                k.stage.to_string(),
                f(k.cka),
                String::new(),
            ]);
        }
    }
    rows
}

/// Every (experiment, MTL combo, task) gain against STL with its relatedness, and the dial.
fn gain_rows(report: &Report) -> Vec<Vec<String>> {
    let mut rows = vec![strings(&[
        "experiment",
        "dial_rho",
        "design",
        "weighting",
        "task",
        "metric",
        "gain_percent",
        "gain_ci_low",
        "gain_ci_high",
        "cosine",
        "affinity_onto_task",
    ])];
    for exp in &report.experiments {
        let r = &exp.relatedness;
        for g in &r.gains {
            let c = &exp.combos[g.combo];
            rows.push(vec![
                exp.name.clone(),
                r.dial.map(f).unwrap_or_default(),
                c.design.clone(),
                c.weighting.clone(),
                g.task.clone(),
                g.metric.clone(),
                f(g.gain),
                f(g.ci.0),
                f(g.ci.1),
                f(g.cos),
                f(g.affinity),
            ]);
        }
    }
    rows
}
