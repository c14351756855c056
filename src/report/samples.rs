//! Per-sample access to stored test predictions: the primary metric of any subset of the
//! test samples (for paired bootstrap tests) and the per-image Dice and, from a full results
//! folder, masks of segmentation tasks (for the gallery).
//!
//! Vector tasks re-evaluate the metric with [`crate::metrics::evaluate`] on each subset, so
//! the definitions are exactly those of the tables. Dense tasks decompose their primary
//! metric into per-image terms computed once (the mean of the defined per-image Dice; the
//! pooled R² from per-image sums), as `metrics` aggregates them, so a resample costs a sum.

use std::path::{Path, PathBuf};

use super::model::Combo;
use crate::data::SplitName;
use crate::metrics::{self, TaskPredictions};
use crate::results::{read_dense, read_predictions, read_test_images, PackedStats, RunFiles, RunMeta, RunStatus};
use crate::task::{Targets, TaskKind};
use crate::{Error, Result};

/// The test predictions of one task of one run, ready for subset statistics.
pub enum SampleStat {
    /// Classification and regression: the metric recomputed on each subset.
    Vector { kind: TaskKind, metric: String, predictions: TaskPredictions },
    /// Segmentation: per-image Dice (NaN where both masks are empty), mean of the defined;
    /// the masks themselves only from a full results folder (a packed one keeps their digests).
    Dice { per_image: Vec<f64>, truth_digests: Vec<String>, masks: Option<Masks> },
    /// Reconstruction: per-image (SSE, Σy, Σy², pixels) of the pooled R².
    PooledR2 { per_image: Vec<[f64; 4]> },
    /// A primary metric that is the plain mean of a per-sample value (the ellipse IoU, whose
    /// rasterisation would otherwise be repeated on every resample); `targets` identify the samples.
    Mean { per_sample: Vec<f64>, targets: Targets },
}

/// The test masks of a segmentation run, for the gallery.
pub struct Masks {
    pub truth: Vec<u8>,
    pub predicted: Vec<u8>,
    pub height: usize,
    pub width: usize,
}

impl SampleStat {
    /// Loads the test predictions of `task` from a run folder, or a packed copy's per-image
    /// statistics of a dense task.
    pub fn load(run_dir: &Path, task: &str, kind: &TaskKind) -> Result<Self> {
        let files = RunFiles::new(run_dir.to_path_buf());
        let packed = files.packed_stats(task);
        if kind.is_dense() && packed.is_file() {
            return Ok(Self::per_image(PackedStats::read(&packed, kind)?, None));
        }
        let path = files.predictions(task, kind.is_dense());
        let mut by_split = if kind.is_dense() { read_dense(&path, kind)? } else { read_predictions(&path, kind)? };
        let p = by_split.remove(&SplitName::Test).ok_or_else(|| Error::format(&path, "has no test-split predictions".to_owned()))?;
        Ok(Self::of(kind, p))
    }

    /// The statistic of one task's test predictions.
    pub fn of(kind: &TaskKind, p: TaskPredictions) -> Self {
        if let (&TaskKind::Ellipse { height, width }, Targets::Params { values, .. }) = (kind, &p.targets) {
            if metrics::primary_metric(kind) == "ellipse_iou" {
                let rows = metrics::ellipse::per_sample(values, &p.scores, height, width, None);
                return SampleStat::Mean { per_sample: rows.iter().map(|r| r.iou).collect(), targets: p.targets };
            }
        }
        // Dense tasks: the same per-image statistics a packed copy keeps, plus the masks.
        match (kind, p.targets) {
            (&TaskKind::Segmentation { classes }, Targets::Masks { height, width, values }) => {
                let predicted = metrics::mask_labels(&p.scores);
                let stats = PackedStats::dice(&values, &predicted, height, width, classes);
                Self::per_image(stats, Some(Masks { truth: values, predicted, height, width }))
            }
            (TaskKind::Reconstruction { .. }, Targets::Images { values, .. }) => {
                Self::per_image(PackedStats::r2_terms(&values, &p.scores, p.width), None)
            }
            (_, targets) => SampleStat::Vector {
                kind: kind.clone(),
                metric: metrics::primary_metric(kind).to_owned(),
                predictions: TaskPredictions { targets, ..p },
            },
        }
    }

    fn per_image(stats: PackedStats, masks: Option<Masks>) -> Self {
        match stats {
            PackedStats::Dice { per_image, truth_digests } => SampleStat::Dice { per_image, truth_digests, masks },
            PackedStats::R2Terms(per_image) => SampleStat::PooledR2 { per_image },
        }
    }

