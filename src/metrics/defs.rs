//! The one table of metric facts: each metric's direction, unit, definition and whether it
//! is a count, and for each task kind the metrics it reports, the one model selection uses
//! and the ones Δm averages. Evaluation, Δm, ranks, the report's method section and the CI
//! check all read this table; a test checks that [`super::evaluate`] emits exactly the
//! metrics listed for every kind and nothing without an entry.

use crate::task::TaskKind;

/// Facts about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    /// The name in results tables.
    pub name: &'static str,
    /// Whether larger values are better (Δm signs, ranks, bold cells, regression checks).
    pub higher_is_better: bool,
    /// Counts of undefined values or fallbacks: shown, never ranked or compared.
    pub count: bool,
    /// Unit of the value ("" for unitless).
    pub unit: &'static str,
    /// Definition and edge-case rules (a summary of the metric function's doc comment).
    pub definition: &'static str,
}

const fn higher(name: &'static str, unit: &'static str, definition: &'static str) -> MetricDef {
    MetricDef { name, higher_is_better: true, count: false, unit, definition }
}

const fn lower(name: &'static str, unit: &'static str, definition: &'static str) -> MetricDef {
    MetricDef { name, higher_is_better: false, count: false, unit, definition }
}

const fn count(name: &'static str, definition: &'static str) -> MetricDef {
    MetricDef { name, higher_is_better: false, count: true, unit: "count", definition }
}

