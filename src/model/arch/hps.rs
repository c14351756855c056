//! Hard parameter sharing (Caruana, "Multitask learning: a knowledge-based source of
//! inductive bias", ICML 1993; Machine Learning 28, 1997): one encoder shared by every
//! task, one head (linear, or a decoder for dense tasks) per task.

use candle_core::Tensor;

use super::{task_heads, Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, NoParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::params::{ParamBuilder, ParamStore};
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "hps",
    title: "HPS",
    citation: "Caruana, Multitask learning, Machine Learning 28, 1997",
    single_task: false,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    hyper::parse::<NoParams>("design.hps", table)?;
    Ok(Box::new(Hps::new(pb, spec)?))
}

/// One shared backbone, one head per task.
pub struct Hps {
    backbone: Box<dyn Backbone>,
    heads: Vec<Head>,
    params: ParamStore,
}

impl Hps {
    /// The shared encoder and the heads.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec) -> Result<Self> {
        let backbone = spec.backbone.build(&pb.sub("shared"), spec.in_channels, spec.width)?;
        let heads = task_heads(pb, spec, backbone.stage_channels())?;
        Ok(Hps { backbone, heads, params: pb.finish() })
    }
}

impl Architecture for Hps {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let levels = self.backbone.forward_levels(x, train)?;
        self.heads_on(&levels, tasks, train)
    }

    fn shared_representation(&self, x: &Tensor, train: bool) -> Option<Result<Vec<Tensor>>> {
        Some(self.backbone.forward_levels(x, train))
    }

    fn heads_on(&self, levels: &[Tensor], tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        tasks.iter().map(|&t| self.heads[t].forward(levels, train)).collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
