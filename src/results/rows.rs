//! The one path from stored predictions to metric rows: the suite runner writes a run's
//! rows with it, `medmtl metrics` recomputes them with it.

use std::collections::BTreeSet;

use super::schema::{MetricRow, RunMeta};
use crate::data::SplitName;
use crate::metrics::{self, TaskPredictions, BOOTSTRAP_RESAMPLES};
use crate::task::TaskKind;
use crate::{Error, Result};

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
                subgroup: String::new(),
                n: p.len() as u64,
            }
        })
        .collect()
}

/// The rows of one task: every split pooled, and on the test split each subgroup of
/// `test_groups` (one label per test sample, in order) computed on its samples alone, with
/// its own bootstrap interval. Subgroups come in sorted order.
pub fn task_rows(
    meta: &RunMeta,
    task: &str,
    kind: &TaskKind,
    splits: &[(SplitName, &TaskPredictions)],
    test_groups: Option<&[String]>,
) -> Result<Vec<MetricRow>> {
    let mut rows = Vec::new();
    for &(split, p) in splits {
        rows.extend(metric_rows(meta, task, kind, split, p));
        let (SplitName::Test, Some(groups)) = (split, test_groups) else { continue };
        if groups.len() != p.len() {
            return Err(Error::Invalid(format!(
                "run {}: {} subgroup labels for {} test samples of task '{task}'",
                meta.run_id,
                groups.len(),
                p.len()
            )));
        }
        for group in groups.iter().collect::<BTreeSet<_>>() {
            let idx: Vec<usize> = (0..groups.len()).filter(|&i| &groups[i] == group).collect();
            rows.extend(
                metric_rows(meta, task, kind, split, &p.subset(&idx)).into_iter().map(|r| MetricRow { subgroup: group.clone(), ..r }),
            );
        }
    }
    Ok(rows)
}
