//! Task heads: a linear map from globally pooled features for vector tasks
//! (classification, regression), a U-Net decoder for dense tasks (segmentation,
//! reconstruction).

use candle_core::Tensor;

use super::decoder::Decoder;
use super::layers::{global_avg_pool, Linear};
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
    /// and fuses them first ([`fuse_time_points`]).
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
    fuse_pairs: bool,
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
        // Fused Siamese levels hold three maps per encoder channel (t0, t1, t1 - t0).
        let fused: Vec<usize> = channels.iter().map(|c| if spec.fuse_pairs { 3 * c } else { *c }).collect();
        let kind = if spec.dense {
            HeadKind::Dense(Decoder::new(&pb.sub("decoder"), &fused, spec.outputs)?)
        } else {
            HeadKind::Vector(Linear::new(pb, fused[fused.len() - 1], spec.outputs)?)
        };
        Ok(Head { kind, fuse_pairs: spec.fuse_pairs })
    }

    /// The task's output from its multi-scale features (shallowest level first).
    pub fn forward(&self, levels: &[Tensor], train: bool) -> Result<Tensor> {
        if self.fuse_pairs {
            let fused = levels.iter().map(fuse_time_points).collect::<Result<Vec<_>>>()?;
            return self.forward_fused(&fused, train);
        }
        self.forward_fused(levels, train)
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
