//! What the mixture-of-experts designs (MMoE, CGC, PLE) share: whole encoders as experts
//! (as LibMTL does for images), per-sample softmax gates, and the expert counts. Gates mix
//! every level of the experts' feature pyramids with the same weights, so dense heads get
//! mixed skip connections too.

use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use super::{mix, ModelSpec};
use crate::hyper::{self, HyperParams};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::layers::{global_avg_pool, Linear};
use crate::model::params::ParamBuilder;
use crate::Result;

/// Expert counts of the extraction designs (CGC, PLE): PLE's paper's smallest setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractionParams {
    /// Shared experts per stage.
    pub shared_experts: usize,
    /// Experts of each task per stage.
    pub task_experts: usize,
}

impl Default for ExtractionParams {
    fn default() -> Self {
        ExtractionParams { shared_experts: 1, task_experts: 1 }
    }
}

impl HyperParams for ExtractionParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(
            self.shared_experts + self.task_experts >= 1,
            "shared_experts + task_experts",
            "at least 1",
            self.shared_experts + self.task_experts,
        )
    }
}

/// A softmax gate over `experts` from the flattened image.
pub(super) struct ImageGate(Linear);

impl ImageGate {
    pub(super) fn new(pb: &ParamBuilder, spec: &ModelSpec, experts: usize) -> Result<Self> {
        let (h, w) = spec.input_size;
        Ok(ImageGate(Linear::new(pb, spec.in_channels * h * w, experts)?))
    }

    pub(super) fn weights(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::softmax(&self.0.forward(&x.flatten_from(1)?)?, D::Minus1)?)
    }
}

/// A gate of one PLE stage: reads the flattened image at the first stage, the globally
/// pooled stage input afterwards.
pub(super) enum StageGate {
    Image(ImageGate),
    Pooled(Linear),
}

impl StageGate {
    pub(super) fn new(pb: &ParamBuilder, spec: &ModelSpec, stage: usize, c_in: usize, experts: usize) -> Result<Self> {
        Ok(if stage == 0 {
            StageGate::Image(ImageGate::new(pb, spec, experts)?)
        } else {
            StageGate::Pooled(Linear::new(pb, c_in, experts)?)
        })
    }

    pub(super) fn weights(&self, input: &Tensor) -> Result<Tensor> {
        match self {
            StageGate::Image(g) => g.weights(input),
            StageGate::Pooled(l) => Ok(candle_nn::ops::softmax(&l.forward(&global_avg_pool(input)?)?, D::Minus1)?),
        }
    }
}

/// Head outputs of a design whose tasks read whole-encoder experts mixed per sample by
/// their own gates (MMoE, DSelect-k): every expert runs once, each task's gate weights
/// (`gate(t)`, `N x experts`) mix every level of their feature pyramids.
pub(super) fn forward_gated(
    experts: &[Box<dyn Backbone>],
    heads: &[Head],
    x: &Tensor,
    tasks: &[usize],
    train: bool,
    gate: impl Fn(usize) -> Result<Tensor>,
) -> Result<Vec<Tensor>> {
    let expert_levels = experts.iter().map(|e| e.forward_levels(x, train)).collect::<Result<Vec<_>>>()?;
    let stages = expert_levels.first().map_or(0, Vec::len);
    tasks
        .iter()
        .map(|&t| {
            let g = gate(t)?;
            let levels = (0..stages)
                .map(|s| mix(&expert_levels.iter().map(|l| l[s].clone()).collect::<Vec<_>>(), &g))
                .collect::<Result<Vec<_>>>()?;
            heads[t].forward(&levels, train)
        })
        .collect()
}
