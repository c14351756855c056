//! Metrics: pure functions of stored predictions and ground truth, so that every design is
//! measured by the same code and any metric can be recomputed without retraining.
//!
//! [`evaluate`] gives every metric of a task kind; [`evaluate_with_ci`] adds a per-sample
//! percentile bootstrap 95% CI (seeded, 1000 resamples) to each. The definitions and
//! edge-case rules live with each function (`classification`, `regression`,
//! `segmentation`, `image`) and are summarised in every report's method section.

pub mod classification;
pub mod defs;
pub mod ellipse;
pub mod image;
pub mod regression;
pub mod segmentation;

use serde::{Deserialize, Serialize};

use crate::task::{Targets, TaskKind};
use classification as cls;

/// Boundary tolerance of the normalised surface Dice, in mm (pixels where the dataset has
/// no pixel size).
pub const NSD_TOLERANCE: f64 = 2.0;

/// Resamples of every bootstrap interval.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// One task's predictions on one split: targets plus `width` scores per sample
/// (probabilities for classification, values in the target's unit for regression, the
/// predicted class per pixel for segmentation, the reconstructed value per pixel).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPredictions {
    /// Ground truth of every sample.
    pub targets: Targets,
    /// `n x width` scores, row-major.
    pub scores: Vec<f32>,
    /// Scores per sample: the kind's outputs, or the target's values per sample for dense tasks.
    pub width: usize,
    /// Pixel size in mm per sample (segmentation distances); pixels when absent.
    pub spacing: Option<Vec<f32>>,
}

/// Predicted class labels of a segmentation task, which stores them as its `f32` scores.
pub fn mask_labels(scores: &[f32]) -> Vec<u8> {
    scores.iter().map(|&v| v as u8).collect()
}

impl TaskPredictions {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The predictions of the samples at `idx` (repeats allowed), for resampling.
    pub fn subset(&self, idx: &[usize]) -> TaskPredictions {
        let w = self.width;
        let scores = idx.iter().flat_map(|&i| self.scores[i * w..(i + 1) * w].iter().copied()).collect();
        let per = self.targets.per_sample();
        let pick_u8 = |v: &[u8]| idx.iter().flat_map(|&i| v[i * per..(i + 1) * per].iter().copied()).collect::<Vec<u8>>();
        let targets = match &self.targets {
            Targets::Classes(t) => Targets::Classes(idx.iter().map(|&i| t[i]).collect()),
            Targets::Values(t) => Targets::Values(idx.iter().map(|&i| t[i]).collect()),
            Targets::Params { width, values } => Targets::Params {
                width: *width,
                values: idx.iter().flat_map(|&i| values[i * width..(i + 1) * width].iter().copied()).collect(),
            },
            Targets::MultiLabels { width, values } => Targets::MultiLabels { width: *width, values: pick_u8(values) },
            Targets::Masks { height, width, values } => Targets::Masks { height: *height, width: *width, values: pick_u8(values) },
            Targets::Images { channels, height, width, values } => Targets::Images {
                channels: *channels,
                height: *height,
                width: *width,
                values: idx.iter().flat_map(|&i| values[i * per..(i + 1) * per].iter().copied()).collect(),
            },
        };
        let spacing = self.spacing.as_ref().map(|s| idx.iter().map(|&i| s[i]).collect());
        TaskPredictions { targets, scores, width: w, spacing }
    }
}

/// A named metric value, with its bootstrap interval when computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    /// The metric's name (see [`defs::METRICS`]).
    pub name: String,
    /// The metric on all samples; NaN where undefined.
    pub value: f64,
    /// Percentile bootstrap 95% interval `(low, high)` over resampled samples.
    pub ci: Option<(f64, f64)>,
}

/// Whether larger values of the named metric are better (used by delta_m, ranks, checks);
/// metrics without an entry in [`defs::METRICS`] (from other tools) count as higher-better.
pub fn higher_is_better(metric: &str) -> bool {
    defs::metric(metric).is_none_or(|m| m.higher_is_better)
}