    /// Number of test samples.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        match self {
            SampleStat::Vector { predictions, .. } => predictions.len(),
            SampleStat::Dice { per_image, .. } => per_image.len(),
            SampleStat::PooledR2 { per_image } => per_image.len(),
            SampleStat::Mean { per_sample, .. } => per_sample.len(),
        }
    }

    /// Whether two runs were tested on the same samples (same targets in the same order).
    pub fn same_samples(&self, other: &SampleStat) -> bool {
        match (self, other) {
            (SampleStat::Vector { predictions: a, .. }, SampleStat::Vector { predictions: b, .. }) => a.targets == b.targets,
            (SampleStat::Dice { truth_digests: a, .. }, SampleStat::Dice { truth_digests: b, .. }) => a == b,
            (SampleStat::Mean { targets: a, .. }, SampleStat::Mean { targets: b, .. }) => a == b,
            (SampleStat::PooledR2 { per_image: a }, SampleStat::PooledR2 { per_image: b }) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x[1] == y[1] && x[2] == y[2])
            }
            _ => false,
        }
    }

    /// The primary metric on the samples `idx` (repeats allowed).
    pub fn on(&self, idx: &[usize]) -> f64 {
        match self {
            SampleStat::Vector { kind, metric, predictions } => primary_value(kind, metric, &predictions.subset(idx)),
            SampleStat::Dice { per_image, .. } => {
                let (sum, n) = idx.iter().map(|&i| per_image[i]).filter(|v| v.is_finite()).fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                if n == 0 {
                    f64::NAN
                } else {
                    sum / n as f64
                }
            }
            SampleStat::Mean { per_sample, .. } => {
                // Summed in index order from 0.0, as the metric itself sums, for identical values.
                let sum = idx.iter().fold(0.0, |s, &i| s + per_sample[i]);
                if idx.is_empty() {
                    f64::NAN
                } else {
                    sum / idx.len() as f64
                }
            }
            SampleStat::PooledR2 { per_image } => {
                let mut t = [0.0; 4];
                for &i in idx {
                    for (acc, v) in t.iter_mut().zip(per_image[i]) {
                        *acc += v;
                    }
                }
                let sst = t[2] - t[1] * t[1] / t[3].max(1.0);
                if sst > 0.0 {
                    1.0 - t[0] / sst
                } else {
                    f64::NAN
                }
            }
        }
    }
}

/// The primary metric of a vector task, computed alone (the paired bootstrap evaluates it
/// on 10,000 resamples per run): the same functions [`metrics::evaluate`] calls, which the
/// tests check; any other metric goes through `evaluate` itself.
pub fn primary_value(kind: &TaskKind, metric: &str, p: &TaskPredictions) -> f64 {
    use metrics::classification as cls;
    match (kind, &p.targets, metric) {
        (TaskKind::Binary, Targets::Classes(t), "auc") => cls::binary_auc(t, &p.scores).unwrap_or(f64::NAN),
        (TaskKind::MultiClass { classes } | TaskKind::Ordinal { classes }, Targets::Classes(t), "auc") => {
            cls::ovr_macro_auc(t, &p.scores, *classes).0.unwrap_or(f64::NAN)
        }
        (TaskKind::MultiLabel { labels }, Targets::MultiLabels { values, .. }, "auc") => {
            let t: Vec<u32> = values.iter().map(|&v| v as u32).collect();
            cls::multilabel_mean_auc(&t, &p.scores, *labels).0.unwrap_or(f64::NAN)
        }
        (TaskKind::Regression | TaskKind::OrdinalRegression { .. }, Targets::Values(t), "r2") => metrics::regression::r2(t, &p.scores),
        _ => metrics::evaluate(kind, p).into_iter().find(|m| m.name == metric).map_or(f64::NAN, |m| m.value),
    }
}

/// Test images of a segmentation run (`C x H x W` each, 0..255) and their shape.
pub fn test_images(run_dir: &Path, task: &str) -> Result<Option<(Vec<u8>, [usize; 4])>> {
    read_test_images(&RunFiles::new(run_dir.to_path_buf()).predictions(task, true))
}

