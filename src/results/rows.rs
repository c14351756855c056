//! The one path from stored predictions to metric rows: the suite runner writes a run's
//! rows with it, `medmtl metrics` recomputes them with it.

use super::schema::{MetricRow, RunMeta};
use crate::data::SplitName;
use crate::metrics::{self, TaskPredictions, BOOTSTRAP_RESAMPLES};
use crate::task::TaskKind;

/// Every metric of one task on one split, as result rows of `meta`'s run: on the test split
/// each with its per-sample bootstrap 95% interval, seeded by the run's seed.
pub fn metric_rows(meta: &RunMeta, task: &str, kind: &TaskKind, split: SplitName, p: &TaskPredictions) -> Vec<MetricRow> {
    let values = match split {
        SplitName::Test => metrics::evaluate_with_ci(kind, p, BOOTSTRAP_RESAMPLES, meta.seed),
        _ => metrics::evaluate(kind, p),
    };
    values
        .into_iter()
        .map(|m| {
            let (ci_low, ci_high) = m.ci.unwrap_or((f64::NAN, f64::NAN));
            MetricRow {
                run_id: meta.run_id.clone(),
                suite: meta.suite.clone(),
                experiment: meta.experiment.clone(),
                datasets: meta.datasets.clone(),
                design: meta.design.clone(),
                weighting: meta.weighting.clone(),
                backbone: meta.backbone.clone(),
                seed: meta.seed,
                task: task.to_owned(),
                task_kind: kind.name().to_owned(),
                split: split.to_string(),
                metric: m.name,
                value: m.value,
                ci_low,
                ci_high,
            }
        })
        .collect()
}
