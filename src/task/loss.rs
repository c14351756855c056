//! Training losses per task kind.

use candle_core::{DType, Tensor, D};

use super::TaskKind;
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
/// - reconstruction: the input images (MSE);
/// - ellipse: `N x 6` encoded parameters (MSE).
pub fn task_loss(kind: &TaskKind, output: &Tensor, target: &Tensor) -> Result<Tensor> {
    match kind {
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
}
