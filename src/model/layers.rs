//! The layers every backbone is built from: convolution, batch normalisation, linear.
//!
//! medmtl owns these types (rather than using candle-nn's) so that initialisation is seeded,
//! BatchNorm's running statistics are buffers outside the optimiser, and faster kernels can
//! replace the tensor-op implementations without touching any model.

use candle_core::{Tensor, Var, D};

use super::params::{live, ParamBuilder};
use crate::kernels;
use crate::Result;

/// 2-D convolution, NCHW, PyTorch's default initialisation (uniform, bound 1/sqrt(fan_in)).
#[derive(Debug, Clone)]
pub struct Conv2d {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    padding: usize,
}

impl Conv2d {
    /// A `kernel x kernel` convolution from `c_in` to `c_out` channels, with a bias when `bias`.
    pub fn new(pb: &ParamBuilder, c_in: usize, c_out: usize, kernel: usize, stride: usize, padding: usize, bias: bool) -> Result<Self> {
        let bound = 1.0 / ((c_in * kernel * kernel) as f64).sqrt();
        let weight = pb.uniform("weight", &[c_out, c_in, kernel, kernel], bound)?;
        let bias = if bias { Some(pb.uniform("bias", &[c_out], bound)?) } else { None };
        Ok(Conv2d { weight, bias, stride, padding })
    }

    /// Convolves an NCHW batch.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = kernels::conv2d(x, &live(&self.weight), self.stride, self.padding)?;
        Ok(match &self.bias {
            Some(b) => y.broadcast_add(&live(b).reshape((1, b.dim(0)?, 1, 1))?)?,
            None => y,
        })
    }
}

/// Batch normalisation over NCHW channels (Ioffe & Szegedy 2015), PyTorch semantics:
/// training normalises with the biased batch variance and updates running statistics with
/// momentum 0.1 and the unbiased variance; evaluation uses the running statistics.
#[derive(Debug, Clone)]
pub struct BatchNorm2d {
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
    eps: f64,
    momentum: f64,
}

impl BatchNorm2d {
    /// Normalisation of `channels` channels: scale 1, shift 0, running mean 0, running variance 1.
    pub fn new(pb: &ParamBuilder, channels: usize) -> Result<Self> {
        Ok(BatchNorm2d {
            weight: pb.constant("weight", &[channels], 1.0)?,
            bias: pb.constant("bias", &[channels], 0.0)?,
            running_mean: pb.buffer("running_mean", &[channels], 0.0)?,
            running_var: pb.buffer("running_var", &[channels], 1.0)?,
            eps: 1e-5,
            momentum: 0.1,
        })
    }

    /// Normalises `x` with batch statistics (updating the running ones) when `train`, with the
    /// running statistics otherwise.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.apply(x, train, false)
    }

    /// `relu(bn(x))` in one fused pass where the fused kernels apply.
    pub fn forward_relu(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.apply(x, train, true)
    }

    fn apply(&self, x: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        let c = x.dim(1)?;
        if train {
            let (y, stats) = kernels::batch_norm_train(x, &live(&self.weight), &live(&self.bias), self.eps, relu)?;
            let m = self.momentum;
            let unbiased = stats.count as f64 / (stats.count.max(2) - 1) as f64;
            let device = x.device();
            let batch_mean = Tensor::from_vec(stats.mean, c, device)?;
            let batch_var = (Tensor::from_vec(stats.var, c, device)? * unbiased)?;
            self.running_mean.set(&((self.running_mean.as_tensor() * (1.0 - m))? + (batch_mean * m)?)?)?;
            self.running_var.set(&((self.running_var.as_tensor() * (1.0 - m))? + (batch_var * m)?)?)?;
            return Ok(y);
        }
        let inv_std = (live(self.running_var.as_tensor()) + self.eps)?.sqrt()?.recip()?;
        let scale = (inv_std * live(&self.weight))?;
        let shift = (live(&self.bias) - (live(self.running_mean.as_tensor()) * &scale)?)?;
        Ok(kernels::batch_norm_eval(x, &scale, &shift, relu)?)
    }
}

/// Convolution (no bias) + BatchNorm + ReLU, the block every backbone repeats.
#[derive(Debug, Clone)]
pub struct ConvBnRelu {
    conv: Conv2d,
    bn: BatchNorm2d,
}

