//! Feature extractors shared (or not) between tasks: image in, feature vector out.

mod resnet;
mod small_cnn;

pub use resnet::ResNet18;
pub use small_cnn::SmallCnn;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::params::ParamBuilder;
use crate::Result;

/// A network that maps `N x C x H x W` images to `N x F` features.
pub trait Backbone: Send + Sync {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor>;
    fn out_features(&self) -> usize;
}

/// Which backbone to build, as written in a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackboneKind {
    /// Five 3x3 conv + BN + ReLU layers, two 2x2 max pools, global average pooling.
    SmallCnn,
    /// The CIFAR-style ResNet-18 MedMNIST uses for 28x28 inputs.
    Resnet18,
}

impl BackboneKind {
    pub const NAMES: [&'static str; 2] = ["small-cnn", "resnet18"];

    pub fn as_str(self) -> &'static str {
        match self {
            BackboneKind::SmallCnn => "small-cnn",
            BackboneKind::Resnet18 => "resnet18",
        }
    }

    /// Channel width used when a suite does not set one.
    pub fn default_width(self) -> usize {
        match self {
            BackboneKind::SmallCnn => 32,
            BackboneKind::Resnet18 => 64,
        }
    }

    pub fn build(self, pb: &ParamBuilder, in_channels: usize, width: usize) -> Result<Box<dyn Backbone>> {
        Ok(match self {
            BackboneKind::SmallCnn => Box::new(SmallCnn::new(pb, in_channels, width)?),
            BackboneKind::Resnet18 => Box::new(ResNet18::new(pb, in_channels, width)?),
        })
    }
}
