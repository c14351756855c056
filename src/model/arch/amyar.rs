//! The three-task network of Amyar, Modzelewski, Li & Ruan ("Multi-task deep learning based
//! CT imaging analysis for COVID-19 pneumonia: classification and segmentation", Computers
//! in Biology and Medicine 126:104037, 2020): one common encoder, a decoder per dense task
//! (the paper's segmentation and reconstruction decoders) and an MLP classifier on the
//! shared encoding for every vector task. The paper's widths were not read; the MLP's
//! hidden widths are medmtl's and settable.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::{Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::decoder::Decoder;
use crate::model::mlp::Mlp;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::model::head::Head;
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "amyar",
    title: "Amyar et al.",
    citation: "Amyar, Modzelewski, Li & Ruan, Multi-task deep learning based CT imaging analysis for COVID-19 pneumonia: classification and segmentation, Comput Biol Med 2020",
    single_task: false,
    construct,
    params: hyper::resolve::<AmyarParams>,
};

/// The classifier's hidden widths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmyarParams {
    /// Hidden widths of the MLP classifier.
    pub mlp: Vec<usize>,
}

impl Default for AmyarParams {
    fn default() -> Self {
        AmyarParams { mlp: vec![128, 64] }
    }
}

impl HyperParams for AmyarParams {}

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: AmyarParams = hyper::parse("design.amyar", table)?;
    Ok(Box::new(Amyar::new(pb, spec, &p)?))
}

enum AmyarHead {
    Decoder(Decoder),
    /// A VAE task's branch, as every design builds it.
    Vae(Box<Head>),
    Classifier(Mlp),
}

/// One encoder shared by every task: decoders for dense tasks, MLPs for vector tasks.
pub struct Amyar {
    encoder: Box<dyn Backbone>,
    heads: Vec<AmyarHead>,
    params: ParamStore,
}

impl Amyar {
    /// The network for `spec`.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, p: &AmyarParams) -> Result<Self> {
        let encoder = spec.backbone.build(&pb.sub("shared"), spec.in_channels, spec.width)?;
        let channels = encoder.stage_channels().to_vec();
        let heads = spec
            .heads
            .iter()
            .enumerate()
            .map(|(t, h)| {
                let hp = pb.sub(&format!("head{t}")).owned_by(Owner::Task(t));
                Ok(if h.vae.is_some() {
                    AmyarHead::Vae(Box::new(Head::new(&hp, *h, &channels)?))
                } else if h.dense {
                    AmyarHead::Decoder(Decoder::new(&hp.sub("decoder"), &channels, h.outputs)?)
                } else {
                    AmyarHead::Classifier(Mlp::new(&hp.sub("mlp"), channels[channels.len() - 1], &p.mlp, h.outputs)?)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Amyar { encoder, heads, params: pb.finish() })
    }
}

impl Architecture for Amyar {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let levels = self.encoder.forward_levels(x, train)?;
        tasks
            .iter()
            .map(|&t| match &self.heads[t] {
                AmyarHead::Decoder(d) => d.forward(&levels, train),
                AmyarHead::Vae(head) => head.forward(&levels, train),
                AmyarHead::Classifier(mlp) => mlp.forward_pooled(&levels[levels.len() - 1]),
            })
            .collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
