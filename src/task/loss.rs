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

/// The loss of one task's head output against its batch targets, as prepared by
/// [`crate::train::batch`]: `N x 1` floats for binary and (normalised) regression tasks,
/// `N` class indices otherwise.
pub fn task_loss(kind: &TaskKind, output: &Tensor, target: &Tensor) -> Result<Tensor> {
    match kind {
        TaskKind::Binary => bce_with_logits(output, target),
        TaskKind::MultiClass { .. } | TaskKind::Ordinal { .. } => cross_entropy(output, target),
        TaskKind::Regression => Ok((output - target)?.sqr()?.mean_all()?),
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