/// Every metric medmtl reports.
pub static METRICS: &[MetricDef] = &[
    higher(
        "acc",
        "",
        "fraction correct: binary at p > 0.5 (MedMNIST), multi-class by argmax (first maximum on ties), multi-label the mean over \
         labels of the accuracy at p > 0.5 (MedMNIST's getACC), ordinal regression after rounding the regressed grade and clamping \
         it to the grade range",
    ),
    higher("balanced_acc", "", "mean recall over the classes present in the targets (scikit-learn)"),
    higher(
        "auc",
        "",
        "AUROC (Mann-Whitney, mid-ranks for ties); multi-class: unweighted one-vs-rest mean over the classes present in the targets \
         (MedMNIST); multi-label: mean over labels, a label with one target value left out (MedMNIST would raise); undefined (NaN) \
         with one class",
    ),
    higher(
        "ap",
        "",
        "average precision, scikit-learn's step-wise definition, tied scores one threshold; multi-class: one-vs-rest macro mean; \
         NaN without positives",
    ),
    higher("f1_macro", "", "macro F1 over classes in targets or predictions, F1 = 0 where undefined (zero_division=0)"),
    higher("sensitivity", "", "binary: recall of class 1 (NaN without positives); multi-class: macro recall (= balanced accuracy)"),
    higher("specificity", "", "binary: recall of class 0 (NaN without negatives); multi-class: macro one-vs-rest recall of 'not k'"),
    higher("mcc", "", "Matthews correlation (Gorodkin's multi-class R_K); 0 when targets or predictions hold one class (scikit-learn)"),
    higher("kappa", "", "Cohen's kappa, unweighted; NaN where undefined"),
    lower("ece", "", "top-label expected calibration error, 15 equal-width bins; biased upward on small test sets"),
    lower(
        "brier",
        "",
        "binary: mean (p - y)^2 in [0, 1]; multi-class: mean over samples of the squared error summed over classes, in [0, 2]",
    ),
    higher(
        "kappa_quadratic",
        "",
        "Cohen's kappa with quadratic weights over all grade indices (ordinal regression: of the rounded grades)",
    ),
    lower(
        "mae_grades",
        "grades",
        "mean absolute error between predicted and true grades (argmax for ordinal classification, the rounded value for ordinal \
         regression)",
    ),
    lower("mae", "target unit", "mean absolute error in the target's unit (ordinal regression: of the unrounded regressed value)"),
    lower("rmse", "target unit", "root mean squared error in the target's unit (ordinal regression: of the unrounded regressed value)"),
    higher(
        "r2",
        "",
        "1 - SS_res / SS_tot (reconstruction: pooled over all pixels of all images); NaN for constant targets (scikit-learn \
         returns 0 or 1)",
    ),
    higher(
        "dice",
        "",
        "per image over the foreground classes (MONAI), mean over images of the defined values; both masks empty: NaN, left out and \
         counted in n_dice_undefined; empty reference with a non-empty prediction: 0",
    ),
    higher("iou", "", "Jaccard index, per image and averaged as Dice"),
    lower(
        "hd95",
        "mm (pixels without a pixel size)",
        "95th-percentile symmetric Hausdorff distance on 4-neighbour boundaries with an exact EDT; exactly one mask empty: the image \
         diagonal instead of MONAI's inf, counted in n_distance_fallbacks",
    ),
    lower(
        "assd",
        "mm (pixels without a pixel size)",
        "average symmetric surface distance on 4-neighbour boundaries with an exact EDT; exactly one mask empty: the image diagonal, \
         counted in n_distance_fallbacks",
    ),
    higher("nsd", "", "normalised surface Dice at 2 mm (pixels without a pixel size) tolerance; 0 when exactly one mask is empty"),
    lower(
        "circumference_mae_mm",
        "mm",
        "with pixel sizes (HC18): absolute difference between the circumferences (Ramanujan) of the reference ellipse (fitted \
         to the reference mask) and the predicted one (fitted to the predicted mask for segmentation, regressed for ellipse \
         tasks), as the HC18 challenge measures heads; mean over images with an ellipse in both",
    ),
    higher(
        "ellipse_iou",
        "",
        "intersection over union of the reference and the regressed ellipse, rasterised on a grid 4x finer than the image; \
         mean over images",
    ),
    lower("center_error_px", "px", "distance between the centres of the reference and the regressed ellipse"),
    lower("axes_mae_px", "px", "mean absolute error of the two semi-axes"),
    lower(
        "angle_error_deg",
        "degrees",
        "smallest angle between the major axes (period 180 degrees); reference ellipses whose axes differ by under 5 % are left \
         out (a circle has no axis)",
    ),
    lower(
        "circumference_mae_px",
        "px",
        "absolute circumference (Ramanujan) error of the regressed ellipse, in pixels of the resized image",
    ),
    higher("dice_pooled", "", "2 Σ|A∩B| / (Σ|A| + Σ|B|) over all images (never the same as the mean Dice)"),
    count("n_dice_undefined", "images whose reference and prediction are both empty (Dice undefined)"),
    count("n_distance_fallbacks", "images where exactly one mask is empty (distances set to the image diagonal)"),
    lower("mse", "", "mean squared error per image, mean over images (images in [-1, 1])"),
    higher("psnr", "dB", "10 log10(R^2 / MSE) with data range R = 2 (the normalisation's range, not the image's); mean over images"),
    higher(
        "ssim",
        "",
        "scikit-image's SSIM: Gaussian 11x11 window, σ 1.5, population covariance, reflected border, cropped mean; mean over channels \
         then images",
    ),
];

/// What a task kind reports and ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindMetrics {
    /// The task kind's name ([`TaskKind::name`]).
    pub kind: &'static str,
    /// The metrics [`super::evaluate`] emits for the kind, in order, without pixel sizes
    /// ([`KindMetrics::emitted`] adds the one that needs them).
    pub metrics: &'static [&'static str],
    /// The metric model selection and summaries use: higher is better and roughly on
    /// [0, 1], so its mean over tasks is a usable multi-task selection score.
    pub primary: &'static str,
    /// The metrics Δm averages for the kind: its usual headline metrics.
    pub headline: &'static [&'static str],
}

const CLASSIFICATION: &[&str] =
    &["acc", "balanced_acc", "auc", "ap", "f1_macro", "sensitivity", "specificity", "mcc", "kappa", "ece", "brier"];

/// What image-reproducing tasks report.
const IMAGE: &[&str] = &["mse", "psnr", "ssim", "r2"];

