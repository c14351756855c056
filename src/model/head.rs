//! Task heads: a linear map from shared or task-specific features to a task's outputs
//! (logits for classification, a normalised value for regression).

use candle_core::Tensor;

use super::layers::Linear;
use super::params::ParamBuilder;
use crate::Result;

pub struct LinearHead {
    linear: Linear,
}

impl LinearHead {
    pub fn new(pb: &ParamBuilder, features: usize, outputs: usize) -> Result<Self> {
        Ok(LinearHead { linear: Linear::new(pb, features, outputs)? })
    }

    pub fn forward(&self, features: &Tensor) -> Result<Tensor> {
        self.linear.forward(features)
    }
}
