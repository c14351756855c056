//! Gradient Vaccine (GradVac; Wang, Tsvetkov, Firat & Cao, "Gradient vaccine: investigating
//! and improving multi-task optimization in massively multilingual models", ICLR 2021).

use candle_core::Tensor;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::combine::{rng_state, set_rng_state};
use super::gradients::{axpy, norm, to_f32, TaskGradients};
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "gradvac",
    title: "GradVac",
    citation: "Wang, Tsvetkov, Firat & Cao, Gradient vaccine: investigating and improving multi-task optimization in massively multilingual models, ICLR 2021",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<GradVacParams>,
};

/// GradVac's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GradVacParams {
    /// EMA rate of the target similarities (LibMTL's default 0.5).
    pub beta: f64,
}

impl Default for GradVacParams {
    fn default() -> Self {
        GradVacParams { beta: 0.5 }
    }
}

impl HyperParams for GradVacParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require((0.0..=1.0).contains(&self.beta), "beta", "in [0, 1]", self.beta)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: GradVacParams = hyper::parse("weighting.gradvac", table)?;
    Ok(Box::new(GradVac::new(context.tasks, p.beta, context.seed)))
}

/// Like PCGrad, but each pair (i, j) keeps an EMA target cosine similarity (whole-model
/// granularity); when `g_i`'s similarity to `g_j` falls below it, `g_j` is added to `g_i`
/// with the coefficient that raises the similarity exactly to the target. The EMA is
/// updated after every comparison as in the paper's Algorithm 1 (LibMTL updates it only
/// when the correction fires).
pub struct GradVac {
    beta: f64,
    targets: Vec<Vec<f64>>,
    rng: ChaCha8Rng,
}

impl GradVac {
    /// GradVac over `tasks` tasks with EMA rate `beta`, visiting orders drawn from `seed`.
    pub fn new(tasks: usize, beta: f64, seed: u64) -> Self {
        GradVac { beta, targets: vec![vec![0.0; tasks]; tasks], rng: ChaCha8Rng::seed_from_u64(seed ^ 0x4756) }
    }
}

impl Weighting for GradVac {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let grads = TaskGradients::compute(losses, params)?;
        let gram = grads.gram();
        let t = grads.tasks();
        let norms: Vec<f64> = grads.rows.iter().map(|r| norm(r)).collect();
        let dim = grads.rows.first().map_or(0, Vec::len);
        let mut sum = vec![0f64; dim];
        for i in 0..t {
            let mut g: Vec<f64> = grads.rows[i].iter().map(|&v| v as f64).collect();
            let mut order: Vec<usize> = (0..t).filter(|&j| j != i).collect();
            order.shuffle(&mut self.rng);
            for j in order {
                let gi_norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
                let ip: f64 = g.iter().zip(&grads.rows[j]).map(|(a, &b)| a * b as f64).sum();
                let phi = ip / (gi_norm * norms[j] + 1e-8);
                let target = self.targets[i][j];
                if phi < target {
                    let coef = gi_norm * (target * (1.0 - phi * phi).max(0.0).sqrt() - phi * (1.0 - target * target).max(0.0).sqrt())
                        / (norms[j] * (1.0 - target * target).max(0.0).sqrt() + 1e-8);
                    axpy(&mut g, -coef, &grads.rows[j]);
                }
                self.targets[i][j] = (1.0 - self.beta) * target + self.beta * phi;
            }
            for (s, v) in sum.iter_mut().zip(&g) {
                *s += v;
            }
        }
        Ok(Backward { grads: grads.into_store(&to_f32(sum), None)?, task_gram: Some(gram) })
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "targets": self.targets, "rng": rng_state(&self.rng) })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        self.targets = serde_json::from_value(state["targets"].clone())
            .map_err(|_| Error::Invalid("checkpoint: GradVac state is malformed".into()))?;
        set_rng_state(&mut self.rng, &state["rng"])
    }
}
