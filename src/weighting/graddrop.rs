//! GradDrop, gradient sign dropout (Chen, Ngiam, Huang, Luong, Kretzschmar, Chai & Anguelov,
//! "Just pick a sign: optimizing deep multitask models with gradient sign dropout",
//! NeurIPS 2020), on the shared representation as in the paper and LibMTL.

use candle_core::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::combine::{rng_state, set_rng_state};
use super::gradients::TaskGradients;
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::{Owner, ParamStore};
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "graddrop",
    title: "GradDrop",
    citation: "Chen, Ngiam, Huang, Luong, Kretzschmar, Chai & Anguelov, Just pick a sign: optimizing deep multitask models with gradient sign dropout, NeurIPS 2020",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<GradDropParams>,
};

/// GradDrop's hyper-parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GradDropParams {
    /// Share of every gradient that always passes: 0 is full GradDrop (LibMTL's default),
    /// 1 the plain sum.
    pub leak: f64,
}

impl Default for GradDropParams {
    fn default() -> Self {
        GradDropParams { leak: 0.0 }
    }
}

impl HyperParams for GradDropParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require((0.0..=1.0).contains(&self.leak), "leak", "in [0, 1]", self.leak)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: GradDropParams = hyper::parse("weighting.graddrop", table)?;
    Ok(Box::new(GradDrop::new(p.leak, context.seed)))
}

/// At each feature of the shared representation, the tasks' gradients vote on a sign: with
/// the sign-corrected, batch-summed gradients `S_t = sum_b D_t[b] sign(z[b])`, the positive
/// sign wins with probability `P = (1 + sum_t S_t / sum_t |S_t|) / 2` (one uniform draw per
/// feature, shared by the tasks and the batch), and each task's gradient passes only where
/// its sign agrees with the winner. Consistent features pass untouched; conflicting ones are
/// resolved stochastically in proportion to the gradient mass behind each sign.
pub struct GradDrop {
    leak: f64,
    rng: ChaCha8Rng,
}

impl GradDrop {
    /// GradDrop with `leak`, drawing from `seed`.
    pub fn new(leak: f64, seed: u64) -> Self {
        GradDrop { leak, rng: ChaCha8Rng::seed_from_u64(seed ^ 0x4744) }
    }

    /// The positive-sign probability per feature from the sign-corrected gradients `s[t][f]`.
    pub fn positive_probability(s: &[Vec<f64>]) -> Vec<f64> {
        let features = s.first().map_or(0, Vec::len);
        (0..features)
            .map(|f| {
                let sum: f64 = s.iter().map(|st| st[f]).sum();
                let abs: f64 = s.iter().map(|st| st[f].abs()).sum();
                0.5 * (1.0 + sum / (abs + 1e-7))
            })
            .collect()
    }

    /// The new gradient of one representation level: `d[t]` the tasks' gradients and `z` the
    /// representation, both `batch x features` flattened row-major.
    pub fn combine_level(&mut self, d: &[&[f32]], z: &[f32], batch: usize) -> Vec<f32> {
        let features = z.len() / batch.max(1);
        let signed: Vec<Vec<f64>> = d
            .iter()
            .map(|dt| {
                let mut s = vec![0.0; features];
                for b in 0..batch {
                    for f in 0..features {
                        let k = b * features + f;
                        s[f] += dt[k] as f64 * sign(z[k]);
                    }
                }
                s
            })
            .collect();
        let p = Self::positive_probability(&signed);
        let keep: Vec<Vec<f64>> = {
            let u: Vec<f64> = (0..features).map(|_| self.rng.random::<f64>()).collect();
            signed
                .iter()
                .map(|st| {
                    (0..features)
                        .map(|f| {
                            let mask = (p[f] > u[f] && st[f] > 0.0) || (p[f] < u[f] && st[f] < 0.0);
                            self.leak + (1.0 - self.leak) * if mask { 1.0 } else { 0.0 }
                        })
                        .collect()
                })
                .collect()
        };
        (0..batch * features).map(|k| d.iter().zip(&keep).map(|(dt, m)| dt[k] as f64 * m[k % features]).sum::<f64>() as f32).collect()
    }
}

fn sign(v: f32) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl Weighting for GradDrop {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        if !params.is_representation() {
            return Err(Error::Invalid(
                "GradDrop acts on the shared representation: train it through the representation step (rep_grad)".into(),
            ));
        }
        let grads = TaskGradients::compute(losses, params)?;
        let gram = grads.gram();
        let mut shared = Vec::with_capacity(grads.rows.first().map_or(0, Vec::len));
        let mut offset = 0;
        for level in params.trainable_owned_by(Owner::Shared) {
            let n = level.elem_count();
            let batch = level.dims().first().copied().unwrap_or(1).max(1);
            let z: Vec<f32> = level.as_tensor().flatten_all()?.to_vec1()?;
            let d: Vec<&[f32]> = grads.rows.iter().map(|r| &r[offset..offset + n]).collect();
            shared.extend(self.combine_level(&d, &z, batch));
            offset += n;
        }
        Ok(Backward { grads: grads.into_store(&shared, None)?, task_gram: Some(gram) })
    }

    fn needs_representation(&self) -> bool {
        true
    }

    fn state(&self) -> serde_json::Value {
        rng_state(&self.rng)
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        set_rng_state(&mut self.rng, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The property that defines the method: a task's positive gradient at a feature passes
    /// with the probability `P` of the formula (here 0.75: S = (3, -1)), a negative one with
    /// `1 - P`, never both at once; all-agreeing signs always pass; leak 1 is the plain sum.
    #[test]
    fn sign_consistency_probability_matches_its_formula() {
        assert_eq!(GradDrop::positive_probability(&[vec![3.0], vec![-1.0]]), vec![0.5 * (1.0 + 2.0 / (4.0 + 1e-7))]);
        let mut m = GradDrop::new(0.0, 7);
        let (a, b) = ([3.0f32], [-1.0f32]);
        let z = [1.0f32];
        let draws = 20000;
        let mut positive = 0;
        for _ in 0..draws {
            let out = m.combine_level(&[&a, &b], &z, 1)[0];
            assert!(out == 3.0 || out == -1.0, "exactly one sign passes: {out}");
            positive += usize::from(out == 3.0);
        }
        let share = positive as f64 / draws as f64;
        assert!((share - 0.75).abs() < 0.01, "positive share {share}");
        // Agreeing signs (after correcting by the representation's sign) always pass.
        let out = m.combine_level(&[&[2.0, -1.0], &[0.5, -3.0]], &[1.0, -2.0], 1);
        assert_eq!(out, vec![2.5, -4.0]);
        let mut plain = GradDrop::new(1.0, 7);
        assert_eq!(plain.combine_level(&[&a, &b], &z, 1), vec![2.0]);
    }

    /// The vote is per feature over the whole batch: the sign correction uses each sample's
    /// representation, and the mask is shared by the batch.
    #[test]
    fn the_vote_sums_the_batch_with_the_representation_sign() {
        // Two samples, one feature; z's sign flips between them, so task 0's gradients
        // (+1 on a positive z, -1 on a negative z) are consistently "positive": S_0 = 2.
        // Task 1 agrees (S_1 = 2): everything passes.
        let mut m = GradDrop::new(0.0, 1);
        let out = m.combine_level(&[&[1.0, -1.0], &[1.0, -1.0]], &[0.5, -0.5], 2);
        assert_eq!(out, vec![2.0, -2.0]);
    }
}
