//! Task heads: a linear map from globally pooled features for vector tasks
//! (classification, regression), a U-Net decoder for dense tasks (segmentation,
//! reconstruction).

use candle_core::Tensor;

use super::decoder::Decoder;
use super::layers::{global_avg_pool, ConvBnRelu, Linear};
use super::params::ParamBuilder;
use crate::{Error, Result};

/// What a head needs to know about its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadSpec {
    /// Output channels: per image for vector tasks, per pixel for dense ones.
    pub outputs: usize,
    /// Whether the output is an image (a decoder head) rather than a vector (a linear head).
    pub dense: bool,
    /// Whether the head reads Siamese features of two time points (stacked along the batch)
    /// and fuses them first ([`fuse_time_points`], then a 1x1 convolution per level).
    pub fuse_pairs: bool,
}

impl HeadSpec {
    /// The head a task of `kind` needs.
    pub fn of(kind: &crate::task::TaskKind) -> Self {
        HeadSpec { outputs: kind.outputs(), dense: kind.is_dense(), fuse_pairs: false }
    }
}

/// One task's head over the multi-scale features.
pub struct Head {
    kind: HeadKind,
    /// Siamese heads: per level read, a 1x1 convolution + BN + ReLU from the fused `3c`
    /// channels back to `c`, so the decoder costs what it costs on one image (a decoder over
    /// the fused maps would be three times wider at every level). Without the normalisation
    /// a single-task Siamese network could stay stuck predicting background (seen on 2 of 15
    /// phantom task networks; with it the same seed learns by epoch 3).
    fuse: Option<Vec<ConvBnRelu>>,
}

enum HeadKind {
    /// Global average pooling of the deepest level, then a linear layer.
    Vector(Linear),
    /// A decoder over all levels.
    Dense(Decoder),
}

impl Head {
    /// A decoder for a dense `spec`, else a linear layer on the deepest level; `channels` are
    /// the levels' channels, shallowest first.
    pub fn new(pb: &ParamBuilder, spec: HeadSpec, channels: &[usize]) -> Result<Self> {
        let kind = if spec.dense {
            HeadKind::Dense(Decoder::new(&pb.sub("decoder"), channels, spec.outputs)?)
        } else {
            HeadKind::Vector(Linear::new(pb, channels[channels.len() - 1], spec.outputs)?)
        };
        // A vector head reads the deepest level only, so only that one is fused.
        let first = if spec.dense { 0 } else { channels.len() - 1 };
        let fuse = spec
            .fuse_pairs
            .then(|| {
                (first..channels.len())
                    .map(|l| ConvBnRelu::new(&pb.sub("fuse").sub(&format!("level{l}")), 3 * channels[l], channels[l], 1, 0))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        Ok(Head { kind, fuse })
    }

    /// The task's output from its multi-scale features (shallowest level first).
    pub fn forward(&self, levels: &[Tensor], train: bool) -> Result<Tensor> {
        let Some(fuse) = &self.fuse else { return self.forward_fused(levels, train) };
        let first = levels.len() - fuse.len();
        let mut fused: Vec<Tensor> = levels[..first].to_vec();
        for (level, conv) in levels[first..].iter().zip(fuse) {
            fused.push(conv.forward(&fuse_time_points(level)?, train)?);
        }
        self.forward_fused(&fused, train)
    }

    fn forward_fused(&self, levels: &[Tensor], train: bool) -> Result<Tensor> {
        match &self.kind {
            HeadKind::Vector(linear) => linear.forward(&global_avg_pool(&levels[levels.len() - 1])?),
            HeadKind::Dense(decoder) => decoder.forward(levels, train),
        }
    }

    /// Whether this is a decoder head.
    pub fn is_dense(&self) -> bool {
        matches!(self.kind, HeadKind::Dense(_))
    }
}

/// `[f_t0, f_t1, f_t1 - f_t0]` along channels of a level whose batch holds the baseline
/// half first and the follow-up half second.
pub fn fuse_time_points(level: &Tensor) -> Result<Tensor> {
    let n = level.dim(0)?;
    if n % 2 != 0 {
        return Err(Error::Invalid(format!("a Siamese feature level has an odd batch of {n}: the two time points must be stacked")));
    }
    let (before, after) = (level.narrow(0, 0, n / 2)?, level.narrow(0, n / 2, n / 2)?);
    let diff = (&after - &before)?;
    Ok(Tensor::cat(&[&before, &after, &diff], 1)?)
}
