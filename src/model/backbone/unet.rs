//! The encoder half of a U-Net (Ronneberger et al., MICCAI 2015): five stages of two
//! 3x3 conv + BN + ReLU blocks with widths w, 2w, 4w, 8w, 16w and a 2x2 max pool before
//! every stage but the first. The last stage is the bottleneck (4x4 for 64x64 inputs).

use candle_core::Tensor;

use super::Backbone;
use crate::model::layers::{max_pool2, ConvBnRelu};
use crate::model::params::ParamBuilder;
use crate::Result;

/// A U-Net's encoder: five stages of widths w to 16w, the last one the bottleneck.
pub struct UNetEncoder {
    stages: Vec<[ConvBnRelu; 2]>,
    channels: Vec<usize>,
}

impl UNetEncoder {
    /// The encoder with base width `width` for `in_channels`-channel images.
    pub fn new(pb: &ParamBuilder, in_channels: usize, width: usize) -> Result<Self> {
        let channels: Vec<usize> = (0..5).map(|i| width << i).collect();
        let mut stages = Vec::with_capacity(channels.len());
        let mut c_in = in_channels;
        for (i, &c) in channels.iter().enumerate() {
            let s = pb.sub(&format!("down{i}"));
            stages.push([ConvBnRelu::new(&s.sub("a"), c_in, c, 3, 1)?, ConvBnRelu::new(&s.sub("b"), c, c, 3, 1)?]);
            c_in = c;
        }
        Ok(UNetEncoder { stages, channels })
    }
}

impl Backbone for UNetEncoder {
    fn stage_channels(&self) -> &[usize] {
        &self.channels
    }

    fn forward_stage(&self, i: usize, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = if i == 0 { x.clone() } else { max_pool2(x)? };
        let [a, b] = &self.stages[i];
        b.forward(&a.forward(&h, train)?, train)
    }
}
