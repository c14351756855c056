//! Task heads: a linear map from globally pooled features for vector tasks
//! (classification, regression), a U-Net decoder for dense tasks (segmentation,
//! reconstruction).

use candle_core::Tensor;

use super::decoder::Decoder;
use super::layers::{global_avg_pool, Linear};
use super::params::ParamBuilder;
use crate::Result;

/// What a head needs to know about its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadSpec {
    /// Output channels: per image for vector tasks, per pixel for dense ones.
    pub outputs: usize,
    /// Whether the output is an image (a decoder head) rather than a vector (a linear head).
    pub dense: bool,
}

impl HeadSpec {
    /// The head a task of `kind` needs.
    pub fn of(kind: &crate::task::TaskKind) -> Self {
        HeadSpec { outputs: kind.outputs(), dense: kind.is_dense() }
    }
}

/// One task's head over the multi-scale features.
pub enum Head {
    /// Global average pooling of the deepest level, then a linear layer.
    Vector(Linear),
    /// A decoder over all levels.
    Dense(Decoder),
}

impl Head {
    /// A decoder for a dense `spec`, else a linear layer on the deepest level; `channels` are
    /// the levels' channels, shallowest first.
    pub fn new(pb: &ParamBuilder, spec: HeadSpec, channels: &[usize]) -> Result<Self> {
        Ok(if spec.dense {
            Head::Dense(Decoder::new(&pb.sub("decoder"), channels, spec.outputs)?)
        } else {
            Head::Vector(Linear::new(pb, channels[channels.len() - 1], spec.outputs)?)
        })
    }

    /// The task's output from its multi-scale features (shallowest level first).
    pub fn forward(&self, levels: &[Tensor], train: bool) -> Result<Tensor> {
        match self {
            Head::Vector(linear) => linear.forward(&global_avg_pool(&levels[levels.len() - 1])?),
            Head::Dense(decoder) => decoder.forward(levels, train),
        }
    }

    /// Whether this is a decoder head.
    pub fn is_dense(&self) -> bool {
        matches!(self, Head::Dense(_))
    }
}
