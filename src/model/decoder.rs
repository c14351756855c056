//! A U-Net decoder (Ronneberger et al., MICCAI 2015) over any staged encoder's levels:
//! from the deepest level up, nearest 2x upsampling (medmtl's kernel, whose gradient
//! accumulates correctly when the level also feeds a classification head), concatenation
//! with the skip level, two 3x3 conv + BN + ReLU blocks; then a 1x1 convolution to the
//! task's output channels at input resolution.

use candle_core::Tensor;

use super::layers::{Conv2d, ConvBnRelu};
use super::params::ParamBuilder;
use crate::kernels::upsample_nearest2;
use crate::Result;

/// A U-Net decoder from an encoder's levels to per-pixel output maps.
pub struct Decoder {
    blocks: Vec<[ConvBnRelu; 2]>,
    out: Conv2d,
}

impl Decoder {
    /// A decoder for levels with `channels` (shallowest first) producing `outputs` maps.
    pub fn new(pb: &ParamBuilder, channels: &[usize], outputs: usize) -> Result<Self> {
        let mut blocks = Vec::with_capacity(channels.len().saturating_sub(1));
        for l in (0..channels.len().saturating_sub(1)).rev() {
            let s = pb.sub(&format!("up{l}"));
            let c_in = channels[l + 1] + channels[l];
            blocks.push([
                ConvBnRelu::new(&s.sub("a"), c_in, channels[l], 3, 1)?,
                ConvBnRelu::new(&s.sub("b"), channels[l], channels[l], 3, 1)?,
            ]);
        }
        let out = Conv2d::new(&pb.sub("out"), channels[0], outputs, 1, 1, 0, true)?;
        Ok(Decoder { blocks, out })
    }

    /// Output maps at the resolution of the shallowest level.
    pub fn forward(&self, levels: &[Tensor], train: bool) -> Result<Tensor> {
        let mut h = levels[levels.len() - 1].clone();
        for (block, skip) in self.blocks.iter().zip(levels[..levels.len() - 1].iter().rev()) {
            let up = fit_to(&upsample_nearest2(&h)?, skip)?;
            let joined = Tensor::cat(&[&up, skip], 1)?;
            h = block[1].forward(&block[0].forward(&joined, train)?, train)?;
        }
        self.out.forward(&h)
    }
}

/// Crops or zero-pads `x` (NCHW) to the height and width of `like` (odd sizes make
/// upsampled maps one pixel too large or too small).
pub fn fit_to(x: &Tensor, like: &Tensor) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let (_, _, th, tw) = like.dims4()?;
    let mut y = x.clone();
    if h > th {
        y = y.narrow(2, 0, th)?;
    } else if h < th {
        y = y.pad_with_zeros(2, 0, th - h)?;
    }
    if w > tw {
        y = y.narrow(3, 0, tw)?;
    } else if w < tw {
        y = y.pad_with_zeros(3, 0, tw - w)?;
    }
    Ok(y)
}
