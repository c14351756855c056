//! Single-task learning (STL): one complete network per task, nothing shared. The baseline
//! that delta_m and every paired comparison refer to.

use candle_core::Tensor;

use super::{Architecture, ModelSpec};
use crate::model::backbone::Backbone;
use crate::model::head::LinearHead;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::Result;

pub struct Stl {
    columns: Vec<(Box<dyn Backbone>, LinearHead)>,
    params: ParamStore,
}

impl Stl {
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec) -> Result<Self> {
        let mut columns = Vec::with_capacity(spec.task_outputs.len());
        for (t, &outputs) in spec.task_outputs.iter().enumerate() {
            let col = pb.sub(&format!("task{t}")).owned_by(Owner::Task(t));
            let backbone = spec.backbone.build(&col.sub("backbone"), spec.in_channels, spec.width)?;
            let head = LinearHead::new(&col.sub("head"), backbone.out_features(), outputs)?;
            columns.push((backbone, head));
        }
        Ok(Stl { columns, params: pb.finish() })
    }
}

impl Architecture for Stl {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        tasks
            .iter()
            .map(|&t| {
                let (backbone, head) = &self.columns[t];
                head.forward(&backbone.forward(x, train)?)
            })
            .collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
