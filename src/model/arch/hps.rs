//! Hard parameter sharing (Caruana, "Multitask learning: a knowledge-based source of
//! inductive bias", ICML 1993; Machine Learning 28, 1997): one backbone shared by every
//! task, one linear head per task.

use candle_core::Tensor;

use super::{Architecture, ModelSpec};
use crate::model::backbone::Backbone;
use crate::model::head::LinearHead;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::Result;

pub struct Hps {
    backbone: Box<dyn Backbone>,
    heads: Vec<LinearHead>,
    params: ParamStore,
}

impl Hps {
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec) -> Result<Self> {
        let backbone = spec.backbone.build(&pb.sub("shared"), spec.in_channels, spec.width)?;
        let heads = spec
            .task_outputs
            .iter()
            .enumerate()
            .map(|(t, &outputs)| {
                LinearHead::new(&pb.sub(&format!("head{t}")).owned_by(Owner::Task(t)), backbone.out_features(), outputs)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Hps { backbone, heads, params: pb.finish() })
    }
}

impl Architecture for Hps {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let features = self.backbone.forward(x, train)?;
        tasks.iter().map(|&t| self.heads[t].forward(&features)).collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
