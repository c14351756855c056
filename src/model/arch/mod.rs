//! Multi-task architectures behind one interface, so any design runs with any weighting
//! method, any task set and both data shapes (single-input: all tasks from one batch;
//! multi-input: each task group from its own batch).
//!
//! Every design turns an image batch into per-task multi-scale features (one map per
//! encoder stage); task heads then read the deepest level (vector tasks) or all levels
//! through a decoder (dense tasks). So each design also works in the encoder-decoder form
//! that heterogeneous medical MTL uses (U-Net encoder, segmentation + classification +
//! regression + reconstruction heads).
//!
//! Each design is one file holding its paper, its hyper-parameters and its registry entry;
//! adding a design is that file plus its name in the `register!` list below.

mod experts;
pub mod pairs;

use candle_core::{Device, Tensor};

use super::backbone::{Backbone, BackboneKind};
use super::head::{Head, HeadSpec};
use super::params::{Owner, ParamBuilder, ParamStore};
use crate::hyper::ParamTable;
use crate::registry::{register, Handle, Registry};
use crate::Result;

register!(DesignInfo: stl, hps, cross_stitch, mtan, mmoe, cgc, ple, dselect_k, ltb, ynet, amyar, segresnet_vae, dcan, seg_measure, label_heads);

/// A design a suite can name (`"mtan"`).
pub type Design = Handle<DesignInfo>;

/// A multi-task network.
pub trait Architecture: Send + Sync {
    /// Head outputs for the tasks listed in `tasks` (indices into the run's task list), in
    /// that order.
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>>;

    /// Every parameter, tagged with its owner: `Task(t)` when only task t's loss reaches
    /// it, `Shared` otherwise (the parameters gradient-weighting methods operate on).
    fn params(&self) -> &ParamStore;

    /// Called before each training epoch (0-based), for designs with a schedule (Y-Net's
    /// segmentation-only first stage).
    fn start_epoch(&self, _epoch: usize) {}

    /// A loss term of the design itself from the last training forward, with the task whose
    /// loss it joins (a VAE regulariser joins the segmentation loss it regularises); taken,
    /// so each forward's term is added once.
    fn take_auxiliary_loss(&self) -> Option<(usize, Tensor)> {
        None
    }

    /// The representation every task's head reads, one tensor per encoder level, for the
    /// gradient methods that act on it instead of the shared parameters (`rep_grad`, as
    /// LibMTL's): `None` for designs without one shared representation (per-task columns,
    /// cross-stitch, attention, gated experts).
    fn shared_representation(&self, _x: &Tensor, _train: bool) -> Option<Result<Vec<Tensor>>> {
        None
    }

    /// The heads' outputs for `tasks` on a representation from
    /// [`Architecture::shared_representation`]; `forward(x)` equals
    /// `heads_on(shared_representation(x))`.
    fn heads_on(&self, _representation: &[Tensor], _tasks: &[usize], _train: bool) -> Result<Vec<Tensor>> {
        Err(crate::Error::Invalid("this design has no shared representation for its heads to read".into()))
    }

    /// What the design learned about its own structure (Learning to Branch's tree), written
    /// with the run's results; `None` for designs with a fixed structure.
    fn learned_structure(&self) -> Option<Result<serde_json::Value>> {
        None
    }

    /// The encoder stage outputs of task `task`'s own network on `x` (evaluation mode), for
    /// comparing the representations separately trained networks learn (CKA); `None` for
    /// designs whose tasks share an encoder.
    fn task_encoder_levels(&self, _x: &Tensor, _task: usize) -> Option<Result<Vec<Tensor>>> {
        None
    }
}

/// Builds a design from its parameter builder, specification and hyper-parameter overrides.
pub type Constructor = fn(&ParamBuilder, &ModelSpec, Option<&ParamTable>) -> Result<Box<dyn Architecture>>;

