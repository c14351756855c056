//! A multi-layer perceptron head: global average pooling of the deepest features, then
//! fully connected layers with ReLU between them. The classifier of Amyar et al. (2020) and
//! the diagnostic branch of Y-Net (Mehta et al. 2018) are of this form.

use candle_core::Tensor;

use super::layers::{global_avg_pool, relu, Linear};
use super::params::ParamBuilder;
use crate::Result;

/// Fully connected layers `inputs -> hidden[0] -> ... -> outputs`, ReLU between them.
pub struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    /// An MLP with the given hidden widths (none: one linear layer).
    pub fn new(pb: &ParamBuilder, inputs: usize, hidden: &[usize], outputs: usize) -> Result<Self> {
        let widths: Vec<usize> = std::iter::once(inputs).chain(hidden.iter().copied()).chain(std::iter::once(outputs)).collect();
        let layers =
            widths.windows(2).enumerate().map(|(i, w)| Linear::new(&pb.sub(&format!("fc{i}")), w[0], w[1])).collect::<Result<_>>()?;
        Ok(Mlp { layers })
    }

    /// The MLP applied to an `N x inputs` batch.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = relu(&h)?;
            }
        }
        Ok(h)
    }

    /// The MLP applied to globally average-pooled NCHW features.
    pub fn forward_pooled(&self, features: &Tensor) -> Result<Tensor> {
        self.forward(&global_avg_pool(features)?)
    }
}
