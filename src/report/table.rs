//! Aggregation of metric rows and run records into the per-experiment tables of the
//! summary model: each task's design x weighting table (mean, std and CI over seeds, best
//! values), the cost table and the training curves.

use std::collections::BTreeMap;

use super::model::{Cell, Combo, CostRow, CurveSeries, MetricColumn, TaskCurves, TaskTable};
use crate::metrics::{higher_is_better, is_count};
use crate::results::{HistoryRow, MetricRow, RunMeta};
use crate::stats::{summarize, Summary};

/// A task of an experiment: its name and kind name, in the runs' task order.
#[derive(Debug, Clone)]
pub struct TaskInfo {
    pub name: String,
    pub kind: String,
    /// Classes etc. as recorded (`TaskMeta::classes`).
    pub classes: Option<usize>,
    /// An auxiliary task, reported but not counted in delta_m or best-design decisions.
    pub auxiliary: bool,
    /// The fraction of training patients labelled, when not all are.
    pub labelled_fraction: Option<f64>,
    /// Labelled samples of the train, val and test splits, when some are unlabelled.
    pub labelled: Option<[usize; 3]>,
}

impl TaskInfo {
    /// The report's view of a run's task record.
    pub fn of(t: &crate::results::TaskMeta) -> Self {
        TaskInfo {
            name: t.name.clone(),
            kind: t.kind.clone(),
            classes: t.classes,
            auxiliary: t.auxiliary,
            labelled_fraction: t.labelled_fraction,
            labelled: t.labelled,
        }
    }
}

/// The design x weighting table of every task, from the experiment's test rows.
pub fn task_tables(rows: &[&MetricRow], combos: &[Combo], tasks: &[TaskInfo]) -> Vec<TaskTable> {
    tasks
        .iter()
        .map(|task| {
            let task_rows: Vec<&&MetricRow> = rows.iter().filter(|r| r.task == task.name).collect();
            let mut metrics: Vec<&str> = Vec::new();
            for r in &task_rows {
                if !metrics.contains(&r.metric.as_str()) {
                    metrics.push(&r.metric);
                }
            }
            let columns = metrics
                .iter()
                .map(|&metric| {
                    let cells: Vec<Option<Cell>> = combos
                        .iter()
                        .map(|combo| {
                            let of_combo: Vec<&&&MetricRow> = task_rows
                                .iter()
                                .filter(|r| r.metric == metric && r.design == combo.design && r.weighting == combo.weighting)
                                .collect();
                            if of_combo.is_empty() {
                                return None;
                            }
                            let values: Vec<f64> = of_combo.iter().map(|r| r.value).collect();
                            let lows: Vec<f64> = of_combo.iter().map(|r| r.ci_low).collect();
                            let highs: Vec<f64> = of_combo.iter().map(|r| r.ci_high).collect();
                            Some(Cell {
                                summary: summarize(&values),
                                ci: (summarize(&lows).mean, summarize(&highs).mean),
                                best: false,
                                mark: "",
                            })
                        })
                        .collect();
                    let mut column = MetricColumn {
                        metric: metric.to_owned(),
                        higher_is_better: higher_is_better(metric),
                        count: is_count(metric),
                        decimals: 0,
                        cells,
                    };
                    column.decimals = decimals(&column);
                    mark_best(&mut column);
                    column
                })
                .collect();
            let primary = task.kind_value().map(|k| crate::metrics::primary_metric(&k).to_owned()).unwrap_or_default();
            TaskTable {
                name: task.name.clone(),
                kind: task.kind.clone(),
                primary,
                columns,
                auxiliary: task.auxiliary,
                labelled_fraction: task.labelled_fraction,
                labelled: task.labelled,
            }
        })
        .collect()
}

impl TaskInfo {
    /// The task kind, for the metric lists of its kind; classes default to 2 where an old
    /// record lacks them (the lists do not depend on the number of classes).
    pub fn kind_value(&self) -> Option<crate::task::TaskKind> {
        let meta = crate::results::TaskMeta {
            name: self.name.clone(),
            kind: self.kind.clone(),
            outputs: 0,
            classes: Some(self.classes.unwrap_or(2)),
            // The metric lists do not depend on the image size either.
            image_size: Some([1, 1]),
            auxiliary: self.auxiliary,
            labelled_fraction: None,
            labelled: None,
        };
        meta.task_kind()
    }
}

