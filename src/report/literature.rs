//! The report's Literature section: for each paper of the literature map whose design an
//! experiment re-implements, the metrics the paper reported with its own values (its data,
//! not comparable), the same metrics as medmtl measures the design on public data, the
//! design's standing under the uniform metric set, and how the ranking of the experiment's
//! designs changes when each paper's headline metric is used instead (the review's
//! "metric variability"). Suite-wide: which paper reports which metric, and which
//! task-kind combinations the papers and medmtl's suites cover.

use super::model::{Combo, ExperimentLiterature, ExperimentReport, PaperStanding, ReportedRow, SuiteLiterature, TaskTable};
use crate::config::Suite;
use crate::literature::coverage::{metric_coverage, scope};
use crate::literature::{Literature, Paper, PaperTaskKind, Reported, Reproduction};
use crate::stats::{ranks, Summary};

/// medmtl's name for a paper's metric, where the two measure the same thing.
pub fn medmtl_metric(paper_metric: &str) -> Option<&'static str> {
    Some(match paper_metric {
        "dice" | "dsc" | "object_dice" => "dice",
        "jaccard" | "iou" | "miou" => "iou",
        "hd95" | "object_hausdorff" => "hd95",
        "asd" | "msd_mm" | "assd" => "assd",
        "auc" => "auc",
        "acc" | "joint_acc" => "acc",
        "f1" => "f1_macro",
        "sensitivity" => "sensitivity",
        "specificity" => "specificity",
        "kappa" => "kappa",
        "mae_mm" | "hc_error_mm" => "circumference_mae_mm",
        "rmse" => "rmse",
        _ => return None,
    })
}

/// The medmtl task of `exp` a paper task of `kind` maps to: the first of the same kind.
fn medmtl_task(exp: &ExperimentReport, kind: PaperTaskKind) -> Option<&TaskTable> {
    exp.tasks.iter().find(|t| {
        let k = match t.kind.as_str() {
            "segmentation" => PaperTaskKind::Segmentation,
            "reconstruction" | "denoising" | "vae" => PaperTaskKind::Reconstruction,
            "regression" | "ordinal-regression" | "ellipse" => PaperTaskKind::Regression,
            _ => PaperTaskKind::Classification,
        };
        k == kind
    })
}

fn paper_value(r: &Reported) -> String {
    let unit = if r.unit.is_empty() {
        String::new()
    } else if r.unit == "%" {
        " %".into()
    } else {
        format!(" {}", r.unit)
    };
    match r.comparator.as_str() {
        ">" => format!("> {}{unit}", r.value),
        "gain" => format!("+{}{unit} (gain)", r.value),
        _ => format!("{}{unit}", r.value),
    }
}

/// A metric's cell of `combo` in `table`.
fn cell(table: &TaskTable, metric: &str, combo: usize) -> Option<Summary> {
    table.columns.iter().find(|c| c.metric == metric)?.cells.get(combo)?.as_ref().map(|c| c.summary)
}

