//! Multi-task attention network (Liu, Johns & Davison, "End-to-end multi-task learning
//! with attention", CVPR 2019): a shared trunk plus, for every task, a soft attention module
//! at every stage. At stage s the module sees the trunk's features and the task's attended
//! features from stage s-1 (projected and pooled to this stage's size), and outputs a mask
//! in (0, 1) that selects the task's features: `t_s = sigmoid(g_s([f_s, p(t_{s-1})])) * f_s`,
//! where `p` pools to this stage's resolution and projects with a 3x3 conv + BN + ReLU.
//! The masks are task-owned; the trunk is shared.

use candle_core::Tensor;

use super::{task_heads, Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, NoParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::decoder::fit_to;
use crate::model::head::Head;
use crate::model::layers::{max_pool2, Conv2d, ConvBnRelu};
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "mtan",
    title: "MTAN",
    citation: "Liu, Johns & Davison, End-to-end multi-task learning with attention, CVPR 2019",
    single_task: false,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    hyper::parse::<NoParams>("design.mtan", table)?;
    Ok(Box::new(Mtan::new(pb, spec)?))
}

/// The attention of one task at one stage.
struct AttentionModule {
    /// Projects the previous stage's task features to this stage's channels.
    project: Option<ConvBnRelu>,
    hidden: ConvBnRelu,
    mask: Conv2d,
}

impl AttentionModule {
    fn new(pb: &ParamBuilder, c_prev: Option<usize>, c: usize) -> Result<Self> {
        let project = c_prev.map(|cp| ConvBnRelu::new(&pb.sub("project"), cp, c, 3, 1)).transpose()?;
        let c_in = if c_prev.is_some() { 2 * c } else { c };
        Ok(AttentionModule {
            project,
            hidden: ConvBnRelu::new(&pb.sub("hidden"), c_in, c, 1, 0)?,
            mask: Conv2d::new(&pb.sub("mask"), c, c, 1, 1, 0, true)?,
        })
    }

    /// The mask in (0, 1) for shared features `f` given the task's previous features.
    fn mask(&self, f: &Tensor, previous: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let input = match (previous, &self.project) {
            (Some(prev), Some(project)) => {
                // Pool first, then project: the 3x3 convolution runs at the coarser
                // resolution (4x cheaper), as MTAN's task blocks feed the next scale.
                let p = fit_to(&project.forward(&max_pool2(prev)?, train)?, f)?;
                Tensor::cat(&[f, &p], 1)?
            }
            _ => f.clone(),
        };
        Ok(candle_nn::ops::sigmoid(&self.mask.forward(&self.hidden.forward(&input, train)?)?)?)
    }
}

/// A shared trunk with per-task attention at every stage.
pub struct Mtan {
    trunk: Box<dyn Backbone>,
    attention: Vec<Vec<AttentionModule>>,
    heads: Vec<Head>,
    params: ParamStore,
}

impl Mtan {
    /// The shared trunk and every task's attention modules and head.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec) -> Result<Self> {
        let trunk = spec.backbone.build(&pb.sub("shared"), spec.in_channels, spec.width)?;
        let channels = trunk.stage_channels().to_vec();
        let attention = (0..spec.tasks())
            .map(|t| {
                let tp = pb.sub(&format!("attention{t}")).owned_by(Owner::Task(t));
                (0..channels.len())
                    .map(|s| AttentionModule::new(&tp.sub(&format!("stage{s}")), s.checked_sub(1).map(|p| channels[p]), channels[s]))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let heads = task_heads(pb, spec, &channels)?;
        Ok(Mtan { trunk, attention, heads, params: pb.finish() })
    }

    /// Task `t`'s attention masks and attended features at every stage.
    fn task_levels(&self, shared: &[Tensor], t: usize, train: bool) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
        let mut masks = Vec::with_capacity(shared.len());
        let mut levels: Vec<Tensor> = Vec::with_capacity(shared.len());
        for (s, f) in shared.iter().enumerate() {
            let m = self.attention[t][s].mask(f, levels.last(), train)?;
            levels.push((&m * f)?);
            masks.push(m);
        }
        Ok((masks, levels))
    }

    /// The attention masks of every task at every stage (for inspection and tests).
    pub fn attention_masks(&self, x: &Tensor, train: bool) -> Result<Vec<Vec<Tensor>>> {
        let shared = self.trunk.forward_levels(x, train)?;
        (0..self.attention.len()).map(|t| Ok(self.task_levels(&shared, t, train)?.0)).collect()
    }
}

impl Architecture for Mtan {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let shared = self.trunk.forward_levels(x, train)?;
        tasks
            .iter()
            .map(|&t| {
                let (_, levels) = self.task_levels(&shared, t, train)?;
                self.heads[t].forward(&levels, train)
            })
            .collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
