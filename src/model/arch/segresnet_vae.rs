//! The autoencoder-regularised segmentation network of Myronenko ("3D MRI brain tumor
//! segmentation using autoencoder regularization", BrainLes @ MICCAI 2018; MONAI's
//! `SegResNetVAE`), in 2-D: a shared encoder, a decoder per dense task, and a VAE branch
//! from the encoder's endpoint that reconstructs the input. The branch only regularises
//! training: its loss `0.1 L2 + 0.1 KL` joins the first segmentation task's loss (the
//! paper's `L_dice + 0.1 L_L2 + 0.1 L_KL`; the first task's when no task is dense), and it
//! is not run at inference.
//!
//! `L_L2` is the mean squared reconstruction error; `L_KL` the KL divergence of the latent
//! from the standard normal per sample, divided by the image's pixel count (the paper
//! divides by the number of voxels), so both terms are per-pixel quantities.

use std::sync::Mutex;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{deepest_size, task_heads, Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::model::vae::VaeBranch;
use crate::task::vae_terms;
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "segresnet-vae",
    title: "SegResNet-VAE",
    citation: "Myronenko, 3D MRI brain tumor segmentation using autoencoder regularization, BrainLes @ MICCAI 2018",
    single_task: false,
    construct,
    params: hyper::resolve::<VaeParams>,
};

/// The VAE branch's size and loss weights (the paper's 0.1 and 0.1; its latent of 128).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VaeParams {
    /// Latent dimensions.
    pub latent: usize,
    /// Weight of the reconstruction error.
    pub l2_weight: f64,
    /// Weight of the KL term.
    pub kl_weight: f64,
}

impl Default for VaeParams {
    fn default() -> Self {
        VaeParams { latent: 128, l2_weight: 0.1, kl_weight: 0.1 }
    }
}

impl HyperParams for VaeParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.latent >= 1, "latent", "at least 1", self.latent)?;
        hyper::require(self.l2_weight >= 0.0, "l2_weight", ">= 0", self.l2_weight)?;
        hyper::require(self.kl_weight >= 0.0, "kl_weight", ">= 0", self.kl_weight)
    }
}

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: VaeParams = hyper::parse("design.segresnet-vae", table)?;
    Ok(Box::new(SegResNetVae::new(pb, spec, &p)?))
}

/// A shared encoder with task heads and a training-only VAE branch.
pub struct SegResNetVae {
    encoder: Box<dyn Backbone>,
    heads: Vec<Head>,
    vae: VaeBranch,
    weights: (f64, f64),
    /// The task whose loss the branch's term joins: the first dense task.
    regularised: usize,
    pending: Mutex<Option<Tensor>>,
    params: ParamStore,
}

impl SegResNetVae {
    /// The network for `spec`.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, p: &VaeParams) -> Result<Self> {
        let regularised = spec.heads.iter().position(|h| h.dense).unwrap_or(0);
        let encoder = spec.backbone.build(&pb.sub("shared"), spec.in_channels, spec.width)?;
        let channels = encoder.stage_channels().to_vec();
        let deep = deepest_size(encoder.as_ref(), spec, &pb.device())?;
        let vae = VaeBranch::new(&pb.sub("vae").owned_by(Owner::Task(regularised)), channels[channels.len() - 1], deep, (spec.in_channels, spec.input_size.0, spec.input_size.1), p.latent)?;
        let heads = task_heads(pb, spec, &channels)?;
        Ok(SegResNetVae { encoder, heads, vae, weights: (p.l2_weight, p.kl_weight), regularised, pending: Mutex::new(None), params: pb.finish() })
    }

    /// The branch's loss for input `x` and its deepest features.
    fn branch_loss(&self, x: &Tensor, deep: &Tensor) -> Result<Tensor> {
        let out = self.vae.forward(deep, true)?;
        let (l2, kl) = vae_terms(&out.reconstruction, x, &out.mean, &out.log_var)?;
        Ok(((l2 * self.weights.0)? + (kl * self.weights.1)?)?)
    }
}

impl Architecture for SegResNetVae {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let levels = self.encoder.forward_levels(x, train)?;
        if train && tasks.contains(&self.regularised) {
            let loss = self.branch_loss(x, &levels[levels.len() - 1])?;
            *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(loss);
        }
        tasks.iter().map(|&t| self.heads[t].forward(&levels, train)).collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }

    fn take_auxiliary_loss(&self) -> Option<(usize, Tensor)> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).take().map(|l| (self.regularised, l))
    }
}
