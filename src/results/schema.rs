//! The results schema: one tidy row per (run, task, split, metric) plus run metadata.

use serde::{Deserialize, Serialize};

use crate::task::{Generative, TaskKind};

/// Version of the results layout written now. 4 added the `subgroup` and `n` columns of
/// metric rows, `subgroups`/`shift` to `run.json` and the `affinity__<partner>` columns to
/// `history.csv`; 3 added `hyper_params` to `run.json`
/// and the weight and relatedness columns to `history.csv`. Versions 2 and 3 are still read
/// (the new fields empty: pooled rows, n unknown as 0).
pub const SCHEMA_VERSION: u32 = 4;

/// The oldest layout readers accept.
pub const OLDEST_READABLE_VERSION: u32 = 2;

/// The per-partner relatedness columns of `history.csv` (`<stat>__<partner task>`), in
/// order.
pub const PAIR_COLUMNS: [&str; 8] = ["cos_mean", "cos_q10", "cos_q50", "cos_q90", "conflict", "norm_ratio", "grad_steps", "affinity"];

/// One metric value of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// The run's folder name, `<experiment>__<design>-<weighting>__seed<seed>`.
    pub run_id: String,
    /// The suite the run belongs to.
    pub suite: String,
    /// The experiment's name within the suite.
    pub experiment: String,
    /// The experiment's dataset name.
    pub datasets: String,
    /// The architecture's name (`hps`, `mtan`, ...).
    pub design: String,
    /// The weighting method's name; `none` for STL.
    pub weighting: String,
    /// The encoder's name (`small-cnn`, `resnet18`, `unet`).
    pub backbone: String,
    /// The run's seed (weights, data order, bootstrap).
    pub seed: u64,
    /// The task's name.
    pub task: String,
    /// The task's kind, as [`TaskKind::name`] spells it.
    pub task_kind: String,
    /// `val` or `test`.
    pub split: String,
    /// The metric's name.
    pub metric: String,
    /// The metric on the whole split; NaN where it is undefined.
    pub value: f64,
    /// Per-sample percentile bootstrap 95% interval (NaN where not computed: validation
    /// split, counts).
    pub ci_low: f64,
    /// Upper end of the interval of `ci_low`.
    pub ci_high: f64,
    /// The subgroup of the test samples the row is computed on; empty for the whole split
    /// (pooled), which is what tables, tests, Δm and CI checks read.
    #[serde(default)]
    pub subgroup: String,
    /// Samples the row is computed on (0 where an old record does not say).
    #[serde(default)]
    pub n: u64,
}

impl MetricRow {
    /// Whether the row is over the whole split rather than one subgroup.
    pub fn is_pooled(&self) -> bool {
        self.subgroup.is_empty()
    }
}

/// A task as recorded in a run's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskMeta {
    /// The task's name.
    pub name: String,
    /// The task's kind, as [`TaskKind::name`] spells it.
    pub kind: String,
    /// Output channels of the task's head.
    pub outputs: usize,
    /// Classes (grades, labels, mask classes, image channels) where the kind has them.
    #[serde(default)]
    pub classes: Option<usize>,
    /// Image height and width, for kinds whose outputs are in its units (ellipse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<[usize; 2]>,
    /// An auxiliary task: reported, but left out of delta_m and of best-design decisions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auxiliary: bool,
    /// The fraction of training patients labelled for the task, when not all are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labelled_fraction: Option<f64>,
    /// Labelled samples of the train, val and test splits, when some are unlabelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labelled: Option<[usize; 3]>,
}

impl TaskMeta {
    /// The record of task `name` of `kind`.
    pub fn of(name: &str, kind: &TaskKind) -> Self {
        let classes = match kind {
            TaskKind::MultiClass { classes }
            | TaskKind::Ordinal { classes }
            | TaskKind::OrdinalRegression { classes }
            | TaskKind::Segmentation { classes } => Some(*classes),
            TaskKind::MultiLabel { labels } => Some(*labels),
            TaskKind::Reconstruction { channels, .. } => Some(*channels),
            TaskKind::Binary | TaskKind::Regression | TaskKind::Ellipse { .. } => None,
        };
        let image_size = match kind {
            TaskKind::Ellipse { height, width } => Some([*height, *width]),
            _ => None,
        };
        TaskMeta {
            name: name.to_owned(),
            kind: kind.name().to_owned(),
            outputs: kind.outputs(),
            classes,
            image_size,
            auxiliary: false,
            labelled_fraction: None,
            labelled: None,
        }
    }

