//! Training: optimiser and schedule, the epoch loop, model selection on the validation
//! split, and throughput / memory accounting.

pub mod affinity;
pub mod batch;
pub mod checkpoint;
pub mod lossless;
mod memory;
pub mod optim;
pub mod probe;
pub mod rep_grad;
pub mod representation;
mod schedule;
pub mod step;
mod trainer;

pub use memory::{peak_rss_bytes, reset_peak_rss};
pub use schedule::Schedule;
pub use step::{StepOutcome, StepReport, Stepper};
pub use trainer::{train, train_with, EpochRecord, TaskGroup, TrainHooks, TrainOutcome, PROBE_EVERY};

use serde::{Deserialize, Serialize};

/// Optimiser family. `Adam` is AdamW with zero weight decay (MedMNIST's optimiser).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (Kingma & Ba 2015), no weight decay.
    Adam,
    /// AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay.
    Adamw,
}

/// Everything that changes how a model is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training split.
    pub epochs: usize,
    /// Training images per step (per task group for multi-input data); default 128.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Adam (default) or AdamW.
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    /// Initial learning rate; default 1e-3.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Decoupled weight decay (AdamW only).
    #[serde(default)]
    pub weight_decay: f64,
    /// How the learning rate changes over the epochs.
    #[serde(default)]
    pub schedule: Schedule,
    /// Images per batch at evaluation (memory only; does not change results).
    #[serde(default = "default_eval_batch")]
    pub eval_batch_size: usize,
    /// Also measure the lookahead task affinity of Fifty et al. (2021) on every probed step
    /// (one extra forward per task every [`PROBE_EVERY`] steps); off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub affinity: bool,
    /// Gradient methods act on the gradients with respect to the shared representation
    /// (the encoder's output levels) instead of the shared parameters (LibMTL's `rep_grad`;
    /// [`rep_grad`]); designs with one shared representation only (HPS). Off by default;
    /// GradDrop always works this way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rep_grad: bool,
}

fn default_batch() -> usize {
    128
}
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::Adam
}
fn default_lr() -> f64 {
    1e-3
}
fn default_eval_batch() -> usize {
    256
}

impl TrainConfig {
    /// Checks the values serde cannot: positive epochs, batch sizes and learning rate.
    pub fn validate(&self) -> Result<(), String> {
        if self.epochs == 0 {
            return Err("epochs must be at least 1".into());
        }
        if self.batch_size == 0 || self.eval_batch_size == 0 {
            return Err("batch sizes must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!("lr must be a positive number, got {}", self.lr));
        }
        if self.optimizer == OptimizerKind::Adam && self.weight_decay != 0.0 {
            return Err("weight_decay needs optimizer = \"adamw\"".into());
        }
        Ok(())
    }
}