/// The Literature facts of experiment `exp` of suite `suite`.
pub fn experiment_literature(lit: &Literature, suite: &str, exp: &ExperimentReport) -> ExperimentLiterature {
    let combo_of = |design: &str| exp.combos.iter().position(|c: &Combo| c.design == design);
    let delta_m = |combo: usize| -> Option<f64> {
        if Some(combo) == exp.stl {
            return Some(0.0);
        }
        exp.delta_m.rows.iter().find(|r| r.combo == combo).map(|r| r.summary.mean)
    };
    let dm: Vec<f64> = (0..exp.combos.len()).map(|c| delta_m(c).unwrap_or(f64::NAN)).collect();
    let dm_ranks = ranks(&dm, true);
    let ranked = dm.iter().filter(|v| v.is_finite()).count();
    let mut papers = Vec::new();
    let mut labels = Vec::new();
    let mut rank_rows: Vec<Vec<f64>> = Vec::new();
    for paper in lit.reproduced_in(suite, &exp.name) {
        let Reproduction::By { design, host, .. } = &paper.reproduced_by else { continue };
        let combo = combo_of(design);
        let rows: Vec<ReportedRow> = paper
            .reported
            .iter()
            .map(|r| {
                let kind = paper.tasks.iter().find(|t| t.name == r.task).map(|t| t.kind);
                let task = kind.and_then(|k| medmtl_task(exp, k));
                let metric = medmtl_metric(&r.metric).filter(|_| r.comparator != "gain");
                let mapped = task.zip(metric).filter(|(t, m)| t.columns.iter().any(|c| &c.metric == m));
                ReportedRow {
                    paper_task: r.task.clone(),
                    paper_metric: r.metric.clone(),
                    paper_value: paper_value(r),
                    on: r.on.clone(),
                    medmtl: mapped.map(|(t, m)| (t.name.clone(), m.to_owned())),
                    value: mapped.zip(combo).and_then(|((t, m), c)| cell(t, m, c)),
                }
            })
            .collect();
        // The paper's headline metric: its first number medmtl can measure; else the first
        // metric it reports that medmtl measures on a task of its kind.
        let headline = rows.iter().find_map(|r| r.medmtl.clone()).or_else(|| headline_from_metrics(paper, exp));
        if let Some((task, metric)) = headline {
            if let Some(table) = exp.tasks.iter().find(|t| t.name == task) {
                if let Some(col) = table.columns.iter().find(|c| c.metric == metric) {
                    let label = format!("{} ({}): {task} {metric}", paper.id, design);
                    if !labels.contains(&label) {
                        labels.push(label);
                        rank_rows.push(ranks(
                            &col.cells.iter().map(|c| c.as_ref().map_or(f64::NAN, |c| c.summary.mean)).collect::<Vec<_>>(),
                            col.higher_is_better,
                        ));
                    }
                }
            }
        }
        papers.push(PaperStanding {
            id: paper.id.clone(),
            citation: short_citation(paper),
            url: paper.url.clone(),
            design: design.clone(),
            host: host.clone(),
            combo,
            rows,
            delta_m_rank: combo.filter(|&c| dm_ranks[c].is_finite()).map(|c| (dm_ranks[c], ranked)),
            delta_m: combo.and_then(delta_m),
        });
    }
    if ranked > 1 && !rank_rows.is_empty() {
        labels.push("Δm (uniform metric set)".into());
        rank_rows.push(dm_ranks);
    }
    ExperimentLiterature { papers, variability: super::stats::agreement_of(labels, rank_rows) }
}

fn headline_from_metrics(paper: &Paper, exp: &ExperimentReport) -> Option<(String, String)> {
    paper.metrics_reported.iter().find_map(|m| {
        let metric = medmtl_metric(m)?;
        let table = exp.tasks.iter().find(|t| t.columns.iter().any(|c| c.metric == metric))?;
        Some((table.name.clone(), metric.to_owned()))
    })
}

/// `First author et al. year`.
fn short_citation(paper: &Paper) -> String {
    let first = paper.citation.split([',', '.']).next().unwrap_or(&paper.citation).trim();
    let first = first.split_whitespace().next().unwrap_or(first);
    format!("{first} et al. {}", paper.year)
}

/// The suite-wide views of the map over medmtl's built-in suites.
pub fn suite_literature(lit: &Literature) -> SuiteLiterature {
    let suites: Vec<Suite> = Suite::embedded_names().into_iter().filter_map(|n| Suite::find(n).ok().map(|(s, _, _)| s)).collect();
    let reproduced = lit.papers.iter().filter(|p| matches!(p.reproduced_by, Reproduction::By { .. })).count();
    SuiteLiterature { coverage: metric_coverage(lit), scope: scope(lit, &suites), counts: (lit.papers.len(), reproduced) }
}