/// The test-sample statistic of `task` in the complete run of `combo` with `seed` among
/// `runs` (one experiment's), or why there is none.
pub fn of_run<'a>(
    mut runs: impl Iterator<Item = (&'a RunMeta, &'a PathBuf)>,
    combo: &Combo,
    seed: u64,
    task: &str,
) -> std::result::Result<SampleStat, String> {
    let (meta, dir) = runs
        .find(|(r, _)| r.design == combo.design && r.weighting == combo.weighting && r.seed == seed && r.status == RunStatus::Complete)
        .ok_or_else(|| format!("no run of {} with seed {seed}", combo.label()))?;
    let kind = meta
        .tasks
        .iter()
        .find(|t| t.name == task)
        .and_then(|t| t.task_kind())
        .ok_or_else(|| format!("run {} records no usable kind for task {task}", meta.run_id))?;
    SampleStat::load(dir, task, &kind).map_err(|e| format!("predictions unavailable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: TaskKind, targets: Targets, scores: Vec<f32>, width: usize) {
        let p = TaskPredictions { targets, scores, width, spacing: None };
        let metric = metrics::primary_metric(&kind);
        let want = metrics::evaluate(&kind, &p).into_iter().find(|m| m.name == metric).unwrap().value;
        let got = primary_value(&kind, metric, &p);
        assert!((got - want).abs() < 1e-12, "{}: {got} vs evaluate {want}", kind.name());
    }

    /// The ellipse IoU from per-sample values is, on any resample, exactly what `evaluate`
    /// computes on that subset (the tables' definition).
    #[test]
    fn ellipse_iou_per_sample_equals_evaluate_on_every_subset() {
        use crate::data::ellipse::Ellipse;
        let (h, w) = (24, 32);
        let ellipse = |i: usize, shift: f64| {
            let e = Ellipse {
                cx: 12.0 + (i % 5) as f64 + shift,
                cy: 10.0 + (i % 3) as f64,
                a: 6.0 + (i % 4) as f64,
                b: 4.0,
                angle: 0.3 * i as f64,
            };
            crate::task::encode_ellipse(&e, h, w)
        };
        let n = 12;
        let targets: Vec<f32> = (0..n).flat_map(|i| ellipse(i, 0.0)).collect();
        let scores: Vec<f32> = (0..n).flat_map(|i| ellipse(i, 0.4 * (i % 4) as f64)).collect();
        let kind = TaskKind::Ellipse { height: h, width: w };
        let width = crate::task::ELLIPSE_PARAMS;
        let p = TaskPredictions { targets: Targets::Params { width, values: targets }, scores, width, spacing: None };
        let stat = SampleStat::of(&kind, p.clone());
        assert!(matches!(stat, SampleStat::Mean { .. }));
        for idx in [vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], vec![3, 3, 7, 0, 11], vec![5]] {
            let want = metrics::evaluate(&kind, &p.subset(&idx)).into_iter().find(|m| m.name == "ellipse_iou").unwrap().value;
            assert_eq!(stat.on(&idx).to_bits(), want.to_bits(), "{idx:?}");
        }
        assert!(stat.same_samples(&SampleStat::of(&kind, p.clone())));
    }

    #[test]
    fn primary_value_equals_what_evaluate_reports() {
        let n = 40;
        let score = |i: usize, k: usize| ((i * 31 + k * 17) % 97) as f32 / 97.0;
        let classes: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
        check(TaskKind::Binary, Targets::Classes(classes.iter().map(|c| c % 2).collect()), (0..n).map(|i| score(i, 0)).collect(), 1);
        let probs: Vec<f32> = (0..n)
            .flat_map(|i| {
                let raw: Vec<f32> = (0..3).map(|k| score(i, k) + 0.01).collect();
                let sum: f32 = raw.iter().sum();
                raw.into_iter().map(move |v| v / sum)
            })
            .collect();
        check(TaskKind::MultiClass { classes: 3 }, Targets::Classes(classes.clone()), probs.clone(), 3);
        check(TaskKind::Ordinal { classes: 3 }, Targets::Classes(classes), probs, 3);
        let labels: Vec<u8> = (0..n * 2).map(|i| ((i * 7) % 3 == 0) as u8).collect();
        check(
            TaskKind::MultiLabel { labels: 2 },
            Targets::MultiLabels { width: 2, values: labels },
            (0..n * 2).map(|i| score(i, 1)).collect(),
            2,
        );
        let values: Vec<f32> = (0..n).map(|i| i as f32 / 10.0).collect();
        check(TaskKind::Regression, Targets::Values(values.clone()), values.iter().enumerate().map(|(i, v)| v + score(i, 2)).collect(), 1);
        check(TaskKind::OrdinalRegression { classes: 5 }, Targets::Values(values.clone()), values.iter().map(|v| v * 0.9).collect(), 1);
    }
}
