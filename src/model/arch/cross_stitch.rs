//! Cross-stitch networks (Misra, Shrivastava, Gupta & Hebert, "Cross-stitch networks for
//! multi-task learning", CVPR 2016): one encoder column per task; after every stage a
//! learned `T x T` unit mixes the columns' activations, `x~_t = sum_u a_tu x_u`. Units start
//! near identity (`a_tt = 0.9`, the rest sharing 0.1, one of the paper's initialisations)
//! so training begins close to independent columns.

use candle_core::Tensor;

use serde::{Deserialize, Serialize};

use super::{task_heads, Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::params::{live, ParamBuilder, ParamStore};
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "cross-stitch",
    title: "Cross-stitch",
    citation: "Misra, Shrivastava, Gupta & Hebert, Cross-stitch networks for multi-task learning, CVPR 2016",
    single_task: false,
    construct,
    params: hyper::resolve::<CrossStitchParams>,
};

/// Cross-stitch's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrossStitchParams {
    /// Initial diagonal of every unit (the off-diagonal entries share the rest of 1).
    pub self_weight: f64,
}

impl Default for CrossStitchParams {
    fn default() -> Self {
        CrossStitchParams { self_weight: 0.9 }
    }
}

impl HyperParams for CrossStitchParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require((0.0..=1.0).contains(&self.self_weight), "self_weight", "in [0, 1]", self.self_weight)
    }
}

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: CrossStitchParams = hyper::parse("design.cross-stitch", table)?;
    Ok(Box::new(CrossStitch::new(pb, spec, p.self_weight as f32)?))
}

/// Task columns joined by cross-stitch units after every stage.
pub struct CrossStitch {
    columns: Vec<Box<dyn Backbone>>,
    units: Vec<Tensor>,
    heads: Vec<Head>,
    params: ParamStore,
}

impl CrossStitch {
    /// Columns and units, with `self_weight` on each unit's diagonal (1.0 = exactly
    /// independent columns at the start).
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, self_weight: f32) -> Result<Self> {
        let t = spec.tasks();
        // Every task's gradient reaches every column through the units: all are shared.
        let columns = (0..t)
            .map(|i| spec.backbone.build(&pb.sub(&format!("column{i}")), spec.in_channels, spec.width))
            .collect::<Result<Vec<_>>>()?;
        let stages = columns[0].stage_channels().len();
        let other = if t > 1 { (1.0 - self_weight) / (t - 1) as f32 } else { 0.0 };
        let init: Vec<f32> = (0..t * t).map(|k| if k / t == k % t { self_weight } else { other }).collect();
        let units =
            (0..stages).map(|s| pb.sub("stitch").values(&format!("stage{s}"), &[t, t], init.clone())).collect::<Result<Vec<_>>>()?;
        let channels = columns[0].stage_channels().to_vec();
        let heads = task_heads(pb, spec, &channels)?;
        Ok(CrossStitch { columns, units, heads, params: pb.finish() })
    }

    /// Every column's stitched levels (columns must all run: each feeds every other).
    fn levels(&self, x: &Tensor, train: bool) -> Result<Vec<Vec<Tensor>>> {
        let t = self.columns.len();
        let mut inputs = vec![x.clone(); t];
        let mut levels: Vec<Vec<Tensor>> = vec![Vec::new(); t];
        for (s, unit) in self.units.iter().enumerate() {
            let outs = self.columns.iter().zip(&inputs).map(|(c, h)| c.forward_stage(s, h, train)).collect::<Result<Vec<_>>>()?;
            // x~_i = sum_j a_ij x_j as scalar-times-map sums: elementwise passes only (a
            // T x T by T x (N C H W) matrix product with k = T is slow on CPU).
            let unit = live(unit);
            for (i, level) in levels.iter_mut().enumerate() {
                let mut mixed: Option<Tensor> = None;
                for (j, out) in outs.iter().enumerate() {
                    let term = out.broadcast_mul(&unit.get(i)?.get(j)?)?;
                    mixed = Some(match mixed {
                        Some(m) => (m + term)?,
                        None => term,
                    });
                }
                let m = mixed.ok_or_else(|| crate::Error::Invalid("cross-stitch needs at least one task".into()))?;
                inputs[i] = m.clone();
                level.push(m);
            }
        }
        Ok(levels)
    }
}

impl Architecture for CrossStitch {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let levels = self.levels(x, train)?;
        tasks.iter().map(|&t| self.heads[t].forward(&levels[t], train)).collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
