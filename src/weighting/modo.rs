//! MoDo, multi-objective gradient with double sampling (Chen, Fernando, Ying & Chen,
//! "Three-way trade-off in multi-objective learning: optimization, generalization and
//! conflict-avoidance", NeurIPS 2023), as in LibMTL.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::gradients::{cross_gram, into_store_over_batches, three_batches};
use super::{solvers, Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "modo",
    title: "MoDo",
    citation: "Chen, Fernando, Ying & Chen, Three-way trade-off in multi-objective learning: optimization, generalization and conflict-avoidance, NeurIPS 2023",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<MoDoParams>,
};

/// MoDo's hyper-parameters (LibMTL's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MoDoParams {
    /// Step size of the task-weight update (constant).
    pub gamma: f64,
    /// L2 regularisation of the task weights.
    pub rho: f64,
}

impl Default for MoDoParams {
    fn default() -> Self {
        MoDoParams { gamma: 1e-3, rho: 0.1 }
    }
}

impl HyperParams for MoDoParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.gamma >= 0.0 && self.gamma.is_finite(), "gamma", ">= 0", self.gamma)?;
        hyper::require(self.rho >= 0.0 && self.rho.is_finite(), "rho", ">= 0", self.rho)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: MoDoParams = hyper::parse("weighting.modo", table)?;
    Ok(Box::new(MoDo::new(context.tasks, p)))
}

/// Stochastic MGDA without its bias: the weights take a projected gradient step on
/// `|G lambda|^2 / 2 + rho |lambda|^2 / 2` whose gradient `G0 G1^T lambda` multiplies the
/// task gradients of two independent batches (an unbiased estimate of `G G^T lambda`, where
/// one batch's `G0 G0^T` is biased by its noise), and the update `G2^T lambda` uses a third.
/// Task-specific parameters take their gradients' mean over the three batches.
pub struct MoDo {
    params: MoDoParams,
    lambda: Vec<f64>,
}

impl MoDo {
    /// MoDo over `tasks` tasks, starting from equal weights.
    pub fn new(tasks: usize, params: MoDoParams) -> Self {
        MoDo { params, lambda: vec![1.0 / tasks as f64; tasks] }
    }

    /// The weight update from the gradients of batches 0 and 1 (exposed for tests).
    pub fn update_weights(&mut self, g0: &[Vec<f32>], g1: &[Vec<f32>]) {
        let m = cross_gram(g0, g1);
        let t = self.lambda.len();
        let step: Vec<f64> = (0..t)
            .map(|i| {
                let grad = (0..t).map(|j| m[i][j] * self.lambda[j]).sum::<f64>() + self.params.rho * self.lambda[i];
                self.lambda[i] - self.params.gamma * grad
            })
            .collect();
        self.lambda = solvers::project_to_simplex(&step);
    }
}

impl Weighting for MoDo {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        // One batch (a timing loop, say): all three roles fall to it.
        self.backward_batches(&[losses.to_vec(), losses.to_vec(), losses.to_vec()], params)
    }

    fn supports_representation(&self) -> bool {
        false
    }

    fn batches_per_step(&self) -> usize {
        3
    }

    fn backward_batches(&mut self, losses: &[Vec<Tensor>], params: &ParamStore) -> Result<Backward> {
        let grads = three_batches(losses, params, "MoDo")?;
        self.update_weights(&grads[0].rows, &grads[1].rows);
        let gram = grads[2].gram();
        let shared = grads[2].combine(&self.lambda);
        Ok(Backward { grads: into_store_over_batches(grads, &shared)?, task_gram: Some(gram) })
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.lambda.clone())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "lambda": self.lambda })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        self.lambda =
            serde_json::from_value(state["lambda"].clone()).map_err(|_| Error::Invalid("checkpoint: MoDo state is malformed".into()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gram_of(rows: &[Vec<f32>]) -> Vec<Vec<f64>> {
        cross_gram(rows, rows)
    }

    /// The property that defines the method: on exact gradients (three equal batches) and
    /// without regularisation, the weights converge to MGDA's min-norm weights; with
    /// independent batches, a batch whose gradients are zero stops the weights from moving
    /// (only products of two batches drive them).
    #[test]
    fn converges_to_min_norm_weights_and_multiplies_independent_batches() {
        let g = vec![vec![2.0f32, 0.0, 1.0], vec![-1.0, 1.0, 0.5], vec![0.3, -0.2, 1.5]];
        let mut m = MoDo::new(3, MoDoParams { gamma: 0.05, rho: 0.0 });
        for _ in 0..20000 {
            m.update_weights(&g, &g);
        }
        let expected = solvers::min_norm_weights(&gram_of(&g));
        for (a, b) in m.lambda.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-3, "{:?} vs {expected:?}", m.lambda);
        }
        let mut still = MoDo::new(3, MoDoParams { gamma: 0.05, rho: 0.0 });
        let zero = vec![vec![0.0f32; 3]; 3];
        for _ in 0..100 {
            still.update_weights(&g, &zero);
        }
        assert_eq!(still.lambda, vec![1.0 / 3.0; 3]);
    }
}