/// Decimals of a column: enough for two significant digits of its smallest non-zero mean,
/// and 2 to 4 (counts: 0, or 1 when a mean over seeds is fractional).
fn decimals(column: &MetricColumn) -> usize {
    let means = column.cells.iter().flatten().map(|c| c.summary.mean).filter(|v| v.is_finite());
    if column.count {
        return if means.clone().all(|v| v.fract() == 0.0) { 0 } else { 1 };
    }
    super::format::decimals_for(means).max(2)
}

/// Marks the best mean(s) of a quality column: every mean that prints the same as the best
/// at the column's decimals, so the bold never singles out one of two equal-looking values.
fn mark_best(column: &mut MetricColumn) {
    if column.count {
        return;
    }
    let means: Vec<f64> = column.cells.iter().flatten().map(|c| c.summary.mean).filter(|v| v.is_finite()).collect();
    if means.is_empty() {
        return;
    }
    let best = if column.higher_is_better {
        means.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    } else {
        means.iter().copied().fold(f64::INFINITY, f64::min)
    };
    let shown = super::format::num(best, column.decimals);
    for cell in column.cells.iter_mut().flatten() {
        cell.best = cell.summary.mean.is_finite() && super::format::num(cell.summary.mean, column.decimals) == shown;
    }
}

/// Cost of each combo over its complete runs.
pub fn cost_rows(runs: &[&RunMeta], combos: &[Combo]) -> Vec<CostRow> {
    combos
        .iter()
        .enumerate()
        .filter_map(|(i, combo)| {
            let of: Vec<&&RunMeta> = runs.iter().filter(|r| r.design == combo.design && r.weighting == combo.weighting).collect();
            let first = of.first()?;
            let collect =
                |f: &dyn Fn(&RunMeta) -> Option<f64>| -> Summary { summarize(&of.iter().filter_map(|r| f(r)).collect::<Vec<f64>>()) };
            Some(CostRow {
                combo: i,
                params: first.param_count,
                train_images_per_sec: collect(&|r| Some(r.train_images_per_sec)),
                inference_images_per_sec: collect(&|r| Some(r.inference_images_per_sec)),
                train_seconds: collect(&|r| Some(r.train_seconds)),
                peak_memory_mib: collect(&|r| r.peak_rss_bytes.map(|b| b as f64 / (1u64 << 20) as f64)),
                relative_throughput: collect(&|r| r.reference_images_per_sec.map(|x| r.train_images_per_sec / x)),
            })
        })
        .collect()
}

/// Training curves per task: per combo, the mean over seeds of each epoch's training loss
/// and validation primary metric.
pub fn curves(histories: &[(&RunMeta, Vec<HistoryRow>)], combos: &[Combo], tasks: &[TaskInfo], primaries: &[String]) -> Vec<TaskCurves> {
    tasks
        .iter()
        .zip(primaries)
        .map(|(task, primary)| {
            let series = combos
                .iter()
                .enumerate()
                .filter_map(|(c, combo)| {
                    let of: Vec<&(&RunMeta, Vec<HistoryRow>)> =
                        histories.iter().filter(|(m, _)| m.design == combo.design && m.weighting == combo.weighting).collect();
                    let mut by_epoch: BTreeMap<usize, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
                    for (_, rows) in &of {
                        for row in rows.iter().filter(|r| r.task == task.name) {
                            let entry = by_epoch.entry(row.epoch).or_default();
                            entry.0.push(row.train_loss);
                            entry.1.push(row.val_primary);
                        }
                    }
                    if by_epoch.is_empty() {
                        return None;
                    }
                    let task_index = of[0].0.tasks.iter().position(|t| t.name == task.name);
                    let selected: Vec<f64> =
                        of.iter().filter_map(|(m, _)| task_index.and_then(|t| m.selected_epoch.get(t)).map(|&e| e as f64)).collect();
                    Some(CurveSeries {
                        combo: c,
                        epochs: by_epoch.keys().copied().collect(),
                        train_loss: by_epoch.values().map(|(l, _)| summarize(l).mean).collect(),
                        val_primary: by_epoch.values().map(|(_, v)| summarize(v).mean).collect(),
                        seeds: of.len(),
                        selected_epoch: summarize(&selected).mean,
                    })
                })
                .collect();
            TaskCurves { task: task.name.clone(), val_metric: primary.clone(), series }
        })
        .collect()
}
