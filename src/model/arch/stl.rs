//! Single-task learning (STL): one complete network per task, nothing shared. The baseline
//! that delta_m and every paired comparison refer to.

use candle_core::Tensor;

use super::{task_heads, Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, NoParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "stl",
    title: "STL",
    citation: "single-task learning: one network per task",
    single_task: true,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    hyper::parse::<NoParams>("design.stl", table)?;
    Ok(Box::new(Stl::new(pb, spec)?))
}

/// One backbone and one head per task.
pub struct Stl {
    columns: Vec<Box<dyn Backbone>>,
    heads: Vec<Head>,
    params: ParamStore,
}

impl Stl {
    /// One column per task.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec) -> Result<Self> {
        let columns = (0..spec.tasks())
            .map(|t| spec.backbone.build(&pb.sub(&format!("task{t}")).owned_by(Owner::Task(t)), spec.in_channels, spec.width))
            .collect::<Result<Vec<_>>>()?;
        let channels = columns[0].stage_channels().to_vec();
        let heads = task_heads(pb, spec, &channels)?;
        Ok(Stl { columns, heads, params: pb.finish() })
    }
}

impl Architecture for Stl {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        tasks.iter().map(|&t| self.heads[t].forward(&self.columns[t].forward_levels(x, train)?, train)).collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }

    fn task_encoder_levels(&self, x: &Tensor, task: usize) -> Option<Result<Vec<Tensor>>> {
        Some(self.columns.get(task)?.forward_levels(x, false))
    }
}
