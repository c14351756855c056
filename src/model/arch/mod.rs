//! Multi-task architectures behind one interface, so any design runs with any weighting
//! method, any task set and both data shapes (single-input: all tasks from one batch;
//! multi-input: each task group from its own batch).
//!
//! Every design turns an image batch into per-task multi-scale features (one map per
//! encoder stage); task heads then read the deepest level (vector tasks) or all levels
//! through a decoder (dense tasks). So each design also works in the encoder-decoder form
//! that heterogeneous medical MTL uses (U-Net encoder, segmentation + classification +
//! regression + reconstruction heads).

mod cross_stitch;
mod experts;
mod hps;
mod mtan;
mod stl;

pub use cross_stitch::CrossStitch;
pub use experts::{Cgc, Mmoe, Ple};
pub use hps::Hps;
pub use mtan::Mtan;
pub use stl::Stl;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::backbone::BackboneKind;
use super::head::{Head, HeadSpec};
use super::params::{Owner, ParamBuilder, ParamStore};
use crate::Result;

/// A multi-task network.
pub trait Architecture: Send + Sync {
    /// Head outputs for the tasks listed in `tasks` (indices into the run's task list), in
    /// that order.
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>>;

    /// Every parameter, tagged with its owner: `Task(t)` when only task t's loss reaches
    /// it, `Shared` otherwise (the parameters gradient-weighting methods operate on).
    fn params(&self) -> &ParamStore;
}

/// The designs a suite can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Design {
    /// Single-task learning: one network per task.
    Stl,
    /// Hard parameter sharing: one encoder, one head per task.
    Hps,
    /// Cross-stitch networks: one column per task, learned linear mixing after each stage.
    CrossStitch,
    /// Multi-task attention network: shared trunk, per-task soft attention per stage.
    Mtan,
    /// Multi-gate mixture of experts: shared experts, one softmax gate per task.
    Mmoe,
    /// Customized gate control: shared plus task-specific experts, one gate per task.
    Cgc,
    /// Progressive layered extraction: CGC applied stage by stage.
    Ple,
}

impl Design {
    pub const NAMES: [&'static str; 7] = ["stl", "hps", "cross-stitch", "mtan", "mmoe", "cgc", "ple"];

    pub fn as_str(self) -> &'static str {
        match self {
            Design::Stl => "stl",
            Design::Hps => "hps",
            Design::CrossStitch => "cross-stitch",
            Design::Mtan => "mtan",
            Design::Mmoe => "mmoe",
            Design::Cgc => "cgc",
            Design::Ple => "ple",
        }
    }
}

impl std::fmt::Display for Design {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Expert counts of the mixture-of-experts designs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpertConfig {
    /// MMoE: number of shared experts.
    #[serde(default = "three")]
    pub experts: usize,
    /// CGC / PLE: shared experts per stage.
    #[serde(default = "one")]
    pub shared_experts: usize,
    /// CGC / PLE: experts of each task per stage.
    #[serde(default = "one")]
    pub task_experts: usize,
}

fn three() -> usize {
    3
}
fn one() -> usize {
    1
}

impl Default for ExpertConfig {
    fn default() -> Self {
        ExpertConfig { experts: 3, shared_experts: 1, task_experts: 1 }
    }
}

/// What a design needs to know to build itself.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub backbone: BackboneKind,
    pub width: usize,
    pub in_channels: usize,
    /// Input height and width (the gates of the expert designs read the flattened image).
    pub input_size: (usize, usize),
    /// One head per task, in task order.
    pub heads: Vec<HeadSpec>,
    pub experts: ExpertConfig,
}

impl ModelSpec {
    pub fn tasks(&self) -> usize {
        self.heads.len()
    }
}

/// Builds `design` with weights drawn from `seed`.
pub fn build(design: Design, spec: &ModelSpec, seed: u64, device: &Device) -> Result<Box<dyn Architecture>> {
    let pb = ParamBuilder::new(seed, device);
    Ok(match design {
        Design::Stl => Box::new(Stl::new(&pb, spec)?),
        Design::Hps => Box::new(Hps::new(&pb, spec)?),
        Design::CrossStitch => Box::new(CrossStitch::new(&pb, spec, 0.9)?),
        Design::Mtan => Box::new(Mtan::new(&pb, spec)?),
        Design::Mmoe => Box::new(Mmoe::new(&pb, spec)?),
        Design::Cgc => Box::new(Cgc::new(&pb, spec)?),
        Design::Ple => Box::new(Ple::new(&pb, spec)?),
    })
}

/// One head per task, owned by its task, reading levels with `channels`.
fn task_heads(pb: &ParamBuilder, spec: &ModelSpec, channels: &[usize]) -> Result<Vec<Head>> {
    spec.heads.iter().enumerate().map(|(t, &h)| Head::new(&pb.sub(&format!("head{t}")).owned_by(Owner::Task(t)), h, channels)).collect()
}

/// A per-sample convex combination `sum_e g[:, e] * maps[e]` of same-shaped NCHW maps.
fn mix(maps: &[Tensor], gates: &Tensor) -> Result<Tensor> {
    let mut out: Option<Tensor> = None;
    for (e, m) in maps.iter().enumerate() {
        let g = gates.narrow(1, e, 1)?.reshape((m.dim(0)?, 1, 1, 1))?;
        let term = m.broadcast_mul(&g)?;
        out = Some(match out {
            Some(o) => (o + term)?,
            None => term,
        });
    }
    out.ok_or_else(|| crate::Error::Invalid("a mixture needs at least one expert".into()))
}
