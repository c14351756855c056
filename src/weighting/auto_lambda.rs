//! Auto-Lambda (Liu, James, Davison & Johns, "Auto-Lambda: disentangling dynamic task
//! relationships", TMLR 2022), the bilevel form LibMTL implements.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::combine::{softmax, weighted_total, SmallAdam};
use super::{loss_values, Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::{no_grad, ParamStore};
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "auto-lambda",
    title: "Auto-Lambda",
    citation: "Liu, James, Davison & Johns, Auto-Lambda: disentangling dynamic task relationships, TMLR 2022",
    family: Family::Loss,
    construct,
    params: hyper::resolve::<AutoLambdaParams>,
};

/// Auto-Lambda's hyper-parameters (LibMTL's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoLambdaParams {
    /// Learning rate of the task weights' own Adam.
    pub outer_lr: f64,
    /// Size of the finite-difference step of the Hessian-vector product, relative to the
    /// outer gradient's norm (DARTS's 0.01).
    pub fd_scale: f64,
}

impl Default for AutoLambdaParams {
    fn default() -> Self {
        AutoLambdaParams { outer_lr: 1e-3, fd_scale: 0.01 }
    }
}

impl HyperParams for AutoLambdaParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.outer_lr > 0.0 && self.outer_lr.is_finite(), "outer_lr", "> 0", self.outer_lr)?;
        hyper::require(self.fd_scale > 0.0 && self.fd_scale.is_finite(), "fd_scale", "> 0", self.fd_scale)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: AutoLambdaParams = hyper::parse("weighting.auto-lambda", table)?;
    Ok(Box::new(AutoLambda::new(context.tasks, p)))
}

/// The batches of one step after the real update's (draw 0): the inner (virtual step) and
/// outer (meta-objective) batches, each a fresh training batch (LibMTL draws these two at
/// half size; medmtl at the run's batch size).
const INNER: usize = 1;
const OUTER: usize = 2;

/// Task weights `softmax(a)` learned so that a step on the weighted loss lowers the
/// unweighted loss of every task on another batch: a virtual SGD step
/// `theta' = theta - lr grad sum_t w_t L_t(inner)`, the outer gradient
/// `d = grad_theta' sum_t L_t(outer)`, and the meta-gradient `-lr (h+ - h-) / (2 eps)`
/// with `h+- = d/da sum_t w_t L_t(theta +- eps d; inner)` (a finite-difference
/// Hessian-vector product, `eps = fd_scale / |d|`). The weights take one Adam step on it,
/// then the model one on `sum_t w_t L_t(main)`. Parameters and BatchNorm statistics are
/// restored after the look-ahead (LibMTL leaves the statistics moved).
pub struct AutoLambda {
    params: AutoLambdaParams,
    logits: Vec<f64>,
    adam: SmallAdam,
}

impl AutoLambda {
    /// Auto-Lambda over `tasks` tasks, starting from equal weights.
    pub fn new(tasks: usize, params: AutoLambdaParams) -> Self {
        let adam = SmallAdam::new(tasks, params.outer_lr, 0.0);
        AutoLambda { params, logits: vec![1.0 / tasks as f64; tasks], adam }
    }

    /// `d/da sum_t softmax(a)_t L_t` for loss values `l`: `w_j (L_j - sum_t w_t L_t)`.
    fn weight_gradient(w: &[f64], l: &[f64]) -> Vec<f64> {
        let mean: f64 = w.iter().zip(l).map(|(a, b)| a * b).sum();
        w.iter().zip(l).map(|(wj, lj)| wj * (lj - mean)).collect()
    }

    /// The meta-gradient of the task logits at the current parameters (exposed for tests);
    /// the parameters and buffers are as before when it returns.
    pub fn meta_gradient(
        &self,
        params: &ParamStore,
        lr: f64,
        forward: &mut dyn FnMut(usize) -> Result<Vec<Tensor>>,
    ) -> Result<Vec<f64>> {
        let vars = params.trainable_vars();
        let saved = params.snapshot(|_| true)?;
        let originals: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().copy()).collect::<candle_core::Result<_>>()?;
        let w = softmax(&self.logits);
        let result = (|| {
            let inner = weighted_total(&forward(INNER)?, &w)?.backward()?;
            for (v, o) in vars.iter().zip(&originals) {
                if let Some(g) = inner.get(v.as_tensor()) {
                    v.set(&(o - (g * lr)?)?)?;
                }
            }
            drop(inner);
            let outer = forward(OUTER)?;
            let d_store = weighted_total(&outer, &vec![1.0; outer.len()])?.backward()?;
            let d: Vec<Option<Tensor>> = vars.iter().map(|v| d_store.get(v.as_tensor()).cloned()).collect();
            let norm = d.iter().flatten().map(|g| Ok(g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64)).sum::<Result<f64>>()?.sqrt();
            if norm == 0.0 {
                return Ok(vec![0.0; w.len()]);
            }
            let eps = self.params.fd_scale / norm;
            let mut h = Vec::with_capacity(2);
            for sign in [1.0, -1.0] {
                for ((v, o), g) in vars.iter().zip(&originals).zip(&d) {
                    match g {
                        Some(g) => v.set(&(o + (g * (sign * eps))?)?)?,
                        None => v.set(o)?,
                    }
                }
                let _no_grad = no_grad();
                h.push(Self::weight_gradient(&w, &loss_values(&forward(INNER)?)?));
            }
            Ok(h[0].iter().zip(&h[1]).map(|(p, m)| -lr * (p - m) / (2.0 * eps)).collect())
        })();
        params.restore(&saved)?;
        result
    }
}

