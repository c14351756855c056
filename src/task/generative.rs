//! Generative tasks: what a reconstruction-type task reconstructs from, and how.
//!
//! All three generative kinds predict the clean input image and are scored by MSE, PSNR and
//! SSIM; they differ in what the network sees and in what stands between encoder and output:
//! - plain reconstruction reads the image itself through a decoder with skip connections;
//! - denoising (Vincent et al., ICML 2008) reads a copy corrupted by seeded noise, so the
//!   shared encoder must learn what an image looks like rather than copy it;
//! - a VAE (Kingma & Welling, ICLR 2014) squeezes the encoding through a sampled latent, as
//!   Myronenko (2018) regularises a segmentation encoder.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::data::SplitName;

/// The variant of a reconstruction-type task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Generative {
    /// Reproduce the input image.
    Plain,
    /// Reproduce the clean image from a corrupted copy.
    Denoising(Corruption),
    /// Reproduce the image through a variational bottleneck.
    Vae(VaeTask),
}

/// Kinds of seeded input corruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum NoiseKind {
    /// Additive Gaussian noise of standard deviation `level` (images are on [-1, 1]), clipped
    /// to the image range.
    Gaussian,
    /// Each pixel replaced, with probability `level`, by black or white (-1 or 1, even odds).
    SaltPepper,
}

/// A stated noise kind and level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Corruption {
    /// The noise kind.
    pub noise: NoiseKind,
    /// Gaussian: standard deviation on the [-1, 1] scale; salt-and-pepper: pixel fraction.
    pub level: f64,
}

impl Corruption {
    /// Gaussian noise of SD 0.2 (a tenth of the image range) when a suite states none.
    pub const DEFAULT: Corruption = Corruption { noise: NoiseKind::Gaussian, level: 0.2 };

    /// Checks the level against the kind.
    pub fn check(&self) -> Result<(), String> {
        match self.noise {
            NoiseKind::Gaussian if !(self.level > 0.0 && self.level.is_finite()) => {
                Err(format!("noise_level {} must be a positive standard deviation", self.level))
            }
            NoiseKind::SaltPepper if !(self.level > 0.0 && self.level <= 1.0) => {
                Err(format!("noise_level {} must be a pixel fraction in (0, 1]", self.level))
            }
            _ => Ok(()),
        }
    }

    /// Corrupts `pixels` (one image, values on [-1, 1]) in place with the noise of `draw`.
    pub fn apply(&self, pixels: &mut [f32], draw: NoiseDraw, sample: usize) {
        let mut rng = draw.rng(sample);
        match self.noise {
            NoiseKind::Gaussian => {
                for v in pixels.iter_mut() {
                    let e: f64 = StandardNormal.sample(&mut rng);
                    *v = (*v as f64 + self.level * e).clamp(-1.0, 1.0) as f32;
                }
            }
            NoiseKind::SaltPepper => {
                for v in pixels.iter_mut() {
                    if rng.random::<f64>() < self.level {
                        *v = if rng.random::<bool>() { 1.0 } else { -1.0 };
                    }
                }
            }
        }
    }
}

/// Which noise a sample gets: fresh noise every training epoch (drawn from the run's seed, so
/// a resumed run corrupts as the uninterrupted one did), and one fixed corruption of each
/// validation and test image, the same for every design, seed and run, so that all designs
/// are scored on identical inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseDraw {
    /// Training epoch `epoch` (0-based) of a run seeded `seed`.
    Train {
        /// The run's seed.
        seed: u64,
        /// The epoch.
        epoch: usize,
    },
    /// An evaluation split.
    Eval(SplitName),
}

impl NoiseDraw {
    fn rng(self, sample: usize) -> ChaCha8Rng {
        let key = match self {
            NoiseDraw::Train { seed, epoch } => seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (epoch as u64).wrapping_add(1).rotate_left(32),
            NoiseDraw::Eval(split) => 0xe7a1_0000 + split as u64,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(key ^ 0xde_0153);
        rng.set_stream(sample as u64);
        rng
    }
}

/// A VAE task's bottleneck and loss weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VaeTask {
    /// Latent dimensions.
    pub latent: usize,
    /// Weight of the KL term (per pixel, as the reconstruction error is) in `MSE + beta KL`.
    pub beta: f64,
    /// Image height in pixels (the decoder's output size).
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
}

