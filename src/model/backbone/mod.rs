//! Encoders split into stages. Each stage's output is one level of a multi-scale feature
//! pyramid: classification heads read the last level; decoders for dense tasks read them
//! all (U-Net skips); soft-sharing designs (cross-stitch, MTAN, PLE) act between stages.

mod resnet;
mod small_cnn;
mod unet;

pub use resnet::ResNet18;
pub use small_cnn::SmallCnn;
pub use unet::UNetEncoder;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::params::ParamBuilder;
use crate::Result;

/// A staged encoder: `N x C x H x W` images to one feature map per stage.
pub trait Backbone: Send + Sync {
    /// Output channels of each stage.
    fn stage_channels(&self) -> &[usize];

    /// Runs stage `i` on the previous stage's output (the image for stage 0).
    fn forward_stage(&self, i: usize, x: &Tensor, train: bool) -> Result<Tensor>;

    /// Every stage's output, in order.
    fn forward_levels(&self, x: &Tensor, train: bool) -> Result<Vec<Tensor>> {
        let mut levels = Vec::with_capacity(self.stage_channels().len());
        let mut h = x.clone();
        for i in 0..self.stage_channels().len() {
            h = self.forward_stage(i, &h, train)?;
            levels.push(h.clone());
        }
        Ok(levels)
    }
}

/// Which backbone to build, as written in a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum BackboneKind {
    /// Five 3x3 conv + BN + ReLU layers in 3 stages (2x2 max pools between), widths
    /// w, 2w, 4w.
    SmallCnn,
    /// The CIFAR-style ResNet-18 MedMNIST uses for 28x28 inputs; 4 stages.
    Resnet18,
    /// A U-Net encoder: 5 stages of two 3x3 conv + BN + ReLU, widths w..16w, 2x2 max pools
    /// between; the last stage is the bottleneck. Sized for 64x64 and 128x128 inputs.
    Unet,
}

impl BackboneKind {
    /// Every backbone's name, as suites spell it.
    pub fn names() -> Vec<&'static str> {
        <Self as strum::IntoEnumIterator>::iter().map(Self::as_str).collect()
    }

    /// The name suites use.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Channel width used when a suite does not set one.
    pub fn default_width(self) -> usize {
        match self {
            BackboneKind::SmallCnn => 32,
            BackboneKind::Resnet18 => 64,
            BackboneKind::Unet => 16,
        }
    }

    /// Smallest image side the backbone's pooling can handle (every stage needs at least
    /// one pixel).
    pub fn min_input_size(self) -> usize {
        match self {
            BackboneKind::SmallCnn => 4,
            BackboneKind::Resnet18 => 8,
            BackboneKind::Unet => 16,
        }
    }

    /// The encoder with `width` base channels for `in_channels`-channel images.
    pub fn build(self, pb: &ParamBuilder, in_channels: usize, width: usize) -> Result<Box<dyn Backbone>> {
        Ok(match self {
            BackboneKind::SmallCnn => Box::new(SmallCnn::new(pb, in_channels, width)?),
            BackboneKind::Resnet18 => Box::new(ResNet18::new(pb, in_channels, width)?),
            BackboneKind::Unet => Box::new(UNetEncoder::new(pb, in_channels, width)?),
        })
    }
}
