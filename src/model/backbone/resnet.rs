//! ResNet-18 (He et al., CVPR 2016) in the CIFAR-style form MedMNIST v2 uses for 28x28
//! inputs (`experiments/MedMNIST2D/models.py`): a 3x3 stride-1 stem without max pooling,
//! four stages of two basic blocks (widths w, 2w, 4w, 8w; strides 1, 2, 2, 2) and global
//! average pooling. With w = 64 this is the "ResNet-18 (28)" of MedMNIST's Table 3.

use candle_core::Tensor;

use super::Backbone;
use crate::model::layers::{add_relu, BatchNorm2d, Conv2d, ConvBnRelu};
use crate::model::params::ParamBuilder;
use crate::Result;

struct BasicBlock {
    first: ConvBnRelu,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    shortcut: Option<(Conv2d, BatchNorm2d)>,
}

impl BasicBlock {
    fn new(pb: &ParamBuilder, c_in: usize, c_out: usize, stride: usize) -> Result<Self> {
        let shortcut = if stride != 1 || c_in != c_out {
            let sc = pb.sub("shortcut");
            Some((Conv2d::new(&sc, c_in, c_out, 1, stride, 0, false)?, BatchNorm2d::new(&sc.sub("bn"), c_out)?))
        } else {
            None
        };
        Ok(BasicBlock {
            first: ConvBnRelu::with_stride(&pb.sub("conv1"), c_in, c_out, 3, stride, 1)?,
            conv2: Conv2d::new(&pb.sub("conv2"), c_out, c_out, 3, 1, 1, false)?,
            bn2: BatchNorm2d::new(&pb.sub("bn2"), c_out)?,
            shortcut,
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.first.forward(x, train)?;
        let h = self.bn2.forward(&self.conv2.forward(&h)?, train)?;
        let skip = match &self.shortcut {
            Some((conv, bn)) => bn.forward(&conv.forward(x)?, train)?,
            None => x.clone(),
        };
        add_relu(&h, &skip)
    }
}

/// ResNet-18 in MedMNIST's CIFAR-style form: a 3x3 stem and four stages of two basic blocks.
pub struct ResNet18 {
    stem: ConvBnRelu,
    stages: Vec<[BasicBlock; 2]>,
    channels: Vec<usize>,
}

impl ResNet18 {
    /// The network with base width `width` (stages w, 2w, 4w, 8w) for `in_channels`-channel images.
    pub fn new(pb: &ParamBuilder, in_channels: usize, width: usize) -> Result<Self> {
        let stem = ConvBnRelu::new(&pb.sub("conv1"), in_channels, width, 3, 1)?;
        let mut stages = Vec::with_capacity(4);
        let mut channels = Vec::with_capacity(4);
        let mut c_in = width;
        for (stage, (mult, stride)) in [(1, 1), (2, 2), (4, 2), (8, 2)].into_iter().enumerate() {
            let c_out = width * mult;
            let s = pb.sub(&format!("layer{}", stage + 1));
            stages.push([BasicBlock::new(&s.sub("0"), c_in, c_out, stride)?, BasicBlock::new(&s.sub("1"), c_out, c_out, 1)?]);
            channels.push(c_out);
            c_in = c_out;
        }
        Ok(ResNet18 { stem, stages, channels })
    }
}

impl Backbone for ResNet18 {
    fn stage_channels(&self) -> &[usize] {
        &self.channels
    }

    fn forward_stage(&self, i: usize, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut h = if i == 0 { self.stem.forward(x, train)? } else { x.clone() };
        for block in &self.stages[i] {
            h = block.forward(&h, train)?;
        }
        Ok(h)
    }
}
