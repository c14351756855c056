//! MoCo (Fernando, Shen, Liu, Chaudhury, Murugesan & Chen, "Mitigating gradient bias in
//! multi-objective learning: a provably convergent approach", ICLR 2023), as in LibMTL.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::combine::{rows_from_state, rows_state, softmax};
use super::gradients::{cross_gram, norm, TaskGradients};
use super::{loss_values, Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "moco",
    title: "MoCo",
    citation: "Fernando, Shen, Liu, Chaudhury, Murugesan & Chen, Mitigating gradient bias in multi-objective learning: a provably convergent approach, ICLR 2023",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<MoCoParams>,
};

/// MoCo's hyper-parameters (LibMTL's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MoCoParams {
    /// Tracking rate of the gradient estimates at step 1.
    pub beta: f64,
    /// Its decay: step k tracks with `beta / k^beta_sigma`.
    pub beta_sigma: f64,
    /// Step size of the task-weight update at step 1.
    pub gamma: f64,
    /// Its decay: step k uses `gamma / k^gamma_sigma`.
    pub gamma_sigma: f64,
    /// L2 regularisation of the task weights.
    pub rho: f64,
}

impl Default for MoCoParams {
    fn default() -> Self {
        MoCoParams { beta: 0.5, beta_sigma: 0.5, gamma: 0.1, gamma_sigma: 0.5, rho: 0.0 }
    }
}

impl HyperParams for MoCoParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.beta > 0.0 && self.beta <= 1.0, "beta", "in (0, 1]", self.beta)?;
        hyper::require(self.beta_sigma >= 0.0 && self.beta_sigma.is_finite(), "beta_sigma", ">= 0", self.beta_sigma)?;
        hyper::require(self.gamma >= 0.0 && self.gamma.is_finite(), "gamma", ">= 0", self.gamma)?;
        hyper::require(self.gamma_sigma >= 0.0 && self.gamma_sigma.is_finite(), "gamma_sigma", ">= 0", self.gamma_sigma)?;
        hyper::require(self.rho >= 0.0 && self.rho.is_finite(), "rho", ">= 0", self.rho)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: MoCoParams = hyper::parse("weighting.moco", table)?;
    Ok(Box::new(MoCo::new(context.tasks, p)))
}

/// MGDA with tracked gradients: each task's gradient, rescaled to the norm of its loss,
/// is tracked by a moving average `y_t` (which removes the bias that MGDA's min-norm
/// weights have on stochastic gradients), the weights take a step of gradient descent on
/// `|Y^T lambda|^2 / 2 + rho |lambda|^2 / 2` (mapped back to the simplex by a softmax, as
/// LibMTL does where the paper projects), and the update is `Y^T lambda`.
pub struct MoCo {
    params: MoCoParams,
    step: u64,
    tracked: Vec<Vec<f32>>,
    lambda: Vec<f64>,
}

impl MoCo {
    /// MoCo over `tasks` tasks, starting from equal weights and zero estimates.
    pub fn new(tasks: usize, params: MoCoParams) -> Self {
        MoCo { params, step: 0, tracked: Vec::new(), lambda: vec![1.0 / tasks as f64; tasks] }
    }

    /// The shared update from this step's gradients and losses (exposed for tests).
    pub fn update(&mut self, rows: &[Vec<f32>], losses: &[f64]) -> Vec<f32> {
        self.step += 1;
        let k = self.step as f64;
        let beta = self.params.beta / k.powf(self.params.beta_sigma);
        let gamma = self.params.gamma / k.powf(self.params.gamma_sigma);
        if self.tracked.len() != rows.len() || self.tracked.iter().zip(rows).any(|(y, r)| y.len() != r.len()) {
            self.tracked = rows.iter().map(|r| vec![0.0; r.len()]).collect();
        }
        for ((y, g), &loss) in self.tracked.iter_mut().zip(rows).zip(losses) {
            let scale = loss / (norm(g) + 1e-8);
            for (a, &v) in y.iter_mut().zip(g) {
                let target = v as f64 * scale;
                *a = (*a as f64 - beta * (*a as f64 - target)) as f32;
            }
        }
        let t = rows.len();
        let gram = cross_gram(&self.tracked, &self.tracked);
        let descent: Vec<f64> = (0..t)
            .map(|i| self.lambda[i] - gamma * ((0..t).map(|j| gram[i][j] * self.lambda[j]).sum::<f64>() + self.params.rho * self.lambda[i]))
            .collect();
        self.lambda = softmax(&descent);
        let dim = rows.first().map_or(0, Vec::len);
        (0..dim).map(|k| self.tracked.iter().zip(&self.lambda).map(|(y, w)| w * y[k] as f64).sum::<f64>() as f32).collect()
    }
}

impl Weighting for MoCo {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let values = loss_values(losses)?;
        let grads = TaskGradients::compute(losses, params)?;
        let gram = grads.gram();
        let shared = self.update(&grads.rows, &values);
        Ok(Backward { grads: grads.into_store(&shared, None)?, task_gram: Some(gram) })
    }

    fn supports_representation(&self) -> bool {
        false
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.lambda.clone())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "step": self.step, "lambda": self.lambda, "tracked": rows_state(&self.tracked) })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let bad = |_| Error::Invalid("checkpoint: MoCo state is malformed".into());
        self.step = serde_json::from_value(state["step"].clone()).map_err(bad)?;
        self.lambda = serde_json::from_value(state["lambda"].clone()).map_err(bad)?;
        self.tracked = rows_from_state(&state["tracked"], "MoCo")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The property that defines the tracking: with noisy gradients around a fixed mean,
    /// the tracked estimate converges to the mean (rescaled to the loss), while one noisy
    /// sample can be far from it; the weights move towards the task whose tracked gradient
    /// is smaller (MGDA's direction) and stay on the simplex.
    #[test]
    fn tracks_the_mean_gradient_and_weights_the_smaller_one() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut m = MoCo::new(2, MoCoParams { gamma: 0.5, ..MoCoParams::default() });
        for _ in 0..2000 {
            // Task 0: direction (1, 0) with noise, loss 2; task 1: direction (0, 1), loss 0.5.
            let a = vec![1.0 + rng.random_range(-0.3f32..0.3), rng.random_range(-0.3f32..0.3)];
            let b = vec![rng.random_range(-0.3f32..0.3), 1.0 + rng.random_range(-0.3f32..0.3)];
            m.update(&[a, b], &[2.0, 0.5]);
            assert!((m.lambda.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // Each noisy sample is rescaled to norm = loss; their mean is close to (2, 0) and (0, 0.5).
        assert!((m.tracked[0][0] - 2.0).abs() < 0.15 && m.tracked[0][1].abs() < 0.15, "{:?}", m.tracked[0]);
        assert!((m.tracked[1][1] - 0.5).abs() < 0.05 && m.tracked[1][0].abs() < 0.05, "{:?}", m.tracked[1]);
        assert!(m.lambda[1] > m.lambda[0], "{:?}", m.lambda);
        // With the tracking rate at 1 every step, y is the latest (rescaled) gradient.
        let mut exact = MoCo::new(2, MoCoParams { beta: 1.0, beta_sigma: 0.0, ..MoCoParams::default() });
        exact.update(&[vec![3.0, 4.0], vec![0.0, 2.0]], &[1.0, 4.0]);
        assert!((exact.tracked[0][0] - 0.6).abs() < 1e-6 && (exact.tracked[0][1] - 0.8).abs() < 1e-6);
        assert!((exact.tracked[1][1] - 4.0).abs() < 1e-6);
    }
}