/// Metrics that count cases (undefined values, fallbacks) rather than measure quality;
/// reports show them but never rank or compare designs on them.
pub fn is_count(metric: &str) -> bool {
    defs::metric(metric).map_or(metric.starts_with("n_"), |m| m.count)
}

/// The metric a task's model selection and summary use ([`defs::KindMetrics::primary`]).
pub fn primary_metric(kind: &TaskKind) -> &'static str {
    defs::of(kind).primary
}

/// The metrics delta_m averages per task ([`defs::KindMetrics::headline`]).
pub fn delta_m_metrics(kind: &TaskKind) -> &'static [&'static str] {
    defs::of(kind).headline
}

fn push(out: &mut Vec<MetricValue>, name: &str, value: f64) {
    out.push(MetricValue { name: name.into(), value, ci: None });
}

/// Every metric of a task kind, from its predictions.
pub fn evaluate(kind: &TaskKind, p: &TaskPredictions) -> Vec<MetricValue> {
    if kind.is_dense() {
        return DenseTable::new(kind, p).aggregate();
    }
    let mut out = Vec::new();
    match (kind, &p.targets) {
        (TaskKind::Binary, Targets::Classes(t)) => {
            classification_set(&mut out, t, &cls::binary_predictions(&p.scores), &p.scores, 2);
        }
        (TaskKind::MultiClass { classes } | TaskKind::Ordinal { classes }, Targets::Classes(t)) => {
            let predicted = cls::argmax_predictions(&p.scores, *classes);
            classification_set(&mut out, t, &predicted, &p.scores, *classes);
            if matches!(kind, TaskKind::Ordinal { .. }) {
                push(&mut out, "kappa_quadratic", cls::cohen_kappa(t, &predicted, *classes, cls::KappaWeights::Quadratic));
                push(&mut out, "mae_grades", cls::grade_mae(t, &predicted));
            }
        }
        (TaskKind::MultiLabel { labels }, Targets::MultiLabels { values, .. }) => {
            let t: Vec<u32> = values.iter().map(|&v| v as u32).collect();
            push(&mut out, "acc", cls::multilabel_mean_accuracy(&t, &p.scores, *labels));
            push(&mut out, "auc", cls::multilabel_mean_auc(&t, &p.scores, *labels).0.unwrap_or(f64::NAN));
        }
        (TaskKind::OrdinalRegression { classes }, Targets::Values(t)) => {
            let truth: Vec<u32> = t.iter().map(|&v| v.round().max(0.0) as u32).collect();
            let graded: Vec<u32> = p.scores.iter().map(|&v| v.round().clamp(0.0, (*classes - 1) as f32) as u32).collect();
            push(&mut out, "acc", cls::accuracy(&truth, &graded));
            push(&mut out, "mae_grades", cls::grade_mae(&truth, &graded));
            push(&mut out, "kappa_quadratic", cls::cohen_kappa(&truth, &graded, *classes, cls::KappaWeights::Quadratic));
            push(&mut out, "mae", regression::mae(t, &p.scores));
            push(&mut out, "rmse", regression::rmse(t, &p.scores));
            push(&mut out, "r2", regression::r2(t, &p.scores));
        }
        (TaskKind::Regression, Targets::Values(t)) => {
            push(&mut out, "mae", regression::mae(t, &p.scores));
            push(&mut out, "rmse", regression::rmse(t, &p.scores));
            push(&mut out, "r2", regression::r2(t, &p.scores));
        }
        (TaskKind::Ellipse { height, width }, Targets::Params { values, .. }) => {
            for (name, value) in ellipse::metrics(values, &p.scores, *height, *width, p.spacing.as_deref()) {
                push(&mut out, name, value);
            }
        }
        _ => {}
    }
    out
}

