//! SDMGrad, stochastic direction-oriented multi-objective gradient (Xiao, Ban & Ji,
//! "Direction-oriented multi-objective learning: simple and provable stochastic algorithms",
//! NeurIPS 2023), as in LibMTL.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::gradients::{cross_gram, into_store_over_batches, three_batches};
use super::{solvers, Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "sdmgrad",
    title: "SDMGrad",
    citation: "Xiao, Ban & Ji, Direction-oriented multi-objective learning: simple and provable stochastic algorithms, NeurIPS 2023",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<SdmGradParams>,
};

/// SDMGrad's hyper-parameters (LibMTL's defaults; its inner solver's learning rate and
/// momentum are constants there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SdmGradParams {
    /// Pull `lambda` of the direction towards the mean gradient: 0 is MGDA's min-norm
    /// direction, large values the mean.
    pub lambda: f64,
    /// Projected-gradient iterations of the weights per step.
    pub niter: usize,
    /// Learning rate of those iterations on the normalised objective. LibMTL's 5 can
    /// overshoot: on a three-task example the weights end at (0.76, 0.24, 0) where the
    /// minimum is (0.37, 0.63, 0); 0.2 converges to it (see the test).
    pub inner_lr: f64,
    /// Momentum of those iterations (reset every step).
    pub inner_momentum: f64,
}

impl Default for SdmGradParams {
    fn default() -> Self {
        SdmGradParams { lambda: 0.3, niter: 20, inner_lr: 5.0, inner_momentum: 0.5 }
    }
}

impl HyperParams for SdmGradParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.lambda >= 0.0 && self.lambda.is_finite(), "lambda", ">= 0", self.lambda)?;
        hyper::require(self.niter >= 1, "niter", ">= 1", self.niter)?;
        hyper::require(self.inner_lr > 0.0 && self.inner_lr.is_finite(), "inner_lr", "> 0", self.inner_lr)?;
        hyper::require((0.0..1.0).contains(&self.inner_momentum), "inner_momentum", "in [0, 1)", self.inner_momentum)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: SdmGradParams = hyper::parse("weighting.sdmgrad", table)?;
    Ok(Box::new(SdmGrad::new(context.tasks, p)))
}

/// The direction `(G^T w + lambda g_mean) / (1 + lambda)` with simplex weights `w`
/// minimising `|G^T w|^2 / 2 + lambda g_mean . G^T w`: MGDA regularised towards the mean
/// gradient. The weights' objective uses the cross-Gram matrix of two independent batches
/// (unbiased), normalised by its diagonal's scale, and takes `niter` steps of projected
/// gradient descent with momentum, warm-started from the last step's weights; the
/// direction uses a third batch. Task-specific parameters take their gradients' mean over
/// the three batches (LibMTL sums them).
pub struct SdmGrad {
    params: SdmGradParams,
    w: Vec<f64>,
}

impl SdmGrad {
    /// SDMGrad over `tasks` tasks, starting from equal weights.
    pub fn new(tasks: usize, params: SdmGradParams) -> Self {
        SdmGrad { params, w: vec![1.0 / tasks as f64; tasks] }
    }

    /// The weight update from two independent batches' gradients (exposed for tests).
    pub fn update_weights(&mut self, g1: &[Vec<f32>], g2: &[Vec<f32>]) {
        let mut m = cross_gram(g1, g2);
        let t = m.len();
        let scale = (0..t).map(|i| m[i][i].max(0.0).sqrt()).sum::<f64>() / t as f64;
        for row in &mut m {
            for v in row.iter_mut() {
                *v /= scale * scale + 1e-8;
            }
        }
        let mean: Vec<f64> = m.iter().map(|row| row.iter().sum::<f64>() / t as f64).collect();
        let mut velocity = vec![0.0; t];
        for _ in 0..self.params.niter {
            let grad: Vec<f64> = (0..t).map(|i| (0..t).map(|j| m[i][j] * self.w[j]).sum::<f64>() + self.params.lambda * mean[i]).collect();
            for i in 0..t {
                velocity[i] = self.params.inner_momentum * velocity[i] + grad[i];
                self.w[i] -= self.params.inner_lr * velocity[i];
            }
            let on_simplex = self.w.iter().all(|&v| v >= 0.0) && (self.w.iter().sum::<f64>() - 1.0).abs() < 1e-12;
            if !on_simplex {
                self.w = solvers::project_to_simplex(&self.w);
            }
        }
    }

    /// The direction from a batch's gradients and the current weights.
    pub fn direction(&self, rows: &[Vec<f32>]) -> Vec<f32> {
        let t = rows.len() as f64;
        let lambda = self.params.lambda;
        let dim = rows.first().map_or(0, Vec::len);
        (0..dim)
            .map(|k| {
                let weighted: f64 = rows.iter().zip(&self.w).map(|(r, w)| w * r[k] as f64).sum();
                let mean: f64 = rows.iter().map(|r| r[k] as f64).sum::<f64>() / t;
                ((weighted + lambda * mean) / (1.0 + lambda)) as f32
            })
            .collect()
    }
}

impl Weighting for SdmGrad {
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
        let grads = three_batches(losses, params, "SDMGrad")?;
        self.update_weights(&grads[1].rows, &grads[2].rows);
        let gram = grads[0].gram();
        let shared = self.direction(&grads[0].rows);
        Ok(Backward { grads: into_store_over_batches(grads, &shared)?, task_gram: Some(gram) })
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.w.clone())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "w": self.w })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        self.w = serde_json::from_value(state["w"].clone()).map_err(|_| Error::Invalid("checkpoint: SDMGrad state is malformed".into()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The property that defines the method: with `lambda = 0` (and a convergent inner
    /// step) the weights reach MGDA's min-norm weights; as `lambda` grows the direction
    /// tends to the mean gradient.
    #[test]
    fn between_min_norm_and_the_mean_gradient() {
        let g = vec![vec![2.0f32, 0.0, 1.0], vec![-1.0, 1.0, 0.5], vec![0.3, -0.2, 1.5]];
        let mut mgda = SdmGrad::new(3, SdmGradParams { lambda: 0.0, inner_lr: 0.2, ..SdmGradParams::default() });
        for _ in 0..200 {
            mgda.update_weights(&g, &g);
        }
        let expected = solvers::min_norm_weights(&cross_gram(&g, &g));
        for (a, b) in mgda.w.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-3, "{:?} vs {expected:?}", mgda.w);
        }
        let mut mean = SdmGrad::new(3, SdmGradParams { lambda: 1e6, ..SdmGradParams::default() });
        mean.update_weights(&g, &g);
        let d = mean.direction(&g);
        for k in 0..3 {
            let m = g.iter().map(|r| r[k]).sum::<f32>() / 3.0;
            assert!((d[k] - m).abs() < 1e-4, "{d:?}");
        }
    }
}
