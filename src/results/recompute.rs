//! Recomputing every metric of a results folder from its stored predictions: the check
//! that results are a pure function of predictions, and the way to add a metric to old
//! runs without retraining.

use std::path::Path;

use super::files::{read_run_meta, RunFiles};
use super::schema::{MetricRow, RunMeta, RunStatus};
use super::table::read_metrics;
use crate::data::SplitName;
use crate::{Error, Result};

/// The metric rows a run's stored predictions give (same bootstrap seed as the run).
pub fn recompute_run(files: &RunFiles, meta: &RunMeta) -> Result<Vec<MetricRow>> {
    let mut rows = Vec::new();
    if meta.status != RunStatus::Complete {
        return Ok(rows);
    }
    let groups = super::files::read_subgroups(files)?;
    for task in &meta.tasks {
        let kind = task
            .task_kind()
            .ok_or_else(|| Error::format(files.meta(), format!("task '{}' has an unknown kind '{}'", task.name, task.kind)))?;
        let path = files.predictions(&task.name, kind.is_dense());
        let predictions = if kind.is_dense() { super::read_dense(&path, &kind)? } else { super::read_predictions(&path, &kind)? };
        let splits: Vec<(SplitName, &crate::metrics::TaskPredictions)> =
            [SplitName::Val, SplitName::Test].into_iter().filter_map(|s| predictions.get(&s).map(|p| (s, p))).collect();
        rows.extend(super::task_rows(meta, &task.name, &kind, &splits, groups.as_deref())?);
    }
    Ok(rows)
}

/// One difference between stored and recomputed metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The run the row belongs to.
    pub run_id: String,
    /// The task's name.
    pub task: String,
    /// `val` or `test`.
    pub split: String,
    /// The subgroup; empty for the whole split.
    pub subgroup: String,
    /// The metric's name.
    pub metric: String,
    /// The stored value; `None` when the run has no such row.
    pub stored: Option<f64>,
    /// The recomputed value; `None` when the predictions give no such row. The two may be
    /// equal when only the interval differs.
    pub recomputed: Option<f64>,
}

/// Compares a run's stored metric rows with the recomputed ones (values and intervals,
/// NaN equal to NaN, `tolerance` absolute).
pub fn compare_run(run_dir: &Path, tolerance: f64) -> Result<(usize, Vec<Mismatch>)> {
    let files = RunFiles::new(run_dir.to_path_buf());
    let meta = read_run_meta(&files.meta())?;
    let recomputed = recompute_run(&files, &meta)?;
    let stored = if meta.status == RunStatus::Complete { read_metrics(&files.metrics_parquet())? } else { Vec::new() };
    let key = |r: &MetricRow| (r.task.clone(), r.split.clone(), r.subgroup.clone(), r.metric.clone());
    let same = |a: f64, b: f64| (a.is_nan() && b.is_nan()) || (a - b).abs() <= tolerance || a == b;
    let mut mismatches = Vec::new();
    for r in &recomputed {
        match stored.iter().find(|s| key(s) == key(r)) {
            Some(s) if same(s.value, r.value) && same(s.ci_low, r.ci_low) && same(s.ci_high, r.ci_high) => {}
            other => mismatches.push(Mismatch {
                run_id: meta.run_id.clone(),
                task: r.task.clone(),
                split: r.split.clone(),
                subgroup: r.subgroup.clone(),
                metric: r.metric.clone(),
                stored: other.map(|s| s.value),
                recomputed: Some(r.value),
            }),
        }
    }
    for s in stored.iter().filter(|s| !recomputed.iter().any(|r| key(r) == key(s))) {
        mismatches.push(Mismatch {
            run_id: meta.run_id.clone(),
            task: s.task.clone(),
            split: s.split.clone(),
            subgroup: s.subgroup.clone(),
            metric: s.metric.clone(),
            stored: Some(s.value),
            recomputed: None,
        });
    }
    Ok((recomputed.len(), mismatches))
}
