//! The results schema: one tidy row per (run, task, split, metric) plus run metadata.

use serde::{Deserialize, Serialize};

use crate::task::TaskKind;

/// Version of the results layout; readers refuse files of another version.
pub const SCHEMA_VERSION: u32 = 2;

/// One metric value of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub run_id: String,
    pub suite: String,
    pub experiment: String,
    pub datasets: String,
    pub design: String,
    pub weighting: String,
    pub backbone: String,
    pub seed: u64,
    pub task: String,
    pub task_kind: String,
    pub split: String,
    pub metric: String,
    pub value: f64,
    /// Per-sample percentile bootstrap 95% interval (NaN where not computed: validation
    /// split, counts).
    pub ci_low: f64,
    pub ci_high: f64,
}

/// A task as recorded in a run's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskMeta {
    pub name: String,
    pub kind: String,
    pub outputs: usize,
    /// Classes (grades, labels, mask classes, image channels) where the kind has them.
    #[serde(default)]
    pub classes: Option<usize>,
}

impl TaskMeta {
    pub fn of(name: &str, kind: &TaskKind) -> Self {
        let classes = match kind {
            TaskKind::MultiClass { classes }
            | TaskKind::Ordinal { classes }
            | TaskKind::OrdinalRegression { classes }
            | TaskKind::Segmentation { classes } => Some(*classes),
            TaskKind::MultiLabel { labels } => Some(*labels),
            TaskKind::Reconstruction { channels } => Some(*channels),
            TaskKind::Binary | TaskKind::Regression => None,
        };
        TaskMeta { name: name.to_owned(), kind: kind.name().to_owned(), outputs: kind.outputs(), classes }
    }

    /// The task kind this record describes, for re-evaluating stored predictions.
    pub fn task_kind(&self) -> Option<TaskKind> {
        let c = self.classes;
        Some(match self.kind.as_str() {
            "binary" => TaskKind::Binary,
            "regression" => TaskKind::Regression,
            "multiclass" => TaskKind::MultiClass { classes: c? },
            "ordinal" => TaskKind::Ordinal { classes: c? },
            "ordinal-regression" => TaskKind::OrdinalRegression { classes: c? },
            "multilabel" => TaskKind::MultiLabel { labels: c? },
            "segmentation" => TaskKind::Segmentation { classes: c? },
            "reconstruction" => TaskKind::Reconstruction { channels: c? },
            _ => return None,
        })
    }
}

/// How a run ended. Diverged runs have no metric rows; reports list them as failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum RunStatus {
    Complete,
    /// The loss became NaN or infinite.
    Diverged {
        epoch: usize,
        task: String,
        last_finite_loss: f64,
    },
}

/// Everything about a run except its metric values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub schema_version: u32,
    pub run_id: String,
    pub suite: String,
    pub experiment: String,
    pub datasets: String,
    pub design: String,
    pub weighting: String,
    pub backbone: String,
    pub width: usize,
    pub seed: u64,
    pub tasks: Vec<TaskMeta>,
    pub epochs_run: usize,
    /// Epoch whose weights were kept, per task (1-based).
    pub selected_epoch: Vec<usize>,
    pub train_seconds: f64,
    pub train_images_per_sec: f64,
    pub inference_images_per_sec: f64,
    pub peak_rss_bytes: Option<u64>,
    pub param_count: usize,
    pub medmtl_version: String,
    pub git_revision: String,
    /// SHA-256 of every setting that changes this run's result.
    pub config_hash: String,
    pub timestamp: String,
    /// False when a data file's md5 differed from the catalog (`--allow-unverified`).
    pub data_verified: bool,
    /// Data files read, with their md5.
    pub data_files: Vec<(String, String)>,
    pub threads: usize,
    pub device: String,
    /// CPU model (and GPU, when one is used).
    pub hardware: String,
    #[serde(flatten)]
    pub status: RunStatus,
    /// SHA-256 of the suite file the run belongs to (merging refuses mixed versions).
    pub suite_hash: String,
    /// Images/s of the fixed reference workload timed in the same invocation, so CI can
    /// compare throughput as a ratio across machines.
    pub reference_images_per_sec: Option<f64>,
    /// The design's and the weighting method's hyper-parameters as the run used them,
    /// defaults included (`{"design": {...}, "weighting": {...}}`).
    #[serde(default)]
    pub hyper_params: std::collections::BTreeMap<String, crate::hyper::ParamTable>,
}
