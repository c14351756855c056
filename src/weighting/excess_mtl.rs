//! ExcessMTL (He, Zhou, Zhang, Yun, Xu, Zeng, Chilimbi & Zhao, "Robust multi-task
//! learning with excess risks", ICML 2024), as in the authors' code merged into LibMTL.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::combine::{rows_from_state, rows_state};
use super::gradients::TaskGradients;
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "excess-mtl",
    title: "ExcessMTL",
    citation: "He, Zhou, Zhang, Yun, Xu, Zeng, Chilimbi & Zhao, Robust multi-task learning with excess risks, ICML 2024",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<ExcessMtlParams>,
};

/// ExcessMTL's hyper-parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExcessMtlParams {
    /// Step size of the exponentiated-gradient update of the task weights (LibMTL's
    /// default 0.01).
    pub robust_step_size: f64,
}

impl Default for ExcessMtlParams {
    fn default() -> Self {
        ExcessMtlParams { robust_step_size: 1e-2 }
    }
}

impl HyperParams for ExcessMtlParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.robust_step_size >= 0.0 && self.robust_step_size.is_finite(), "robust_step_size", ">= 0", self.robust_step_size)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: ExcessMtlParams = hyper::parse("weighting.excess-mtl", table)?;
    Ok(Box::new(ExcessMtl::new(context.tasks, p.robust_step_size)))
}

/// Task weights moved by exponentiated gradient ascent on each task's estimated excess
/// risk, so that tasks still far from their own optimum get more weight while tasks whose
/// loss is high only because of label noise (small excess risk) do not. The excess risk of
/// task t is estimated by the second-order term `g_t^T H_t^-1 g_t`, with the diagonal
/// `H_t = sqrt(sum of squared past gradients)` (AdaGrad's curvature proxy), and divided by
/// its value at the first step. Weights are renormalised to sum to T; the update is
/// `sum_t w_t g_t` on every parameter (a weighted loss).
pub struct ExcessMtl {
    step_size: f64,
    weights: Vec<f64>,
    squared_sums: Vec<Vec<f32>>,
    initial: Option<Vec<f64>>,
}

impl ExcessMtl {
    /// ExcessMTL over `tasks` tasks, starting from equal weights.
    pub fn new(tasks: usize, step_size: f64) -> Self {
        ExcessMtl { step_size, weights: vec![1.0; tasks], squared_sums: Vec::new(), initial: None }
    }

    /// Updates the weights from this step's task gradients; returns the excess-risk
    /// estimates `g^T H^-1 g` (exposed for tests).
    pub fn update(&mut self, rows: &[Vec<f32>]) -> Vec<f64> {
        if self.squared_sums.len() != rows.len() || self.squared_sums.iter().zip(rows).any(|(s, r)| s.len() != r.len()) {
            self.squared_sums = rows.iter().map(|r| vec![0.0; r.len()]).collect();
        }
        let risks: Vec<f64> = self
            .squared_sums
            .iter_mut()
            .zip(rows)
            .map(|(sums, g)| {
                let mut risk = 0.0;
                for (s, &v) in sums.iter_mut().zip(g) {
                    *s += v * v;
                    risk += (v as f64) * (v as f64) / ((*s as f64) + 1e-7).sqrt();
                }
                risk
            })
            .collect();
        match &self.initial {
            None => self.initial = Some(risks.clone()),
            Some(initial) => {
                for ((w, r), r0) in self.weights.iter_mut().zip(&risks).zip(initial) {
                    *w *= (self.step_size * r / r0.max(1e-20)).exp();
                }
                let total: f64 = self.weights.iter().sum();
                let t = self.weights.len() as f64;
                for w in &mut self.weights {
                    *w *= t / total;
                }
            }
        }
        risks
    }
}

impl Weighting for ExcessMtl {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let grads = TaskGradients::compute(losses, params)?;
        let gram = grads.gram();
        self.update(&grads.rows);
        let shared = grads.combine(&self.weights);
        let weights = self.weights.clone();
        Ok(Backward { grads: grads.into_store(&shared, Some(&weights))?, task_gram: Some(gram) })
    }

    fn supports_representation(&self) -> bool {
        false
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.weights.clone())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "weights": self.weights, "initial": self.initial, "squared_sums": rows_state(&self.squared_sums) })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let bad = |_| Error::Invalid("checkpoint: ExcessMTL state is malformed".into());
        self.weights = serde_json::from_value(state["weights"].clone()).map_err(bad)?;
        self.initial = serde_json::from_value(state["initial"].clone()).map_err(bad)?;
        self.squared_sums = rows_from_state(&state["squared_sums"], "ExcessMTL")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The property that defines the method: weight flows to the task whose excess risk
    /// stays high relative to its start (still far from its optimum), away from the task
    /// whose gradients shrink (converging), and the weights keep summing to T.
    #[test]
    fn weight_moves_to_the_task_with_the_larger_excess_risk() {
        let mut m = ExcessMtl::new(2, 0.5);
        let first = m.update(&[vec![1.0, 0.0], vec![0.0, 1.0]]);
        // First step: g^2 / sqrt(g^2 + 1e-7) ~ |g|.
        assert!((first[0] - 1.0).abs() < 1e-6 && (first[1] - 1.0).abs() < 1e-6, "{first:?}");
        assert_eq!(m.weights, vec![1.0, 1.0]);
        for k in 1..20 {
            // Task 0's gradient stays; task 1's decays as it converges.
            let shrink = 0.5f32.powi(k);
            m.update(&[vec![1.0, 0.0], vec![0.0, shrink]]);
            assert!((m.weights.iter().sum::<f64>() - 2.0).abs() < 1e-9);
        }
        assert!(m.weights[0] > 1.2 && m.weights[1] < 0.8, "{:?}", m.weights);
        // With step size 0 the weights never move.
        let mut frozen = ExcessMtl::new(2, 0.0);
        for _ in 0..3 {
            frozen.update(&[vec![3.0, 0.0], vec![0.0, 0.1]]);
        }
        assert_eq!(frozen.weights, vec![1.0, 1.0]);
    }
}
