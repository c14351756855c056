//! Training losses per task kind.

use candle_core::{DType, Tensor, D};

use super::{Generative, TaskKind, VaeTask};
use crate::Result;

/// Mean binary cross-entropy on logits, in the overflow-free form
/// `max(x, 0) - x z + log(1 + exp(-|x|))`. candle-nn's version takes `log(sigmoid(x))`,
/// which is NaN for large logits (candle issue #2561).
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let softplus_neg_abs = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    let loss = ((logits.relu()? - (logits * targets)?)? + softplus_neg_abs)?;
    Ok(loss.mean_all()?)
}

/// Mean cross-entropy of `N x C` logits against `N` class indices (u32).
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let log_p = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let picked = log_p.gather(&targets.to_dtype(DType::U32)?.unsqueeze(1)?, 1)?;
    Ok(picked.neg()?.mean_all()?)
}

/// Soft Dice loss `1 - (2 sum(p y) + 1) / (sum(p) + sum(y) + 1)` over the whole batch, for
/// probabilities and 0/1 targets of the same shape (the +1 smoothing keeps empty masks
/// finite).
pub fn soft_dice_loss(probs: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let inter = (probs * targets)?.sum_all()?;
    let total = (probs.sum_all()? + targets.sum_all()?)?;
    let dice = ((inter * 2.0)? + 1.0)?.div(&(total + 1.0)?)?;
    Ok((dice.neg()? + 1.0)?)
}

/// The loss of one task's head output against its batch targets, as prepared by
/// [`crate::train::batch::targets`]:
/// - binary, multi-label, (normalised) regression: float targets shaped like the output;
/// - multi-class and ordinal: `N` class indices (cross-entropy);
/// - binary segmentation: `N x 1 x H x W` 0/1 floats (BCE + soft Dice);
/// - multi-class segmentation: `N x H x W` class indices (pixel CE + mean soft Dice over
///   the foreground classes);
/// - reconstruction and denoising: the clean input images (MSE);
/// - VAE: the clean images against the head's packed output (MSE + beta KL per pixel,
///   [`vae_loss`]);
/// - ellipse: `N x 6` encoded parameters (MSE).
pub fn task_loss(kind: &TaskKind, output: &Tensor, target: &Tensor) -> Result<Tensor> {
    match kind {
        TaskKind::Reconstruction { channels, generative: Generative::Vae(v) } => vae_loss(v, *channels, output, target),
        TaskKind::Binary | TaskKind::MultiLabel { .. } => bce_with_logits(output, target),
        TaskKind::MultiClass { .. } | TaskKind::Ordinal { .. } => cross_entropy(output, target),
        TaskKind::Regression | TaskKind::OrdinalRegression { .. } | TaskKind::Reconstruction { .. } | TaskKind::Ellipse { .. } => {
            Ok((output - target)?.sqr()?.mean_all()?)
        }
        TaskKind::Segmentation { classes: 2 } => {
            let bce = bce_with_logits(output, target)?;
            let dice = soft_dice_loss(&candle_nn::ops::sigmoid(output)?, target)?;
            Ok((bce + dice)?)
        }
        TaskKind::Segmentation { classes } => {
            let (n, c, h, w) = output.dims4()?;
            let flat = output.permute((0, 2, 3, 1))?.reshape((n * h * w, c))?;
            let ce = cross_entropy(&flat, &target.flatten_all()?)?;
            let probs = candle_nn::ops::softmax(output, 1)?;
            let ids = Tensor::arange(0u32, *classes as u32, output.device())?.reshape((1, c, 1, 1))?;
            let onehot = target.unsqueeze(1)?.broadcast_eq(&ids)?.to_dtype(output.dtype())?;
            let mut dice = Tensor::zeros((), output.dtype(), output.device())?;
            for k in 1..c {
                dice = (dice + soft_dice_loss(&probs.narrow(1, k, 1)?, &onehot.narrow(1, k, 1)?)?)?;
            }
            Ok((ce + (dice / (c - 1) as f64)?)?)
        }
    }
}

/// `KL(N(mean, exp(log_var)) || N(0, I))` per sample, `0.5 sum_j (mean_j^2 + exp(log_var_j) -
/// log_var_j - 1)`, averaged over the batch.
pub fn kl_divergence(mean: &Tensor, log_var: &Tensor) -> Result<Tensor> {
    let n = mean.dim(0)? as f64;
    let terms = ((mean.sqr()? + log_var.exp()?)? - log_var)?;
    Ok((((terms - 1.0)?.sum_all()? * 0.5)? / n)?)
}

/// The VAE objective on a head output packed as [`unpack_vae`] reads it: the mean squared
/// reconstruction error plus `beta` times the KL divergence of the latent from the standard
/// normal per sample divided by the pixel count, so that both terms are per-pixel quantities
/// (Myronenko 2018 divides by the voxel count).
pub fn vae_loss(v: &VaeTask, channels: usize, output: &Tensor, target: &Tensor) -> Result<Tensor> {
    let (reconstruction, mean, log_var) = unpack_vae(v, channels, output)?;
    let (mse, kl) = vae_terms(&reconstruction, target, &mean, &log_var)?;
    Ok((mse + (kl * v.beta)?)?)
}

/// The two terms of a VAE objective for reconstructions of `target` (`N x C x H x W`): the
/// mean squared error, and the KL divergence of the latent from the standard normal per
/// sample divided by the pixel count `C H W`, so that both are per-pixel quantities.
pub fn vae_terms(reconstruction: &Tensor, target: &Tensor, mean: &Tensor, log_var: &Tensor) -> Result<(Tensor, Tensor)> {
    let mse = (reconstruction - target)?.sqr()?.mean_all()?;
    let pixels = (target.elem_count() / target.dim(0)?) as f64;
    Ok((mse, (kl_divergence(mean, log_var)? / pixels)?))
}

