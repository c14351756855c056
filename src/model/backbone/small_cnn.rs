//! The small CNN used by quick suites and the speed comparison with PyTorch.
//!
//! Five 3x3 convolutions (width w, w, 2w, 2w, 4w), each followed by BatchNorm and ReLU, with
//! 2x2 max pooling after the second and fourth, then global average pooling. At w = 32 on
//! 1x28x28 inputs a forward pass is about 44 MFLOP per image.

use candle_core::Tensor;

use super::Backbone;
use crate::model::layers::{global_avg_pool, max_pool2, BatchNorm2d, Conv2d};
use crate::model::params::ParamBuilder;
use crate::Result;

pub struct SmallCnn {
    blocks: Vec<(Conv2d, BatchNorm2d)>,
    out_features: usize,
}

impl SmallCnn {
    pub fn new(pb: &ParamBuilder, in_channels: usize, width: usize) -> Result<Self> {
        let widths = [width, width, 2 * width, 2 * width, 4 * width];
        let mut blocks = Vec::with_capacity(widths.len());
        let mut c_in = in_channels;
        for (i, &c_out) in widths.iter().enumerate() {
            let layer = pb.sub(&format!("conv{}", i + 1));
            blocks.push((
                Conv2d::new(&layer, c_in, c_out, 3, 1, 1, false)?,
                BatchNorm2d::new(&layer.sub("bn"), c_out)?,
            ));
            c_in = c_out;
        }
        Ok(SmallCnn { blocks, out_features: c_in })
    }
}

impl Backbone for SmallCnn {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, (conv, bn)) in self.blocks.iter().enumerate() {
            h = bn.forward_relu(&conv.forward(&h)?, train)?;
            if i == 1 || i == 3 {
                h = max_pool2(&h)?;
            }
        }
        global_avg_pool(&h)
    }

    fn out_features(&self) -> usize {
        self.out_features
    }
}