/// The uniform classification set (binary: `scores` are positive-class probabilities).
fn classification_set(out: &mut Vec<MetricValue>, t: &[u32], predicted: &[u32], scores: &[f32], classes: usize) {
    let binary = classes == 2 && scores.len() == t.len();
    push(out, "acc", cls::accuracy(t, predicted));
    push(out, "balanced_acc", cls::balanced_accuracy(t, predicted, classes));
    let (auc, ap) = if binary {
        (cls::binary_auc(t, scores), cls::binary_average_precision(t, scores))
    } else {
        (cls::ovr_macro_auc(t, scores, classes).0, cls::ovr_macro_average_precision(t, scores, classes).0)
    };
    push(out, "auc", auc.unwrap_or(f64::NAN));
    push(out, "ap", ap.unwrap_or(f64::NAN));
    push(out, "f1_macro", cls::macro_f1(t, predicted, classes));
    push(out, "sensitivity", cls::sensitivity(t, predicted, classes));
    push(out, "specificity", cls::specificity(t, predicted, classes));
    push(out, "mcc", cls::mcc(t, predicted, classes));
    push(out, "kappa", cls::cohen_kappa(t, predicted, classes, cls::KappaWeights::None));
    push(out, "ece", cls::ece(t, scores, classes));
    push(out, "brier", cls::brier(t, scores, classes));
}

/// Every metric with a per-sample percentile bootstrap 95% CI (`resamples` >= 1000,
/// seeded). Counts (`n_*`) get no interval.
pub fn evaluate_with_ci(kind: &TaskKind, p: &TaskPredictions, resamples: usize, seed: u64) -> Vec<MetricValue> {
    let n = p.len();
    let dense = kind.is_dense().then(|| DenseTable::new(kind, p));
    // Ellipse errors are rasterised once per sample, not on every resample.
    let ellipse_rows = match (kind, &p.targets) {
        (TaskKind::Ellipse { height, width }, Targets::Params { values, .. }) => {
            Some(ellipse::per_sample(values, &p.scores, *height, *width, p.spacing.as_deref()))
        }
        _ => None,
    };
    let evaluate_on = |idx: &[usize]| match (&dense, &ellipse_rows) {
        (Some(table), _) => table.subset(idx).aggregate(),
        (None, Some(rows)) => {
            let mut out = Vec::new();
            for (name, value) in ellipse::aggregate(idx.iter().map(|&i| &rows[i]), p.spacing.is_some()) {
                push(&mut out, name, value);
            }
            out
        }
        (None, None) => evaluate(kind, &p.subset(idx)),
    };
    let mut values = match &dense {
        Some(table) => table.aggregate(),
        None => evaluate(kind, p),
    };
    let mut draws: Vec<Vec<f64>> = vec![Vec::new(); values.len()];
    crate::stats::bootstrap_each(n, resamples, seed, |idx| {
        for (k, m) in evaluate_on(idx).into_iter().enumerate() {
            draws[k].push(m.value);
        }
    });
    for (m, d) in values.iter_mut().zip(&draws) {
        m.ci = Some(crate::stats::percentile_interval(d, 0.95));
    }
    values.iter_mut().filter(|m| is_count(&m.name)).for_each(|m| m.ci = None);
    values
}

/// Per-image metrics of a dense task, computed once so that aggregation and bootstrap
/// resampling are cheap.
struct DenseTable {
    names: Vec<&'static str>,
    /// `columns[k][i]`: metric k of image i (NaN where undefined).
    columns: Vec<Vec<f64>>,
    /// Image i's distance metrics were the one-empty-mask fallback.
    fallback: Vec<bool>,
    /// Per-image sufficient statistics of the pooled metric (segmentation: intersection,
    /// |reference| + |prediction|; reconstruction: SSE, sum y, sum y^2, pixels).
    pooled: Vec<[f64; 4]>,
    segmentation: bool,
}

