//! A variational auto-encoder branch from an encoder's deepest features back to the image
//! (Kingma & Welling 2014), as Myronenko (2018) regularises a segmentation encoder with it.
//!
//! The deepest features are reduced by a 1x1 convolution and flattened; two linear maps
//! give the latent mean and log-variance. In training the latent is a reparameterised
//! sample `z = mu + exp(logvar / 2) eps`, with `eps` drawn from a stream seeded by the run
//! and a draw counter kept as a model buffer (so a resumed run draws what the uninterrupted
//! one would have); in evaluation `z = mu`. A linear map and nearest-upsampling
//! convolutions decode `z` to an image of the input's size.

use candle_core::Tensor;
use rand_distr::{Distribution, StandardNormal};

use super::decoder::fit_to;
use super::layers::{Conv2d, ConvBnRelu, Linear};
use super::params::{CountedStream, ParamBuilder};
use crate::kernels::upsample_nearest2;
use crate::Result;

/// Channels the deepest features are reduced to before flattening.
const REDUCED: usize = 16;

/// What one pass of the branch gives.
pub struct VaeOutput {
    /// The reconstructed image batch (`N x C x H x W`, the input's normalised scale).
    pub reconstruction: Tensor,
    /// Latent means, `N x latent`.
    pub mean: Tensor,
    /// Latent log-variances, `N x latent`.
    pub log_var: Tensor,
}

/// The VAE branch.
pub struct VaeBranch {
    reduce: ConvBnRelu,
    to_mean: Linear,
    to_log_var: Linear,
    from_latent: Linear,
    ups: Vec<ConvBnRelu>,
    out: Conv2d,
    deep: (usize, usize),
    image: (usize, usize, usize),
    latent: usize,
    stream: CountedStream,
}

impl VaeBranch {
    /// A branch from deepest features of `c_deep` channels on a `deep` (height, width) grid
    /// to images of `image` (channels, height, width), with a `latent`-dimensional code.
    /// Features on a finer grid that is a whole multiple of `deep` are average-pooled to it
    /// first, so one branch serves any encoder whose deepest level is at least that coarse.
    pub fn new(pb: &ParamBuilder, c_deep: usize, deep: (usize, usize), image: (usize, usize, usize), latent: usize) -> Result<Self> {
        let flat = REDUCED * deep.0 * deep.1;
        let mut ups = Vec::new();
        let (mut h, mut w, mut c) = (deep.0, deep.1, REDUCED);
        let mut i = 0;
        while h < image.1 || w < image.2 {
            let next = (c / 2).max(8);
            ups.push(ConvBnRelu::new(&pb.sub(&format!("up{i}")), c, next, 3, 1)?);
            (h, w, c) = (h * 2, w * 2, next);
            i += 1;
        }
        Ok(VaeBranch {
            reduce: ConvBnRelu::new(&pb.sub("reduce"), c_deep, REDUCED, 1, 0)?,
            to_mean: Linear::new(&pb.sub("mean"), flat, latent)?,
            to_log_var: Linear::new(&pb.sub("log_var"), flat, latent)?,
            from_latent: Linear::new(&pb.sub("from_latent"), latent, flat)?,
            ups,
            out: Conv2d::new(&pb.sub("out"), c, image.0, 1, 1, 0, true)?,
            deep,
            image,
            latent,
            stream: CountedStream::new(pb)?,
        })
    }

    /// Reconstructs the input from its deepest features `deep` (`N x c_deep x h x w`).
    pub fn forward(&self, deep: &Tensor, train: bool) -> Result<VaeOutput> {
        let (n, _, h, w) = deep.dims4()?;
        let (gh, gw) = self.deep;
        let reduced = self.reduce.forward(deep, train)?;
        let reduced = match (h, w) {
            _ if (h, w) == (gh, gw) => reduced,
            _ if h % gh == 0 && w % gw == 0 && h / gh == w / gw => reduced.avg_pool2d(h / gh)?,
            _ => {
                return Err(crate::Error::Invalid(format!(
                    "the VAE branch reads a {gh}x{gw} grid and the encoder's deepest level is {h}x{w}, not an even multiple of it; \
                     choose an image size that the encoder reduces to a multiple of {gh}x{gw}"
                )))
            }
        };
        let flat = reduced.flatten_from(1)?;
        let mean = self.to_mean.forward(&flat)?;
        let log_var = self.to_log_var.forward(&flat)?;
        let z = if train {
            let eps = Tensor::from_vec(self.noise(n * self.latent)?, (n, self.latent), deep.device())?;
            (&mean + (eps * (&log_var * 0.5)?.exp()?)?)?
        } else {
            mean.clone()
        };
        let mut h = self.from_latent.forward(&z)?.reshape((n, REDUCED, self.deep.0, self.deep.1))?;
        for up in &self.ups {
            h = up.forward(&upsample_nearest2(&h)?, train)?;
        }
        let like = Tensor::zeros((n, 1, self.image.1, self.image.2), h.dtype(), h.device())?;
        let reconstruction = self.out.forward(&fit_to(&h, &like)?)?;
        Ok(VaeOutput { reconstruction, mean, log_var })
    }

    /// `count` standard normal draws from the stream of the next training pass.
    fn noise(&self, count: usize) -> Result<Vec<f32>> {
        let mut rng = self.stream.next_pass()?;
        Ok((0..count).map(|_| StandardNormal.sample(&mut rng)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn sampling_is_seeded_counted_and_off_in_evaluation() {
        let d = Device::Cpu;
        let make = || {
            let pb = ParamBuilder::new(3, &d);
            VaeBranch::new(&pb, 8, (2, 2), (1, 8, 8), 4).unwrap()
        };
        let deep = Tensor::ones((2, 8, 2, 2), candle_core::DType::F32, &d).unwrap();
        let (a, b) = (make(), make());
        let ra = a.forward(&deep, true).unwrap().reconstruction.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let rb = b.forward(&deep, true).unwrap().reconstruction.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(ra, rb, "same seed, same draw");
        let again = a.forward(&deep, true).unwrap().reconstruction.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_ne!(ra, again, "the next pass draws new noise");
        let out = a.forward(&deep, false).unwrap();
        assert_eq!(out.reconstruction.dims(), &[2, 1, 8, 8]);
        let e1 = out.reconstruction.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let e2 = a.forward(&deep, false).unwrap().reconstruction.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(e1, e2, "evaluation decodes the mean");
    }
}