impl ConvBnRelu {
    /// A `kernel x kernel` convolution with stride 1 and the given padding.
    pub fn new(pb: &ParamBuilder, c_in: usize, c_out: usize, kernel: usize, padding: usize) -> Result<Self> {
        Self::with_stride(pb, c_in, c_out, kernel, 1, padding)
    }

    /// A `kernel x kernel` convolution with the given stride and padding.
    pub fn with_stride(pb: &ParamBuilder, c_in: usize, c_out: usize, kernel: usize, stride: usize, padding: usize) -> Result<Self> {
        Ok(ConvBnRelu { conv: Conv2d::new(pb, c_in, c_out, kernel, stride, padding, false)?, bn: BatchNorm2d::new(&pb.sub("bn"), c_out)? })
    }

    /// `relu(bn(conv(x)))`, in training or evaluation mode as `train` says.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.bn.forward_relu(&self.conv.forward(x)?, train)
    }
}

/// Fully connected layer, PyTorch's default initialisation.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    /// A map from `inputs` to `outputs` features.
    pub fn new(pb: &ParamBuilder, inputs: usize, outputs: usize) -> Result<Self> {
        let bound = 1.0 / (inputs as f64).sqrt();
        Ok(Linear { weight: pb.uniform("weight", &[outputs, inputs], bound)?, bias: pb.uniform("bias", &[outputs], bound)? })
    }

    /// A map whose weights and biases start uniform in `[-bound, bound]` (a design's own
    /// initialisation, e.g. DSelect-k's gates).
    pub fn with_bound(pb: &ParamBuilder, inputs: usize, outputs: usize, bound: f64) -> Result<Self> {
        Ok(Linear { weight: pb.uniform("weight", &[outputs, inputs], bound)?, bias: pb.uniform("bias", &[outputs], bound)? })
    }

    /// `x W^T + b` for an `N x inputs` batch.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&live(&self.weight).t()?)?.broadcast_add(&live(&self.bias))?)
    }
}

/// ReLU (fused CPU kernel where available).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    Ok(kernels::relu(x)?)
}

/// `relu(a + b)`, a residual join (fused CPU kernel where available).
pub fn add_relu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(kernels::add_relu(a, b)?)
}

/// Global average pooling NCHW -> NC.
pub fn global_avg_pool(x: &Tensor) -> Result<Tensor> {
    Ok(x.mean(D::Minus1)?.mean(D::Minus1)?)
}

/// 2x2 max pooling with stride 2 (the only max pooling candle can train: kernel == stride).
pub fn max_pool2(x: &Tensor) -> Result<Tensor> {
    Ok(kernels::max_pool2(x)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn batchnorm_train_normalises_and_updates_running_stats() {
        let pb = ParamBuilder::new(0, &Device::Cpu);
        let bn = BatchNorm2d::new(&pb, 2).unwrap();
        // channel 0: values 1..4, channel 1: constant 5.
        let x = Tensor::new(&[[[[1f32, 2.], [3., 4.]], [[5., 5.], [5., 5.]]]], &Device::Cpu).unwrap();
        let y = bn.forward(&x, true).unwrap();
        let y0: Vec<f32> = y.narrow(1, 0, 1).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let std = (1.25f32 + 1e-5).sqrt();
        for (got, want) in y0.iter().zip([-1.5f32, -0.5, 0.5, 1.5]) {
            assert!((got - want / std).abs() < 1e-5);
        }
        let rm: Vec<f32> = bn.running_mean.as_tensor().to_vec1().unwrap();
        let rv: Vec<f32> = bn.running_var.as_tensor().to_vec1().unwrap();
        assert!((rm[0] - 0.25).abs() < 1e-6 && (rm[1] - 0.5).abs() < 1e-6);
        // unbiased variance of 1..4 is 5/3; 0.9 * 1 + 0.1 * 5/3
        assert!((rv[0] - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-6);
        assert!((rv[1] - 0.9).abs() < 1e-6);
        let eval = bn.forward(&x, false).unwrap();
        assert_eq!(eval.dims(), &[1, 2, 2, 2]);
    }
}