    /// The record of a resolved task on `dataset`, its auxiliary flag and labelled counts
    /// included.
    pub fn of_task(task: &crate::task::Task, dataset: &crate::data::Dataset) -> Self {
        use crate::data::SplitName;
        let count = |s: SplitName| task.labelled(dataset.split(s), s).map(|m| m.iter().filter(|&&k| k).count());
        let partial = SplitName::ALL.iter().any(|&s| count(s).is_some());
        let labelled = partial.then(|| SplitName::ALL.map(|s| count(s).unwrap_or(dataset.split(s).len())));
        TaskMeta {
            auxiliary: task.spec.auxiliary,
            labelled_fraction: task.spec.labelled_fraction.filter(|&f| f < 1.0),
            labelled,
            ..Self::of(&task.name, &task.kind)
        }
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
            // Stored predictions are scored alike whatever the network read: the clean images.
            "reconstruction" | "denoising" | "vae" => TaskKind::Reconstruction { channels: c?, generative: Generative::Plain },
            "ellipse" => {
                let [height, width] = self.image_size?;
                TaskKind::Ellipse { height, width }
            }
            _ => return None,
        })
    }
}

/// How a run ended. Diverged runs have no metric rows; reports list them as failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum RunStatus {
    /// Training finished and every metric row was written.
    Complete,
    /// The loss became NaN or infinite.
    Diverged {
        /// The epoch (1-based) in which it happened.
        epoch: usize,
        /// The task whose loss was not finite.
        task: String,
        /// That task's last finite step loss (NaN when it had none).
        last_finite_loss: f64,
    },
}

/// Everything about a run except its metric values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// [`SCHEMA_VERSION`] of the medmtl that wrote the record.
    pub schema_version: u32,
    /// The run's folder name, `<experiment>__<design>-<weighting>__seed<seed>`.
    pub run_id: String,
    /// The suite the run belongs to.
    pub suite: String,
    /// The experiment's name within the suite.
    pub experiment: String,
    /// The experiment's dataset name.
    pub datasets: String,
    /// The architecture's name (`hps`, `mtan`, ...).
    pub design: String,
    /// The weighting method's name; `none` for STL.
    pub weighting: String,
    /// The encoder's name (`small-cnn`, `resnet18`, `unet`).
    pub backbone: String,
    /// The encoder's base channel width.
    pub width: usize,
    /// The run's seed (weights, data order, bootstrap).
    pub seed: u64,
    /// The tasks, in the order of `selected_epoch` and the model's heads.
    pub tasks: Vec<TaskMeta>,
    /// Epochs trained (0 for a diverged run, which keeps no history).
    pub epochs_run: usize,
    /// Epoch whose weights were kept, per task (1-based).
    pub selected_epoch: Vec<usize>,
    /// Time spent in training steps, validation passes excluded.
    pub train_seconds: f64,
    /// Training images per second over all epochs.
    pub train_images_per_sec: f64,
    /// Test images per second of the selected model's evaluation pass.
    pub inference_images_per_sec: f64,
    /// Peak resident memory of the process during the run (Linux only).
    pub peak_rss_bytes: Option<u64>,
    /// Trainable scalars in the model (0 for a diverged run).
    pub param_count: usize,
    /// The medmtl crate version that produced the run.
    pub medmtl_version: String,
    /// `git describe --always --dirty` of the source medmtl was built from.
    pub git_revision: String,
    /// SHA-256 of every setting that changes this run's result.
    pub config_hash: String,
    /// When the record was written, RFC 3339 in UTC.
    pub timestamp: String,
    /// False when a data file's md5 differed from the catalog (`--allow-unverified`).
    pub data_verified: bool,
    /// Data files read, with their md5.
    pub data_files: Vec<(String, String)>,
    /// Worker threads of the rayon pool.
    pub threads: usize,
    /// The candle device the run trained on (`Cpu`, `Cuda { .. }`).
    pub device: String,
    /// CPU model (and GPU, when one is used).
    pub hardware: String,
    /// How the run ended (flattened into the record as `status` and its fields).
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
    /// How test metrics were also computed per subgroup, where the experiment asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subgroups: Option<crate::data::subgroup::SubgroupSpec>,
    /// The distribution shift the run trained under, where the experiment set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<crate::data::subgroup::ShiftSpec>,
}
