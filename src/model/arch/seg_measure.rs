//! The segmentation-plus-measurement network of Sobhaninia et al. ("Fetal ultrasound image
//! segmentation for measuring biometric parameters using multi-task deep learning", EMBC
//! 2019): a LinkNet-style encoder-decoder (Chaurasia & Culurciello 2017: upsampled deeper
//! features are *added* to the skip level rather than concatenated) for the head mask, and
//! a regression output from the encoder's endpoint for the ellipse parameters, trained
//! with the paper's compound loss (Dice + MSE of the parameters: medmtl's segmentation loss
//! and the ellipse task's MSE). Vector tasks read the pooled endpoint through an MLP.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::kernels::upsample_nearest2;
use crate::model::backbone::Backbone;
use crate::model::decoder::fit_to;
use crate::model::layers::{Conv2d, ConvBnRelu};
use crate::model::mlp::Mlp;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::model::head::Head;
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "seg-measure",
    title: "Sobhaninia et al.",
    citation: "Sobhaninia, Rafiei, Emami, Karimi, Najarian, Samavi & Soroushmehr, Fetal ultrasound image segmentation for measuring biometric parameters using multi-task deep learning, EMBC 2019",
    single_task: false,
    construct,
    params: hyper::resolve::<SegMeasureParams>,
};

/// The regression branch's hidden widths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SegMeasureParams {
    /// Hidden widths of the MLP from the pooled endpoint to the measurements.
    pub mlp: Vec<usize>,
}

impl Default for SegMeasureParams {
    fn default() -> Self {
        SegMeasureParams { mlp: vec![64] }
    }
}

impl HyperParams for SegMeasureParams {}

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: SegMeasureParams = hyper::parse("design.seg-measure", table)?;
    Ok(Box::new(SegMeasure::new(pb, spec, &p)?))
}

/// A LinkNet decoder: per level from the deepest up, upsample, 3x3 conv to the skip's
/// width, add the skip, 3x3 conv; then a 1x1 conv to the outputs.
struct LinkDecoder {
    blocks: Vec<[ConvBnRelu; 2]>,
    out: Conv2d,
}

impl LinkDecoder {
    fn new(pb: &ParamBuilder, channels: &[usize], outputs: usize) -> Result<Self> {
        let blocks = (0..channels.len().saturating_sub(1))
            .rev()
            .map(|l| {
                let s = pb.sub(&format!("up{l}"));
                Ok([ConvBnRelu::new(&s.sub("a"), channels[l + 1], channels[l], 3, 1)?, ConvBnRelu::new(&s.sub("b"), channels[l], channels[l], 3, 1)?])
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(LinkDecoder { blocks, out: Conv2d::new(&pb.sub("out"), channels[0], outputs, 1, 1, 0, true)? })
    }

    fn forward(&self, levels: &[Tensor], train: bool) -> Result<Tensor> {
        let mut h = levels[levels.len() - 1].clone();
        for ([a, b], skip) in self.blocks.iter().zip(levels[..levels.len() - 1].iter().rev()) {
            let up = a.forward(&fit_to(&upsample_nearest2(&h)?, skip)?, train)?;
            h = b.forward(&(up + skip)?, train)?;
        }
        self.out.forward(&h)
    }
}

enum MeasureHead {
    Mask(LinkDecoder),
    /// A VAE task's branch, as every design builds it.
    Vae(Box<Head>),
    Measure(Mlp),
}

/// A shared encoder, LinkNet decoders for dense tasks and MLP regressors for vector tasks.
pub struct SegMeasure {
    encoder: Box<dyn Backbone>,
    heads: Vec<MeasureHead>,
    params: ParamStore,
}

impl SegMeasure {
    /// The network for `spec`.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, p: &SegMeasureParams) -> Result<Self> {
        let encoder = spec.backbone.build(&pb.sub("shared"), spec.in_channels, spec.width)?;
        let channels = encoder.stage_channels().to_vec();
        let heads = spec
            .heads
            .iter()
            .enumerate()
            .map(|(t, h)| {
                let hp = pb.sub(&format!("head{t}")).owned_by(Owner::Task(t));
                Ok(if h.vae.is_some() {
                    MeasureHead::Vae(Box::new(Head::new(&hp, *h, &channels)?))
                } else if h.dense {
                    MeasureHead::Mask(LinkDecoder::new(&hp.sub("decoder"), &channels, h.outputs)?)
                } else {
                    MeasureHead::Measure(Mlp::new(&hp.sub("mlp"), channels[channels.len() - 1], &p.mlp, h.outputs)?)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SegMeasure { encoder, heads, params: pb.finish() })
    }
}

impl Architecture for SegMeasure {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let levels = self.encoder.forward_levels(x, train)?;
        tasks
            .iter()
            .map(|&t| match &self.heads[t] {
                MeasureHead::Mask(d) => d.forward(&levels, train),
                MeasureHead::Vae(head) => head.forward(&levels, train),
                MeasureHead::Measure(m) => m.forward_pooled(&levels[levels.len() - 1]),
            })
            .collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