impl DenseTable {
    fn new(kind: &TaskKind, p: &TaskPredictions) -> Self {
        match (kind, &p.targets) {
            (TaskKind::Segmentation { classes }, Targets::Masks { height, width, values }) => {
                Self::segmentation(*classes, *height, *width, values, p)
            }
            (TaskKind::Reconstruction { .. }, Targets::Images { channels, height, width, values }) => {
                Self::reconstruction(*channels, *height, *width, values, p)
            }
            _ => DenseTable { names: vec![], columns: vec![], fallback: vec![], pooled: vec![], segmentation: false },
        }
    }

    fn segmentation(classes: usize, h: usize, w: usize, truth: &[u8], p: &TaskPredictions) -> Self {
        // With pixel sizes (HC18), binary masks are also measured the way the HC18 challenge
        // measures heads: the circumference of the ellipse fitted to the mask, in mm.
        let circumference = classes <= 2 && p.spacing.is_some();
        let mut names = vec!["dice", "iou", "hd95", "assd", "nsd"];
        if circumference {
            names.push("circumference_mae_mm");
        }
        let mut columns = vec![Vec::new(); names.len()];
        let (mut fallback, mut pooled) = (Vec::new(), Vec::new());
        for i in 0..p.len() {
            let r = &truth[i * h * w..(i + 1) * h * w];
            let pred = mask_labels(&p.scores[i * h * w..(i + 1) * h * w]);
            let s = p.spacing.as_ref().map_or(1.0, |s| s[i] as f64);
            let m = segmentation::multiclass_metrics(r, &pred, h, w, (s, s), classes.max(2), NSD_TOLERANCE);
            for (col, v) in columns.iter_mut().zip([m.dice, m.iou, m.hd95, m.assd, m.nsd]) {
                col.push(v);
            }
            if circumference {
                let fit = |mask: &[u8]| crate::data::ellipse::head_circumference_mm(mask, w, h, s);
                let error = match (fit(r), fit(&pred)) {
                    (Some(a), Some(b)) => (a - b).abs(),
                    // No ellipse in the prediction: undefined, left out of the mean (and
                    // visible as a low Dice / fallback distance).
                    _ => f64::NAN,
                };
                columns[5].push(error);
            }
            fallback.push(m.distance_fallbacks > 0);
            let (mut inter, mut total) = (0.0, 0.0);
            for (&a, &b) in r.iter().zip(&pred) {
                inter += (a > 0 && a == b) as u8 as f64;
                total += (a > 0) as u8 as f64 + (b > 0) as u8 as f64;
            }
            pooled.push([inter, total, 0.0, 0.0]);
        }
        DenseTable { names, columns, fallback, pooled, segmentation: true }
    }

    fn reconstruction(c: usize, h: usize, w: usize, truth: &[f32], p: &TaskPredictions) -> Self {
        let names = vec!["mse", "psnr", "ssim"];
        let per = c * h * w;
        let mut columns = vec![Vec::new(); names.len()];
        let mut pooled = Vec::new();
        for i in 0..p.len() {
            let (t, q) = (&truth[i * per..(i + 1) * per], &p.scores[i * per..(i + 1) * per]);
            let mse = regression::mse(t, q);
            // Images are normalised to [-1, 1]: a data range of 2.
            columns[0].push(mse);
            columns[1].push(image::psnr(t, q, 2.0));
            columns[2].push(image::ssim_channels(t, q, c, h, w, 2.0));
            let (s, s2) = t.iter().fold((0.0, 0.0), |(a, b), &v| (a + v as f64, b + (v as f64).powi(2)));
            pooled.push([mse * per as f64, s, s2, per as f64]);
        }
        DenseTable { names, columns, fallback: vec![false; p.len()], pooled, segmentation: false }
    }

    fn subset(&self, idx: &[usize]) -> DenseTable {
        DenseTable {
            names: self.names.clone(),
            columns: self.columns.iter().map(|c| idx.iter().map(|&i| c[i]).collect()).collect(),
            fallback: idx.iter().map(|&i| self.fallback[i]).collect(),
            pooled: idx.iter().map(|&i| self.pooled[i]).collect(),
            segmentation: self.segmentation,
        }
    }