impl VaeTask {
    /// The latent size when a suite states none.
    pub const DEFAULT_LATENT: usize = 64;
    /// The KL weight when a suite states none: MSE and the per-pixel KL weigh alike, the ratio of
    /// Myronenko's 0.1 L2 + 0.1 KL.
    pub const DEFAULT_BETA: f64 = 1.0;

    /// Values per sample of the head's packed output: the image, then the latent mean and
    /// log-variance.
    pub fn packed_width(&self, channels: usize) -> usize {
        channels * self.height * self.width + 2 * self.latent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corrupted(c: Corruption, draw: NoiseDraw, sample: usize) -> Vec<f32> {
        let mut px = vec![0.0f32; 4096];
        c.apply(&mut px, draw, sample);
        px
    }

    #[test]
    fn noise_is_reproducible_from_the_seed_and_differs_between_draws() {
        let c = Corruption::DEFAULT;
        let train = |seed, epoch| NoiseDraw::Train { seed, epoch };
        assert_eq!(corrupted(c, train(3, 2), 7), corrupted(c, train(3, 2), 7), "same seed, epoch and sample");
        assert_ne!(corrupted(c, train(3, 2), 7), corrupted(c, train(4, 2), 7), "another seed");
        assert_ne!(corrupted(c, train(3, 2), 7), corrupted(c, train(3, 3), 7), "another epoch");
        assert_ne!(corrupted(c, train(3, 2), 7), corrupted(c, train(3, 2), 8), "another sample");
        let test = NoiseDraw::Eval(SplitName::Test);
        assert_eq!(corrupted(c, test, 5), corrupted(c, test, 5), "evaluation inputs are fixed");
        assert_ne!(corrupted(c, test, 5), corrupted(c, NoiseDraw::Eval(SplitName::Val), 5));
    }

    #[test]
    fn gaussian_noise_has_the_stated_sd_and_stays_in_range() {
        let c = Corruption { noise: NoiseKind::Gaussian, level: 0.2 };
        let px = corrupted(c, NoiseDraw::Train { seed: 1, epoch: 0 }, 0);
        let n = px.len() as f64;
        let mean = px.iter().map(|&v| v as f64).sum::<f64>() / n;
        let sd = (px.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.02 && (sd - 0.2).abs() < 0.01, "mean {mean}, sd {sd}");
        let mut bright = vec![0.95f32; 4096];
        Corruption { noise: NoiseKind::Gaussian, level: 0.5 }.apply(&mut bright, NoiseDraw::Eval(SplitName::Test), 0);
        assert!(bright.iter().all(|v| (-1.0..=1.0).contains(v)));
    }

    #[test]
    fn salt_and_pepper_replaces_the_stated_fraction_with_extremes() {
        let c = Corruption { noise: NoiseKind::SaltPepper, level: 0.1 };
        let px = corrupted(c, NoiseDraw::Train { seed: 9, epoch: 1 }, 3);
        let (salt, pepper) = (px.iter().filter(|&&v| v == 1.0).count(), px.iter().filter(|&&v| v == -1.0).count());
        assert_eq!(salt + pepper + px.iter().filter(|&&v| v == 0.0).count(), px.len());
        let fraction = (salt + pepper) as f64 / px.len() as f64;
        assert!((fraction - 0.1).abs() < 0.015, "{fraction}");
        assert!((salt as f64 / (salt + pepper) as f64 - 0.5).abs() < 0.08);
    }

    #[test]
    fn levels_are_checked_against_the_kind() {
        assert!(Corruption { noise: NoiseKind::Gaussian, level: 0.0 }.check().is_err());
        assert!(Corruption { noise: NoiseKind::SaltPepper, level: 1.5 }.check().is_err());
        assert!(Corruption { noise: NoiseKind::SaltPepper, level: 0.3 }.check().is_ok());
    }
}
