//! The ChestX-ray8 classifier (Wang, Peng, Lu, Lu, Bagheri & Summers, "ChestX-ray8:
//! hospital-scale chest X-ray database and benchmarks on weakly-supervised classification
//! and localization of common thorax diseases", CVPR 2017) for homogeneous label sets: a
//! shared CNN, a transition layer (1x1 conv + BN + ReLU) on its deepest features,
//! log-sum-exp pooling and one prediction layer per label, each label a task of its own.
//! LSE pooling, `(1/r) log(mean exp(r x))`, moves between average (`r -> 0`) and max
//! pooling (`r -> inf`); the paper's best `r` was 10. Dense tasks keep the U-Net decoder.

use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use super::{Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::decoder::Decoder;
use crate::model::layers::{ConvBnRelu, Linear};
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::model::head::Head;
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "label-heads",
    title: "ChestX-ray8",
    citation: "Wang, Peng, Lu, Lu, Bagheri & Summers, ChestX-ray8: hospital-scale chest X-ray database and benchmarks on weakly-supervised classification and localization of common thorax diseases, CVPR 2017",
    single_task: false,
    construct,
    params: hyper::resolve::<LabelHeadsParams>,
};

/// The pooling's sharpness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabelHeadsParams {
    /// LSE pooling's `r`.
    pub lse_r: f64,
}

impl Default for LabelHeadsParams {
    fn default() -> Self {
        LabelHeadsParams { lse_r: 10.0 }
    }
}

impl HyperParams for LabelHeadsParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.lse_r > 0.0 && self.lse_r.is_finite(), "lse_r", "> 0", self.lse_r)
    }
}

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: LabelHeadsParams = hyper::parse("design.label-heads", table)?;
    Ok(Box::new(LabelHeads::new(pb, spec, &p)?))
}

/// Log-sum-exp pooling of NCHW features to NC, computed with the maximum factored out.
pub fn lse_pool(x: &Tensor, r: f64) -> Result<Tensor> {
    let flat = x.flatten_from(2)?;
    let max = flat.max_keepdim(D::Minus1)?.detach();
    let pixels = flat.dim(2)? as f64;
    let scaled = ((flat.broadcast_sub(&max)? * r)?.exp()?.sum_keepdim(D::Minus1)? / pixels)?;
    Ok((max + (scaled.log()? / r)?)?.squeeze(D::Minus1)?)
}

enum LabelHead {
    Dense(Decoder),
    /// A VAE task's branch, as every design builds it.
    Vae(Box<Head>),
    Label(Linear),
}

/// A shared CNN and transition layer, LSE pooling and one prediction layer per label.
pub struct LabelHeads {
    encoder: Box<dyn Backbone>,
    transition: ConvBnRelu,
    heads: Vec<LabelHead>,
    r: f64,
    params: ParamStore,
}

impl LabelHeads {
    /// The network for `spec`.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, p: &LabelHeadsParams) -> Result<Self> {
        let encoder = spec.backbone.build(&pb.sub("shared"), spec.in_channels, spec.width)?;
        let channels = encoder.stage_channels().to_vec();
        let deep = channels[channels.len() - 1];
        let transition = ConvBnRelu::new(&pb.sub("shared.transition"), deep, deep, 1, 0)?;
        let heads = spec
            .heads
            .iter()
            .enumerate()
            .map(|(t, h)| {
                let hp = pb.sub(&format!("head{t}")).owned_by(Owner::Task(t));
                Ok(if h.vae.is_some() {
                    LabelHead::Vae(Box::new(Head::new(&hp, *h, &channels)?))
                } else if h.dense { LabelHead::Dense(Decoder::new(&hp.sub("decoder"), &channels, h.outputs)?) } else { LabelHead::Label(Linear::new(&hp, deep, h.outputs)?) })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(LabelHeads { encoder, transition, heads, r: p.lse_r, params: pb.finish() })
    }
}

impl Architecture for LabelHeads {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let levels = self.encoder.forward_levels(x, train)?;
        let mut pooled: Option<Tensor> = None;
        let mut out = Vec::with_capacity(tasks.len());
        for &t in tasks {
            out.push(match &self.heads[t] {
                LabelHead::Dense(d) => d.forward(&levels, train)?,
                LabelHead::Vae(head) => head.forward(&levels, train)?,
                LabelHead::Label(l) => {
                    if pooled.is_none() {
                        pooled = Some(lse_pool(&self.transition.forward(&levels[levels.len() - 1], train)?, self.r)?);
                    }
                    l.forward(pooled.as_ref().expect("set above"))?
                }
            });
        }
        Ok(out)
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lse_pooling_lies_between_mean_and_max() {
        let d = candle_core::Device::Cpu;
        let x = Tensor::new(&[[[[1f32, 2.], [3., 10.]]]], &d).unwrap();
        let at = |r: f64| lse_pool(&x, r).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((at(1e-4) - 4.0).abs() < 1e-3, "r -> 0: the mean");
        assert!((at(100.0) - 10.0).abs() < 0.02, "r large: the max, {}", at(100.0));
        assert!(at(10.0) > 4.0 && at(10.0) < 10.0);
    }
}