    /// Means over images (undefined values left out), the pooled metric, and the counts.
    fn aggregate(&self) -> Vec<MetricValue> {
        let mut out = Vec::new();
        for (name, col) in self.names.iter().zip(&self.columns) {
            let defined: Vec<f64> = col.iter().copied().filter(|v| v.is_finite()).collect();
            let mean = if defined.is_empty() { f64::NAN } else { defined.iter().sum::<f64>() / defined.len() as f64 };
            push(&mut out, name, mean);
        }
        let sum = |k: usize| self.pooled.iter().map(|s| s[k]).sum::<f64>();
        if self.segmentation {
            push(&mut out, "dice_pooled", if sum(1) > 0.0 { 2.0 * sum(0) / sum(1) } else { f64::NAN });
            push(&mut out, "n_dice_undefined", self.columns[0].iter().filter(|v| v.is_nan()).count() as f64);
            push(&mut out, "n_distance_fallbacks", self.fallback.iter().filter(|&&f| f).count() as f64);
        } else if !self.pooled.is_empty() {
            let (sse, s, s2, n) = (sum(0), sum(1), sum(2), sum(3));
            let sst = s2 - s * s / n.max(1.0);
            push(&mut out, "r2", if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskKindName;

    /// Small predictions of every task kind (segmentation with and without pixel sizes).
    fn every_kind() -> Vec<(TaskKind, TaskPredictions)> {
        let vector = |targets: Targets, scores: Vec<f32>, width: usize| TaskPredictions { targets, scores, width, spacing: None };
        let probs3 = vec![0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6, 0.3, 0.4, 0.3];
        let (h, w) = (12, 12);
        let mask = |i: usize| -> Vec<u8> { (0..h * w).map(|p| ((p % w) > 3 + i && (p / w) > 2 + i) as u8).collect() };
        let masks: Vec<u8> = (0..3).flat_map(mask).collect();
        let predicted: Vec<f32> = (0..3).flat_map(|i| mask(i + 1)).map(f32::from).collect();
        let seg = |spacing: Option<Vec<f32>>| TaskPredictions {
            targets: Targets::Masks { height: h, width: w, values: masks.clone() },
            scores: predicted.clone(),
            width: h * w,
            spacing,
        };
        let image: Vec<f32> = (0..2 * 16 * 16).map(|i| ((i * 37) % 23) as f32 / 11.5 - 1.0).collect();
        let ellipse_case = |spacing: Option<Vec<f32>>| {
            let targets = crate::task::ellipse_targets("e", &masks, h, w).unwrap();
            let scores = crate::task::ellipse_targets("e", &(0..3).flat_map(|i| mask(i + 1)).collect::<Vec<u8>>(), h, w).unwrap();
            TaskPredictions { targets: Targets::Params { width: crate::task::ELLIPSE_PARAMS, values: targets }, scores, width: 6, spacing }
        };
        vec![
            (TaskKind::Binary, vector(Targets::Classes(vec![0, 1, 0, 1]), vec![0.2, 0.8, 0.6, 0.4], 1)),
            (TaskKind::MultiClass { classes: 3 }, vector(Targets::Classes(vec![0, 1, 2, 1]), probs3.clone(), 3)),
            (TaskKind::Ordinal { classes: 3 }, vector(Targets::Classes(vec![0, 1, 2, 1]), probs3, 3)),
            (
                TaskKind::MultiLabel { labels: 2 },
                vector(
                    Targets::MultiLabels { width: 2, values: vec![0, 1, 1, 0, 1, 1, 0, 0] },
                    vec![0.2, 0.7, 0.6, 0.4, 0.9, 0.8, 0.1, 0.3],
                    2,
                ),
            ),
            (TaskKind::OrdinalRegression { classes: 3 }, vector(Targets::Values(vec![0.0, 1.0, 2.0, 1.0]), vec![0.1, 1.2, 1.8, 0.7], 1)),
            (TaskKind::Regression, vector(Targets::Values(vec![0.5, 1.0, 2.0, 3.5]), vec![0.4, 1.3, 1.8, 3.0], 1)),
            (TaskKind::Segmentation { classes: 2 }, seg(None)),
            (TaskKind::Segmentation { classes: 2 }, seg(Some(vec![0.1, 0.2, 0.15]))),
            (TaskKind::Ellipse { height: h, width: w }, ellipse_case(None)),
            (TaskKind::Ellipse { height: h, width: w }, ellipse_case(Some(vec![0.1, 0.2, 0.15]))),
            (
                TaskKind::Reconstruction { channels: 1, generative: crate::task::Generative::Plain },
                TaskPredictions {
                    targets: Targets::Images { channels: 1, height: 16, width: 16, values: image.clone() },
                    scores: image.iter().map(|v| v * 0.9).collect(),
                    width: 256,
                    spacing: None,
                },
            ),
        ]
    }

    /// The metric table is the one fact: every kind a suite can name has an entry, and
    /// `evaluate` emits exactly the metrics the table lists for the kind (segmentation:
    /// plus the circumference error with pixel sizes), each with a definition; headline and
    /// primary metrics are among the kind's metrics.
    #[test]
    fn evaluate_emits_exactly_the_metrics_the_table_defines() {
        for name in TaskKindName::names() {
            assert!(defs::kind(name).is_some(), "task kind {name} has no metric entry");
        }
        for (kind, p) in every_kind() {
            let emitted: Vec<String> = evaluate(&kind, &p).into_iter().map(|m| m.name).collect();
            let entry = defs::of(&kind);
            assert_eq!(entry.kind, kind.name());
            let listed = entry.emitted(p.spacing.is_some());
            assert_eq!(emitted, listed, "{}", kind.name());
            for name in &emitted {
                let def = defs::metric(name).unwrap_or_else(|| panic!("metric {name} of {} has no definition", kind.name()));
                assert!(!def.definition.is_empty());
                assert_eq!(is_count(name), name.starts_with("n_"), "{name}: counts are the n_* metrics");
            }
            assert!(emitted.iter().any(|m| m == entry.primary), "{}: primary {}", kind.name(), entry.primary);
            for h in entry.headline {
                assert!(emitted.iter().any(|m| m == h), "{}: headline {h}", kind.name());
            }
            assert!(higher_is_better(entry.primary), "{}: the selection score must be higher-better", kind.name());
        }
        assert!(!higher_is_better("circumference_mae_mm") && defs::lower_is_better().contains(&"circumference_mae_mm"));
        let names: std::collections::BTreeSet<&str> = defs::METRICS.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), defs::METRICS.len(), "a metric is defined twice");
    }

    /// The per-sample tables (dense kinds, ellipses) that make the bootstrap cheap give
    /// exactly the intervals of re-evaluating every resample from the predictions.
    #[test]
    fn bootstrap_intervals_equal_re_evaluating_every_resample() {
        for (kind, p) in every_kind() {
            let fast = evaluate_with_ci(&kind, &p, 1000, 7);
            let mut draws: Vec<Vec<f64>> = vec![Vec::new(); fast.len()];
            crate::stats::bootstrap_each(p.len(), 1000, 7, |idx| {
                for (k, m) in evaluate(&kind, &p.subset(idx)).into_iter().enumerate() {
                    draws[k].push(m.value);
                }
            });
            for (m, d) in fast.iter().zip(&draws) {
                let Some((lo, hi)) = m.ci else { continue };
                let (want_lo, want_hi) = crate::stats::percentile_interval(d, 0.95);
                let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-12;
                assert!(same(lo, want_lo) && same(hi, want_hi), "{} {}: ({lo}, {hi}) vs ({want_lo}, {want_hi})", kind.name(), m.name);
            }
        }
    }
}
