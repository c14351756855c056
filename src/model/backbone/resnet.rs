//! ResNet-18 (He et al., CVPR 2016) in the CIFAR-style form MedMNIST v2 uses for 28x28
//! inputs (`experiments/MedMNIST2D/models.py`): a 3x3 stride-1 stem without max pooling,
//! four stages of two basic blocks (widths w, 2w, 4w, 8w; strides 1, 2, 2, 2) and global
//! average pooling. With w = 64 this is the "ResNet-18 (28)" of MedMNIST's Table 3.

use candle_core::Tensor;

use super::Backbone;
use crate::model::layers::{global_avg_pool, relu, BatchNorm2d, Conv2d};
use crate::model::params::ParamBuilder;
use crate::Result;

struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm2d,
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
            conv1: Conv2d::new(&pb.sub("conv1"), c_in, c_out, 3, stride, 1, false)?,
            bn1: BatchNorm2d::new(&pb.sub("bn1"), c_out)?,
            conv2: Conv2d::new(&pb.sub("conv2"), c_out, c_out, 3, 1, 1, false)?,
            bn2: BatchNorm2d::new(&pb.sub("bn2"), c_out)?,
            shortcut,
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.bn1.forward_relu(&self.conv1.forward(x)?, train)?;
        let h = self.bn2.forward(&self.conv2.forward(&h)?, train)?;
        let skip = match &self.shortcut {
            Some((conv, bn)) => bn.forward(&conv.forward(x)?, train)?,
            None => x.clone(),
        };
        relu(&(h + skip)?)
    }
}

pub struct ResNet18 {
    stem: (Conv2d, BatchNorm2d),
    blocks: Vec<BasicBlock>,
    out_features: usize,
}

impl ResNet18 {
    pub fn new(pb: &ParamBuilder, in_channels: usize, width: usize) -> Result<Self> {
        let stem = (
            Conv2d::new(&pb.sub("conv1"), in_channels, width, 3, 1, 1, false)?,
            BatchNorm2d::new(&pb.sub("bn1"), width)?,
        );
        let mut blocks = Vec::with_capacity(8);
        let mut c_in = width;
        for (stage, (mult, stride)) in [(1, 1), (2, 2), (4, 2), (8, 2)].into_iter().enumerate() {
            let c_out = width * mult;
            for b in 0..2 {
                let pbb = pb.sub(&format!("layer{}.{b}", stage + 1));
                blocks.push(BasicBlock::new(&pbb, c_in, c_out, if b == 0 { stride } else { 1 })?);
                c_in = c_out;
            }
        }
        Ok(ResNet18 { stem, blocks, out_features: c_in })
    }
}

impl Backbone for ResNet18 {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut h = self.stem.1.forward_relu(&self.stem.0.forward(x)?, train)?;
        for block in &self.blocks {
            h = block.forward(&h, train)?;
        }
        global_avg_pool(&h)
    }

    fn out_features(&self) -> usize {
        self.out_features
    }
}
