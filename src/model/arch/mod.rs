//! Multi-task architectures behind one interface, so any design runs with any weighting
//! method and task set.

mod hps;
mod stl;

pub use hps::Hps;
pub use stl::Stl;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::backbone::BackboneKind;
use super::params::{ParamBuilder, ParamStore};
use crate::Result;

/// A multi-task network.
pub trait Architecture: Send + Sync {
    /// Head outputs for the tasks listed in `tasks` (indices into the run's task list), in
    /// that order. Designs compute only what those tasks need.
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>>;

    /// Every parameter, tagged with its owner (shared or one task).
    fn params(&self) -> &ParamStore;
}

/// The designs a suite can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Design {
    /// Single-task learning: one network per task.
    Stl,
    /// Hard parameter sharing: one backbone, one head per task.
    Hps,
}

impl Design {
    pub const NAMES: [&'static str; 2] = ["stl", "hps"];

    pub fn as_str(self) -> &'static str {
        match self {
            Design::Stl => "stl",
            Design::Hps => "hps",
        }
    }
}

impl std::fmt::Display for Design {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a design needs to know to build itself.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub backbone: BackboneKind,
    pub width: usize,
    pub in_channels: usize,
    /// Output size of each task's head, in task order.
    pub task_outputs: Vec<usize>,
}

/// Builds `design` with weights drawn from `seed`.
pub fn build(design: Design, spec: &ModelSpec, seed: u64, device: &Device) -> Result<Box<dyn Architecture>> {
    let pb = ParamBuilder::new(seed, device);
    Ok(match design {
        Design::Stl => Box::new(Stl::new(&pb, spec)?),
        Design::Hps => Box::new(Hps::new(&pb, spec)?),
    })
}
