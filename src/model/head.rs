//! Task heads: a linear map from globally pooled features for vector tasks
//! (classification, regression), a U-Net decoder for dense tasks (segmentation,
//! reconstruction, denoising), and a variational branch from the deepest level for VAE
//! tasks (a decoder with skip connections would let the image bypass the bottleneck).

use candle_core::Tensor;

use super::decoder::Decoder;
use super::layers::{global_avg_pool, ConvBnRelu, Linear};
use super::params::ParamBuilder;
use super::vae::VaeBranch;
use crate::task::{Generative, TaskKind};
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
    /// A VAE task's branch instead of a decoder.
    pub vae: Option<VaeHead>,
}

/// The shape of a VAE head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VaeHead {
    /// Latent dimensions.
    pub latent: usize,
    /// The reconstructed image: channels, height, width.
    pub image: (usize, usize, usize),
    /// Height and width of the encoder's deepest level, which the branch flattens; set by
    /// [`crate::model::arch::build_with`] from a dry pass of the encoder.
    pub grid: (usize, usize),
}

impl HeadSpec {
    /// The head a task of `kind` needs.
    pub fn of(kind: &TaskKind) -> Self {
        let vae = match kind {
            TaskKind::Reconstruction { channels, generative: Generative::Vae(v) } => {
                Some(VaeHead { latent: v.latent, image: (*channels, v.height, v.width), grid: (1, 1) })
            }
            _ => None,
        };
        HeadSpec { outputs: kind.outputs(), dense: kind.is_dense(), fuse_pairs: false, vae }
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
    /// A variational branch from the deepest level; its output packs the reconstruction, the
    /// latent mean and the log-variance per sample ([`crate::task::unpack_vae`]).
    Vae(VaeBranch),
}

impl Head {
    /// A decoder for a dense `spec`, else a linear layer on the deepest level; `channels` are
    /// the levels' channels, shallowest first.
    pub fn new(pb: &ParamBuilder, spec: HeadSpec, channels: &[usize]) -> Result<Self> {
        let deepest = channels[channels.len() - 1];
        let kind = if let Some(v) = spec.vae {
            HeadKind::Vae(VaeBranch::new(&pb.sub("vae"), deepest, v.grid, v.image, v.latent)?)
        } else if spec.dense {
            HeadKind::Dense(Decoder::new(&pb.sub("decoder"), channels, spec.outputs)?)
        } else {
            HeadKind::Vector(Linear::new(pb, deepest, spec.outputs)?)
        };
        // Vector and VAE heads read the deepest level only, so only that one is fused.
        let first = if spec.dense && spec.vae.is_none() { 0 } else { channels.len() - 1 };
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
            HeadKind::Vae(branch) => {
                let out = branch.forward(&levels[levels.len() - 1], train)?;
                Ok(Tensor::cat(&[&out.reconstruction.flatten_from(1)?, &out.mean, &out.log_var], 1)?)
            }
        }
    }

    /// Whether this head outputs an image (a decoder or a VAE branch).
    pub fn is_dense(&self) -> bool {
        matches!(self.kind, HeadKind::Dense(_) | HeadKind::Vae(_))
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
