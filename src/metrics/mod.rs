//! Metrics: pure functions of stored predictions and ground truth, so that every design is
//! measured by the same code and any metric can be recomputed without retraining.

pub mod classification;
pub mod image;
pub mod regression;
pub mod segmentation;

use serde::{Deserialize, Serialize};

use crate::task::{Targets, TaskKind};

/// One task's predictions on one split: targets plus `width` scores per sample
/// (probabilities for classification, values in the target's unit for regression).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPredictions {
    pub targets: Targets,
    pub scores: Vec<f32>,
    pub width: usize,
}

/// A named metric value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    pub name: String,
    pub value: f64,
}

/// Whether larger values of the named metric are better (used by delta_m, ranks, checks).
pub fn higher_is_better(metric: &str) -> bool {
    !matches!(metric, "mae" | "rmse")
}

/// The metric a task's model selection and summary use: AUC for classification (as
/// MedMNIST selects), R^2 for regression. Both are "higher is better" and roughly on [0, 1],
/// so their mean over tasks is a usable multi-task selection score.
pub fn primary_metric(kind: &TaskKind) -> &'static str {
    if kind.is_classification() { "auc" } else { "r2" }
}

/// Every metric of a task kind, from its predictions.
pub fn evaluate(kind: &TaskKind, p: &TaskPredictions) -> Vec<MetricValue> {
    let mut out = Vec::new();
    let mut push = |name: &str, value: f64| out.push(MetricValue { name: name.into(), value });
    match (kind, &p.targets) {
        (TaskKind::Binary, Targets::Classes(t)) => {
            let predicted = classification::binary_predictions(&p.scores);
            push("acc", classification::accuracy(t, &predicted));
            push("auc", classification::binary_auc(t, &p.scores).unwrap_or(f64::NAN));
            push("f1_macro", classification::macro_f1(t, &predicted, 2));
        }
        (TaskKind::MultiClass { classes } | TaskKind::Ordinal { classes }, Targets::Classes(t)) => {
            let predicted = classification::argmax_predictions(&p.scores, *classes);
            push("acc", classification::accuracy(t, &predicted));
            push("auc", classification::ovr_macro_auc(t, &p.scores, *classes).0.unwrap_or(f64::NAN));
            push("f1_macro", classification::macro_f1(t, &predicted, *classes));
        }
        (TaskKind::Regression, Targets::Values(t)) => {
            push("mae", regression::mae(t, &p.scores));
            push("rmse", regression::rmse(t, &p.scores));
            push("r2", regression::r2(t, &p.scores));
        }
        _ => {}
    }
    out
}
