//! Small pieces the loss-weighting methods share.

use candle_core::Tensor;

use crate::{Error, Result};

/// `sum_t w_t L_t` as one scalar tensor.
pub(crate) fn weighted_total(losses: &[Tensor], weights: &[f64]) -> Result<Tensor> {
    let mut total: Option<Tensor> = None;
    for (l, &w) in losses.iter().zip(weights) {
        let term = if w == 1.0 { l.clone() } else { (l * w)? };
        total = Some(match total {
            Some(t) => (t + term)?,
            None => term,
        });
    }
    total.ok_or_else(|| Error::Invalid("no task losses".into()))
}

/// Numerically stable softmax.
pub(crate) fn softmax(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// A seeded generator's position, so that a resumed run draws the numbers the
/// uninterrupted run would have drawn.
pub(crate) fn rng_state(rng: &rand_chacha::ChaCha8Rng) -> serde_json::Value {
    serde_json::json!({ "word_pos": rng.get_word_pos().to_string() })
}

/// Moves `rng` to the position [`rng_state`] saved.
pub(crate) fn set_rng_state(rng: &mut rand_chacha::ChaCha8Rng, state: &serde_json::Value) -> Result<()> {
    let pos = state
        .get("word_pos")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<u128>().ok())
        .ok_or_else(|| Error::Invalid("checkpoint: random-number state is missing".into()))?;
    rng.set_word_pos(pos);
    Ok(())
}
