//! DCAN, the deep contour-aware network (Chen, Qi, Yu & Heng, "DCAN: deep contour-aware
//! networks for accurate gland segmentation", CVPR 2016; MedIA 36, 2017): one shared
//! down-sampling path and, per dense task (the paper's object and contour maps), an
//! up-sampling branch that reads several levels of the encoder, maps each to the task's
//! outputs and fuses them by summation after upsampling to full resolution (FCN-style,
//! without the U-Net's skip concatenations). Vector tasks get a linear head on the pooled
//! deepest level. Contour targets come from the masks (`derive = "contour"`).

use candle_core::Tensor;

use super::{Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, NoParams, ParamTable};
use crate::kernels::upsample_nearest2;
use crate::model::backbone::Backbone;
use crate::model::decoder::fit_to;
use crate::model::layers::{global_avg_pool, Conv2d, ConvBnRelu, Linear};
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::model::head::Head;
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "dcan",
    title: "DCAN",
    citation: "Chen, Qi, Yu & Heng, DCAN: deep contour-aware networks for accurate gland segmentation, CVPR 2016",
    single_task: false,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    hyper::parse::<NoParams>("design.dcan", table)?;
    Ok(Box::new(Dcan::new(pb, spec)?))
}

/// One dense task's branch: per encoder level (all but the full-resolution one) a 3x3
/// conv + BN + ReLU and a 1x1 classifier, upsampled to full size and summed.
struct Branch {
    taps: Vec<(usize, ConvBnRelu, Conv2d)>,
}

impl Branch {
    fn new(pb: &ParamBuilder, channels: &[usize], outputs: usize) -> Result<Self> {
        let taps = (1..channels.len())
            .map(|l| {
                let lp = pb.sub(&format!("level{l}"));
                Ok((l, ConvBnRelu::new(&lp.sub("conv"), channels[l], channels[0], 3, 1)?, Conv2d::new(&lp.sub("out"), channels[0], outputs, 1, 1, 0, true)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Branch { taps })
    }

    fn forward(&self, levels: &[Tensor], train: bool) -> Result<Tensor> {
        let mut total: Option<Tensor> = None;
        for (l, conv, out) in &self.taps {
            let mut h = out.forward(&conv.forward(&levels[*l], train)?)?;
            for _ in 0..*l {
                h = upsample_nearest2(&h)?;
            }
            let h = fit_to(&h, &levels[0])?;
            total = Some(match total {
                Some(t) => (t + h)?,
                None => h,
            });
        }
        total.ok_or_else(|| crate::Error::Invalid("dcan needs an encoder with at least two levels".into()))
    }
}

enum DcanHead {
    Dense(Branch),
    /// A VAE task's branch, as every design builds it.
    Vae(Box<Head>),
    Vector(Linear),
}

/// A shared encoder with a fusing up-sampling branch per dense task.
pub struct Dcan {
    encoder: Box<dyn Backbone>,
    heads: Vec<DcanHead>,
    params: ParamStore,
}

impl Dcan {
    /// The network for `spec`.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec) -> Result<Self> {
        let encoder = spec.backbone.build(&pb.sub("shared"), spec.in_channels, spec.width)?;
        let channels = encoder.stage_channels().to_vec();
        let heads = spec
            .heads
            .iter()
            .enumerate()
            .map(|(t, h)| {
                let hp = pb.sub(&format!("head{t}")).owned_by(Owner::Task(t));
                Ok(if h.vae.is_some() {
                    DcanHead::Vae(Box::new(Head::new(&hp, *h, &channels)?))
                } else if h.dense {
                    DcanHead::Dense(Branch::new(&hp, &channels, h.outputs)?)
                } else {
                    DcanHead::Vector(Linear::new(&hp, channels[channels.len() - 1], h.outputs)?)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Dcan { encoder, heads, params: pb.finish() })
    }
}

impl Architecture for Dcan {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let levels = self.encoder.forward_levels(x, train)?;
        tasks
            .iter()
            .map(|&t| match &self.heads[t] {
                DcanHead::Dense(b) => b.forward(&levels, train),
                DcanHead::Vae(head) => head.forward(&levels, train),
                DcanHead::Vector(l) => l.forward(&global_avg_pool(&levels[levels.len() - 1])?),
            })
            .collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
