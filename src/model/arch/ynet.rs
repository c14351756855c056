//! Y-Net (Mehta, Mercan, Bartlett, Weaver, Elmore & Shapiro, "Y-Net: joint segmentation and
//! classification for diagnosis of breast biopsy images", MICCAI 2018): a segmentation
//! network whose diagnostic branch reads the deepest encoder features only, through extra
//! encoder stages, global average pooling and an MLP (`stage2/Model.py` of the authors'
//! code: two more encoding stages, then FC 128 -> 64 -> classes). Dense tasks keep the
//! U-Net decoder. The paper trains in two stages, segmentation first, then jointly:
//! `seg_only_epochs` reproduces that (the vector tasks' branch then sees detached features,
//! so their losses do not move the shared encoder).

use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::decoder::Decoder;
use crate::model::layers::ConvBnRelu;
use crate::model::mlp::Mlp;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::model::head::Head;
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "ynet",
    title: "Y-Net",
    citation: "Mehta, Mercan, Bartlett, Weaver, Elmore & Shapiro, Y-Net: joint segmentation and classification for diagnosis of breast biopsy images, MICCAI 2018",
    single_task: false,
    construct,
    params: hyper::resolve::<YNetParams>,
};

/// Y-Net's hyper-parameters (the authors' code's branch; medmtl's schedule default off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct YNetParams {
    /// Extra encoding stages (3x3 stride-2 conv + 3x3 conv) of the diagnostic branch.
    pub branch_stages: usize,
    /// Hidden widths of the branch's MLP.
    pub mlp: Vec<usize>,
    /// First epochs trained on the dense (segmentation) tasks alone; 0 trains jointly
    /// from the start.
    pub seg_only_epochs: usize,
}

impl Default for YNetParams {
    fn default() -> Self {
        YNetParams { branch_stages: 2, mlp: vec![128, 64], seg_only_epochs: 0 }
    }
}

impl HyperParams for YNetParams {}

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: YNetParams = hyper::parse("design.ynet", table)?;
    Ok(Box::new(YNet::new(pb, spec, &p)?))
}

/// One task's head: the decoder for dense tasks, the diagnostic branch for vector tasks.
enum YHead {
    Dense(Decoder),
    /// A VAE task's branch, as every design builds it.
    Vae(Box<Head>),
    Branch { stages: Vec<[ConvBnRelu; 2]>, mlp: Mlp },
}

/// A shared encoder, U-Net decoders for dense tasks and bottleneck branches for vector tasks.
pub struct YNet {
    encoder: Box<dyn Backbone>,
    heads: Vec<YHead>,
    seg_only_epochs: usize,
    epoch: AtomicUsize,
    params: ParamStore,
}

impl YNet {
    /// The network for `spec` with the branch of `p`.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, p: &YNetParams) -> Result<Self> {
        let encoder = spec.backbone.build(&pb.sub("shared"), spec.in_channels, spec.width)?;
        let channels = encoder.stage_channels().to_vec();
        let deep = channels[channels.len() - 1];
        let heads = spec
            .heads
            .iter()
            .enumerate()
            .map(|(t, h)| {
                let hp = pb.sub(&format!("head{t}")).owned_by(Owner::Task(t));
                Ok(if h.vae.is_some() {
                    YHead::Vae(Box::new(Head::new(&hp, *h, &channels)?))
                } else if h.dense {
                    YHead::Dense(Decoder::new(&hp.sub("decoder"), &channels, h.outputs)?)
                } else {
                    let stages = (0..p.branch_stages)
                        .map(|s| {
                            let sp = hp.sub(&format!("stage{s}"));
                            Ok([ConvBnRelu::with_stride(&sp.sub("down"), deep, deep, 3, 2, 1)?, ConvBnRelu::new(&sp.sub("conv"), deep, deep, 3, 1)?])
                        })
                        .collect::<Result<Vec<_>>>()?;
                    YHead::Branch { stages, mlp: Mlp::new(&hp.sub("mlp"), deep, &p.mlp, h.outputs)? }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(YNet { encoder, heads, seg_only_epochs: p.seg_only_epochs, epoch: AtomicUsize::new(0), params: pb.finish() })
    }
}

impl Architecture for YNet {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let levels = self.encoder.forward_levels(x, train)?;
        let deepest = &levels[levels.len() - 1];
        let joint = !train || self.epoch.load(Ordering::Relaxed) >= self.seg_only_epochs;
        tasks
            .iter()
            .map(|&t| match &self.heads[t] {
                YHead::Dense(decoder) => decoder.forward(&levels, train),
                YHead::Vae(head) => head.forward(&levels, train),
                YHead::Branch { stages, mlp } => {
                    let mut h = if joint { deepest.clone() } else { deepest.detach() };
                    for [down, conv] in stages {
                        h = conv.forward(&down.forward(&h, train)?, train)?;
                    }
                    mlp.forward_pooled(&h)
                }
            })
            .collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }

    fn start_epoch(&self, epoch: usize) {
        self.epoch.store(epoch, Ordering::Relaxed);
    }
}
