//! Customized gate control (CGC; Tang, Liu, Zhao & Gong, "Progressive layered extraction
//! (PLE): a novel multi-task learning model for personalized recommendations", RecSys
//! 2020): shared plus task-specific whole-encoder experts, each task's gate mixing its own
//! and the shared experts.

use candle_core::Tensor;

use super::experts::{ExtractionParams, ImageGate};
use super::{mix, task_heads, Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "cgc",
    title: "CGC",
    citation: "Tang, Liu, Zhao & Gong, Progressive layered extraction (PLE): a novel multi-task learning model for personalized recommendations, RecSys 2020",
    single_task: false,
    construct,
    params: hyper::resolve::<ExtractionParams>,
};

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: ExtractionParams = hyper::parse("design.cgc", table)?;
    Ok(Box::new(Cgc::new(pb, spec, &p)?))
}

/// Customized gate control: one extraction layer over whole-encoder experts.
pub struct Cgc {
    shared: Vec<Box<dyn Backbone>>,
    own: Vec<Vec<Box<dyn Backbone>>>,
    gates: Vec<ImageGate>,
    heads: Vec<Head>,
    params: ParamStore,
}

impl Cgc {
    /// The shared and task experts of `p`, one gate per task.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, p: &ExtractionParams) -> Result<Self> {
        let (s, k) = (p.shared_experts, p.task_experts);
        let build = |p: &ParamBuilder| spec.backbone.build(p, spec.in_channels, spec.width);
        let shared = (0..s).map(|i| build(&pb.sub(&format!("shared{i}")))).collect::<Result<Vec<_>>>()?;
        let own = (0..spec.tasks())
            .map(|t| {
                let tp = pb.sub(&format!("task{t}")).owned_by(Owner::Task(t));
                (0..k).map(|i| build(&tp.sub(&format!("expert{i}")))).collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let gates = (0..spec.tasks())
            .map(|t| ImageGate::new(&pb.sub(&format!("gate{t}")).owned_by(Owner::Task(t)), spec, k + s))
            .collect::<Result<Vec<_>>>()?;
        let channels = shared.first().or(own[0].first()).map(|b| b.stage_channels().to_vec()).unwrap_or_default();
        let heads = task_heads(pb, spec, &channels)?;
        Ok(Cgc { shared, own, gates, heads, params: pb.finish() })
    }
}

impl Architecture for Cgc {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let shared = self.shared.iter().map(|e| e.forward_levels(x, train)).collect::<Result<Vec<_>>>()?;
        tasks
            .iter()
            .map(|&t| {
                let mut experts = self.own[t].iter().map(|e| e.forward_levels(x, train)).collect::<Result<Vec<_>>>()?;
                experts.extend(shared.iter().cloned());
                let g = self.gates[t].weights(x)?;
                let levels = (0..experts[0].len())
                    .map(|s| mix(&experts.iter().map(|l| l[s].clone()).collect::<Vec<_>>(), &g))
                    .collect::<Result<Vec<_>>>()?;
                self.heads[t].forward(&levels, train)
            })
            .collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