/// A VAE head's packed `N x (C H W + 2 latent)` output as the reconstructed images
/// (`N x C x H x W`), latent means and log-variances (`N x latent` each).
pub fn unpack_vae(v: &VaeTask, channels: usize, output: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let n = output.dim(0)?;
    let image = channels * v.height * v.width;
    let reconstruction = output.narrow(1, 0, image)?.reshape((n, channels, v.height, v.width))?;
    Ok((reconstruction, output.narrow(1, image, v.latent)?, output.narrow(1, image + v.latent, v.latent)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn bce_is_finite_for_huge_logits_and_matches_the_definition() {
        let d = Device::Cpu;
        let x = Tensor::new(&[[200f32], [-200.], [0.3], [-1.7]], &d).unwrap();
        let z = Tensor::new(&[[0f32], [1.], [1.], [0.]], &d).unwrap();
        let got = bce_with_logits(&x, &z).unwrap().to_scalar::<f32>().unwrap();
        let p = |x: f64| 1.0 / (1.0 + (-x).exp());
        let want = (200.0 + 200.0 - p(0.3).ln() - (1.0 - p(-1.7)).ln()) / 4.0;
        assert!((got as f64 - want).abs() < 1e-4, "{got} vs {want}");
    }

    #[test]
    fn soft_dice_is_zero_for_a_perfect_mask_and_near_one_for_disjoint() {
        let d = Device::Cpu;
        let y = Tensor::new(&[[0f32, 1., 1., 0.]], &d).unwrap();
        let perfect = soft_dice_loss(&y, &y).unwrap().to_scalar::<f32>().unwrap();
        assert!(perfect.abs() < 1e-6);
        let p = Tensor::new(&[[1f32, 0., 0., 1.]], &d).unwrap();
        let disjoint = soft_dice_loss(&p, &y).unwrap().to_scalar::<f32>().unwrap();
        assert!((disjoint - (1.0 - 1.0 / 5.0)).abs() < 1e-6);
    }

    #[test]
    fn cross_entropy_matches_log_softmax_by_hand() {
        let d = Device::Cpu;
        let x = Tensor::new(&[[1f32, 2., 3.], [0., 0., 0.]], &d).unwrap();
        let t = Tensor::new(&[2u32, 0], &d).unwrap();
        let got = cross_entropy(&x, &t).unwrap().to_scalar::<f32>().unwrap() as f64;
        let lse = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
        let want = ((lse - 3.0) + 3f64.ln()) / 2.0;
        assert!((got - want).abs() < 1e-6);
    }

    #[test]
    fn kl_matches_the_closed_form_and_vanishes_at_the_prior() {
        let d = Device::Cpu;
        let mean = Tensor::new(&[[0.5f32, -1.0], [0.0, 2.0]], &d).unwrap();
        let log_var = Tensor::new(&[[0.0f32, -0.5], [1.0, 0.3]], &d).unwrap();
        let got = kl_divergence(&mean, &log_var).unwrap().to_scalar::<f32>().unwrap() as f64;
        let term = |m: f64, lv: f64| 0.5 * (m * m + lv.exp() - lv - 1.0);
        let want = (term(0.5, 0.0) + term(-1.0, -0.5) + term(0.0, 1.0) + term(2.0, 0.3)) / 2.0;
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        let zero = kl_divergence(
            &Tensor::zeros((3, 4), candle_core::DType::F32, &d).unwrap(),
            &Tensor::zeros((3, 4), candle_core::DType::F32, &d).unwrap(),
        )
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
        assert_eq!(zero, 0.0);
    }

    /// The VAE objective is the reconstruction MSE plus beta times the closed-form KL per
    /// pixel, read from the head's packed output.
    #[test]
    fn vae_loss_is_mse_plus_beta_times_the_closed_form_kl_per_pixel() {
        let d = Device::Cpu;
        let v = VaeTask { latent: 2, beta: 0.5, height: 2, width: 2 };
        let image = [0.1f32, -0.2, 0.3, 0.0, 0.5, 0.5, -0.5, 1.0];
        let (mean, log_var) = ([[0.5f32, -1.0], [0.0, 2.0]], [[0.0f32, -0.5], [1.0, 0.3]]);
        let shifted: Vec<f32> = image.iter().map(|p| p + 0.1).collect();
        let mut packed = Vec::new();
        for s in 0..2 {
            packed.extend_from_slice(&shifted[s * 4..(s + 1) * 4]);
            packed.extend_from_slice(&mean[s]);
            packed.extend_from_slice(&log_var[s]);
        }
        let output = Tensor::from_vec(packed, (2, v.packed_width(1)), &d).unwrap();
        let target = Tensor::from_vec(image.to_vec(), (2, 1, 2, 2), &d).unwrap();
        let got = vae_loss(&v, 1, &output, &target).unwrap().to_scalar::<f32>().unwrap() as f64;
        let term = |m: f64, lv: f64| 0.5 * (m * m + lv.exp() - lv - 1.0);
        let kl = (term(0.5, 0.0) + term(-1.0, -0.5) + term(0.0, 1.0) + term(2.0, 0.3)) / 2.0;
        let want = 0.01 + 0.5 * kl / 4.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        let (reconstruction, m, lv) = unpack_vae(&v, 1, &output).unwrap();
        assert_eq!(reconstruction.dims(), &[2, 1, 2, 2]);
        assert_eq!(m.to_vec2::<f32>().unwrap(), mean.map(|r| r.to_vec()).to_vec());
        assert_eq!(lv.to_vec2::<f32>().unwrap(), log_var.map(|r| r.to_vec()).to_vec());
    }
}
