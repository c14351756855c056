//! Small pieces the loss-weighting methods share.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

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

/// Gradient-sized state (moving averages of task gradients) as base64 of the f32 bytes, one
/// string per row: exact, and a fifth of the size of JSON numbers.
pub(crate) fn rows_state(rows: &[Vec<f32>]) -> serde_json::Value {
    use base64::Engine;
    let encoded: Vec<String> = rows
        .iter()
        .map(|row| base64::engine::general_purpose::STANDARD.encode(row.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()))
        .collect();
    serde_json::json!(encoded)
}

/// The rows [`rows_state`] saved.
pub(crate) fn rows_from_state(state: &serde_json::Value, what: &str) -> Result<Vec<Vec<f32>>> {
    use base64::Engine;
    let bad = || Error::Invalid(format!("checkpoint: {what} state is malformed"));
    let rows = state.as_array().ok_or_else(bad)?;
    rows.iter()
        .map(|row| {
            let bytes = base64::engine::general_purpose::STANDARD.decode(row.as_str().ok_or_else(bad)?).map_err(|_| bad())?;
            if bytes.len() % 4 != 0 {
                return Err(bad());
            }
            Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        })
        .collect()
}

/// Adam with L2 weight decay (PyTorch's `torch.optim.Adam(weight_decay=...)`) on a few f64
/// parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SmallAdam {
    lr: f64,
    weight_decay: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl SmallAdam {
    pub(crate) fn new(n: usize, lr: f64, weight_decay: f64) -> Self {
        SmallAdam { lr, weight_decay, m: vec![0.0; n], v: vec![0.0; n], t: 0 }
    }

    pub(crate) fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        self.t += 1;
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        for i in 0..params.len() {
            let g = grad[i] + self.weight_decay * params[i];
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g;
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g;
            let m_hat = self.m[i] / (1.0 - b1.powi(self.t));
            let v_hat = self.v[i] / (1.0 - b2.powi(self.t));
            params[i] -= self.lr * m_hat / (v_hat.sqrt() + eps);
        }
    }
}