/// Every task kind's metrics. AUC selects classification models (as MedMNIST does), R^2
/// regression and reconstruction (scale-free, 1 = perfect), Dice segmentation.
pub static KINDS: &[KindMetrics] = &[
    KindMetrics { kind: "binary", metrics: CLASSIFICATION, primary: "auc", headline: &["acc", "auc"] },
    KindMetrics { kind: "multiclass", metrics: CLASSIFICATION, primary: "auc", headline: &["acc", "auc"] },
    KindMetrics { kind: "multilabel", metrics: &["acc", "auc"], primary: "auc", headline: &["acc", "auc"] },
    KindMetrics {
        kind: "ordinal",
        metrics: &[
            "acc",
            "balanced_acc",
            "auc",
            "ap",
            "f1_macro",
            "sensitivity",
            "specificity",
            "mcc",
            "kappa",
            "ece",
            "brier",
            "kappa_quadratic",
            "mae_grades",
        ],
        primary: "auc",
        headline: &["acc", "auc", "kappa_quadratic"],
    },
    KindMetrics {
        kind: "ordinal-regression",
        metrics: &["acc", "mae_grades", "kappa_quadratic", "mae", "rmse", "r2"],
        primary: "r2",
        headline: &["acc", "mae_grades", "kappa_quadratic"],
    },
    KindMetrics { kind: "regression", metrics: &["mae", "rmse", "r2"], primary: "r2", headline: &["mae", "rmse"] },
    KindMetrics {
        kind: "segmentation",
        metrics: &["dice", "iou", "hd95", "assd", "nsd", "dice_pooled", "n_dice_undefined", "n_distance_fallbacks"],
        primary: "dice",
        headline: &["dice", "hd95"],
    },
    KindMetrics { kind: "reconstruction", metrics: IMAGE, primary: "r2", headline: &["psnr", "ssim"] },
    // Denoising and VAE tasks reproduce the clean image too, and are scored like it.
    KindMetrics { kind: "denoising", metrics: IMAGE, primary: "r2", headline: &["psnr", "ssim"] },
    KindMetrics { kind: "vae", metrics: IMAGE, primary: "r2", headline: &["psnr", "ssim"] },
    KindMetrics {
        kind: "ellipse",
        metrics: &["ellipse_iou", "center_error_px", "axes_mae_px", "angle_error_deg", "circumference_mae_px"],
        primary: "ellipse_iou",
        headline: &["ellipse_iou", "circumference_mae_px"],
    },
];

/// The metric a kind adds when its dataset has pixel sizes, and the one it follows.
const WITH_SPACING: &[(&str, &str, &str)] =
    &[("segmentation", "nsd", "circumference_mae_mm"), ("ellipse", "circumference_mae_px", "circumference_mae_mm")];

impl KindMetrics {
    /// The metrics [`super::evaluate`] emits for the kind, with or without pixel sizes.
    pub fn emitted(&self, with_spacing: bool) -> Vec<&'static str> {
        let mut names = self.metrics.to_vec();
        if let Some(&(_, after, extra)) = WITH_SPACING.iter().find(|(k, _, _)| *k == self.kind).filter(|_| with_spacing) {
            let at = names.iter().position(|&n| n == after).map_or(names.len(), |p| p + 1);
            names.insert(at, extra);
        }
        names
    }
}

/// The entry of metric `name`, if medmtl defines it.
pub fn metric(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.name == name)
}

/// The metrics of task kind `kind` (by its name).
pub fn kind(kind: &str) -> Option<&'static KindMetrics> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// [`kind`] for a task kind value. Every kind has an entry (a test checks it).
pub fn of(kind: &TaskKind) -> &'static KindMetrics {
    self::kind(kind.name()).unwrap_or(&KINDS[0])
}

/// Names of the metrics where lower is better, in table order (for the report's sentence).
pub fn lower_is_better() -> Vec<&'static str> {
    METRICS.iter().filter(|m| !m.higher_is_better && !m.count).map(|m| m.name).collect()
}