/// A registered design: its name, paper and constructor.
pub struct DesignInfo {
    /// The name suites use (`"cross-stitch"`).
    pub name: &'static str,
    /// The name papers use (`"Cross-stitch"`).
    pub title: &'static str,
    /// The paper that defines the design.
    pub citation: &'static str,
    /// True for single-task learning: one network per task, nothing to weight, each task
    /// selected on its own validation score.
    pub single_task: bool,
    /// Builds the design from a suite's overrides of its hyper-parameters.
    pub construct: Constructor,
    /// The hyper-parameters the design runs with for a suite section's overrides
    /// (validated; the defaults for `None`).
    pub params: fn(&str, Option<&ParamTable>) -> Result<ParamTable>,
}

impl Registry for DesignInfo {
    const WHAT: &'static str = "design";
    fn entries() -> &'static [&'static Self] {
        ENTRIES
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

impl Design {
    /// The suite section of the design's hyper-parameters (`design.mmoe`).
    pub fn section(self) -> String {
        format!("design.{}", self.as_str())
    }

    /// The hyper-parameters the design runs with under `overrides`, checked.
    pub fn resolve_params(self, overrides: Option<&ParamTable>) -> Result<ParamTable> {
        (self.entry().params)(&self.section(), overrides)
    }
}

/// What a design needs to know to build itself.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// The encoder every design is built from.
    pub backbone: BackboneKind,
    /// The encoder's base channel width.
    pub width: usize,
    /// Image channels.
    pub in_channels: usize,
    /// Input height and width (the gates of the expert designs read the flattened image).
    pub input_size: (usize, usize),
    /// One head per task, in task order.
    pub heads: Vec<HeadSpec>,
    /// How a two-time-point input is read (`None`: one image; a pair's time points, if any,
    /// are plain channels).
    pub pairs: Option<self::pairs::PairInput>,
}

impl ModelSpec {
    /// Number of tasks.
    pub fn tasks(&self) -> usize {
        self.heads.len()
    }
}

/// Builds `design` with its default hyper-parameters and weights drawn from `seed`.
pub fn build(design: Design, spec: &ModelSpec, seed: u64, device: &Device) -> Result<Box<dyn Architecture>> {
    build_with(design, spec, None, seed, device)
}

/// Builds `design` with a suite's hyper-parameter overrides.
pub fn build_with(
    design: Design,
    spec: &ModelSpec,
    params: Option<&ParamTable>,
    seed: u64,
    device: &Device,
) -> Result<Box<dyn Architecture>> {
    let spec = &with_vae_grids(spec, device)?;
    let pb = ParamBuilder::new(seed, device);
    match &spec.pairs {
        Some(input) => self::pairs::build_paired(design, &pb, spec, input, params, device),
        None => (design.construct)(&pb, spec, params),
    }
}

/// `spec` with every VAE head's grid set to the encoder's deepest level size, found by a dry
/// pass of an unseeded copy of the encoder.
fn with_vae_grids(spec: &ModelSpec, device: &Device) -> Result<ModelSpec> {
    let mut spec = spec.clone();
    if spec.heads.iter().all(|h| h.vae.is_none()) {
        return Ok(spec);
    }
    if spec.pairs.is_some() {
        return Err(crate::Error::Invalid("a vae task reads one image; it cannot be trained on two-time-point pairs".into()));
    }
    let encoder = spec.backbone.build(&ParamBuilder::new(0, device), spec.in_channels, spec.width)?;
    let grid = deepest_size(encoder.as_ref(), &spec, device)?;
    for head in &mut spec.heads {
        if let Some(v) = head.vae.as_mut() {
            v.grid = grid;
        }
    }
    Ok(spec)
}

/// The height and width of `encoder`'s deepest level for inputs of `spec` (one dry pass).
fn deepest_size(encoder: &dyn Backbone, spec: &ModelSpec, device: &Device) -> Result<(usize, usize)> {
    let _no_grad = super::params::no_grad();
    let x = Tensor::zeros((1, spec.in_channels, spec.input_size.0, spec.input_size.1), candle_core::DType::F32, device)?;
    let levels = encoder.forward_levels(&x, false)?;
    let (_, _, h, w) = levels[levels.len() - 1].dims4()?;
    Ok((h, w))
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
