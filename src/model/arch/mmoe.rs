//! Multi-gate mixture of experts (MMoE; Ma, Zhao, Yi, Chen, Hong & Chi, "Modeling task
//! relationships in multi-task learning with multi-gate mixture-of-experts", KDD 2018):
//! shared whole-encoder experts, one softmax gate per task reading the flattened image.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::experts::{forward_gated, ImageGate};
use super::{task_heads, Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "mmoe",
    title: "MMoE",
    citation: "Ma, Zhao, Yi, Chen, Hong & Chi, Modeling task relationships in multi-task learning with multi-gate mixture-of-experts, KDD 2018",
    single_task: false,
    construct,
    params: hyper::resolve::<MmoeParams>,
};

/// MMoE's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MmoeParams {
    /// Number of shared experts.
    pub experts: usize,
}

impl Default for MmoeParams {
    fn default() -> Self {
        MmoeParams { experts: 3 }
    }
}

impl HyperParams for MmoeParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.experts >= 1, "experts", "at least 1", self.experts)
    }
}

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: MmoeParams = hyper::parse("design.mmoe", table)?;
    Ok(Box::new(Mmoe::new(pb, spec, p.experts)?))
}

/// Multi-gate mixture of experts.
pub struct Mmoe {
    experts: Vec<Box<dyn Backbone>>,
    gates: Vec<ImageGate>,
    heads: Vec<Head>,
    params: ParamStore,
}

impl Mmoe {
    /// `e` shared experts and one gate per task.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, e: usize) -> Result<Self> {
        let experts = (0..e)
            .map(|i| spec.backbone.build(&pb.sub(&format!("expert{i}")), spec.in_channels, spec.width))
            .collect::<Result<Vec<_>>>()?;
        let gates = (0..spec.tasks())
            .map(|t| ImageGate::new(&pb.sub(&format!("gate{t}")).owned_by(Owner::Task(t)), spec, e))
            .collect::<Result<Vec<_>>>()?;
        let heads = task_heads(pb, spec, experts[0].stage_channels())?;
        Ok(Mmoe { experts, gates, heads, params: pb.finish() })
    }

    /// Task `t`'s gate weights, `N x experts` (rows sum to 1).
    pub fn gate_weights(&self, x: &Tensor, t: usize) -> Result<Tensor> {
        self.gates[t].weights(x)
    }
}

impl Architecture for Mmoe {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        forward_gated(&self.experts, &self.heads, x, tasks, train, |t| self.gates[t].weights(x))
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