impl Weighting for AutoLambda {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<Backward> {
        // Without a look-ahead (a caller that cannot recompute batches): the current weights.
        Ok(weighted_total(losses, &softmax(&self.logits))?.backward()?.into())
    }

    fn batches_per_step(&self) -> usize {
        3
    }

    fn looks_ahead(&self) -> bool {
        true
    }

    fn backward_looking_ahead(
        &mut self,
        losses: &[Tensor],
        params: &ParamStore,
        lr: f64,
        forward: &mut dyn FnMut(usize) -> Result<Vec<Tensor>>,
    ) -> Result<Backward> {
        let meta = self.meta_gradient(params, lr, forward)?;
        self.adam.step(&mut self.logits, &meta);
        self.backward(losses, params)
    }

    fn supports_representation(&self) -> bool {
        false
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(softmax(&self.logits))
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "logits": self.logits, "adam": self.adam })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let bad = |_| Error::Invalid("checkpoint: Auto-Lambda state is malformed".into());
        self.logits = serde_json::from_value(state["logits"].clone()).map_err(bad)?;
        self.adam = serde_json::from_value(state["adam"].clone()).map_err(bad)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::ParamBuilder;
    use candle_core::Device;

    /// The property that defines the method: its meta-gradient is the derivative in the
    /// logits of the outer loss after the virtual step (checked against a finite difference
    /// of that outer loss computed in closed form, quadratic losses), and the parameters
    /// are untouched afterwards.
    #[test]
    fn meta_gradient_is_the_derivative_of_the_outer_loss_after_the_virtual_step() {
        let d = Device::Cpu;
        let pb = ParamBuilder::new(0, &d);
        let theta = pb.values("theta", &[2], vec![0.3, -0.2]).unwrap();
        let params = pb.finish();
        // Task t on batch b pulls theta towards c[b][t], with weight k[t].
        let c = [[[1.0f32, 0.0], [0.0, 2.0]], [[0.5, 0.5], [-1.0, 1.0]], [[2.0, -1.0], [0.0, 0.0]]];
        let k = [1.0f32, 3.0];
        let mut forward = |b: usize| -> Result<Vec<Tensor>> {
            (0..2).map(|t| Ok(((&theta - Tensor::new(&c[b][t], &d)?)?.sqr()?.sum_all()? * k[t] as f64)?)).collect()
        };
        let method = AutoLambda { logits: vec![0.2, -0.1], ..AutoLambda::new(2, AutoLambdaParams::default()) };
        let lr = 0.05;
        let meta = method.meta_gradient(&params, lr, &mut forward).unwrap();
        assert_eq!(theta.to_vec1::<f32>().unwrap(), vec![0.3, -0.2], "parameters restored");
        // F(a) = sum_t L_t(theta'(a); outer), theta'(a) = theta - lr sum_t w_t 2 k_t (theta - c_inner_t).
        let f = |a: [f64; 2]| {
            let w = softmax(&a);
            let th = [0.3f64, -0.2];
            let step: Vec<f64> =
                (0..2).map(|i| th[i] - lr * (0..2).map(|t| w[t] * 2.0 * k[t] as f64 * (th[i] - c[INNER][t][i] as f64)).sum::<f64>()).collect();
            (0..2).map(|t| k[t] as f64 * (0..2).map(|i| (step[i] - c[OUTER][t][i] as f64).powi(2)).sum::<f64>()).sum::<f64>()
        };
        for j in 0..2 {
            let h = 1e-5;
            let mut up = [0.2, -0.1];
            let mut down = up;
            up[j] += h;
            down[j] -= h;
            let numeric = (f(up) - f(down)) / (2.0 * h);
            assert!((meta[j] - numeric).abs() < 2e-3 * numeric.abs().max(1e-2), "logit {j}: {} vs {numeric}", meta[j]);
        }
    }
}
