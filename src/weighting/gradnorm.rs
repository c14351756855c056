//! GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: gradient normalization for
//! adaptive loss balancing in deep multitask networks", ICML 2018), as LibMTL implements it.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use super::ew::EqualWeighting;
use super::gradients::{norm, TaskGradients};
use super::{loss_values, Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "gradnorm",
    title: "GradNorm",
    citation: "Chen, Badrinarayanan, Lee & Rabinovich, GradNorm: gradient normalization for adaptive loss balancing in deep multitask networks, ICML 2018",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<GradNormParams>,
};

/// GradNorm's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GradNormParams {
    /// Restoring-force strength `alpha` (LibMTL's default 1.5).
    pub alpha: f64,
}

impl Default for GradNormParams {
    fn default() -> Self {
        GradNormParams { alpha: 1.5 }
    }
}

impl HyperParams for GradNormParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.alpha >= 0.0 && self.alpha.is_finite(), "alpha", ">= 0", self.alpha)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: GradNormParams = hyper::parse("weighting.gradnorm", table)?;
    Ok(Box::new(GradNorm::new(context.tasks, p.alpha, context.device)?))
}

/// Weights `w = T softmax(xi)`; after the first epoch, per-task gradient norms
/// `G_t = |w_t g_t|` on the shared parameters are pulled towards `mean(G) r_t^alpha` with
/// `r_t = (L_t / L_t(0)) / mean(L / L(0))` (`L(0)` the first epoch's mean loss) by
/// training `xi` on `sum_t |G_t - target_t|` with the model's optimiser. The shared
/// gradient is `sum_t w_t g_t`.
pub struct GradNorm {
    alpha: f64,
    logits: Var,
    initial: Option<Vec<f64>>,
    last: Vec<f64>,
}

impl GradNorm {
    /// GradNorm over `tasks` tasks with restoring force `alpha`.
    pub fn new(tasks: usize, alpha: f64, device: &candle_core::Device) -> Result<Self> {
        Ok(GradNorm { alpha, logits: Var::from_vec(vec![1.0f32; tasks], tasks, device)?, initial: None, last: vec![1.0; tasks] })
    }

    fn weights_tensor(&self) -> Result<Tensor> {
        let t = self.last.len() as f64;
        Ok((candle_nn::ops::softmax(self.logits.as_tensor(), 0)? * t)?)
    }
}

impl Weighting for GradNorm {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let Some(initial) = &self.initial else {
            // First epoch: plain equal weighting while the initial losses are recorded.
            return EqualWeighting::new(losses.len()).backward(losses, params);
        };
        let values = loss_values(losses)?;
        let grads = TaskGradients::compute(losses, params)?;
        let gram = grads.gram();
        let norms: Vec<f32> = grads.rows.iter().map(|r| norm(r) as f32).collect();
        let w = self.weights_tensor()?;
        let device = w.device().clone();
        let g_per = (&w * Tensor::from_vec(norms.clone(), norms.len(), &device)?)?;
        let ratio: Vec<f64> = values.iter().zip(initial).map(|(l, l0)| l / l0.max(1e-12)).collect();
        let mean_ratio = ratio.iter().sum::<f64>() / ratio.len() as f64;
        let g_mean = g_per.mean_all()?.to_scalar::<f32>()? as f64;
        let target: Vec<f32> = ratio.iter().map(|r| (g_mean * (r / mean_ratio).powf(self.alpha)) as f32).collect();
        let l_grad = (g_per - Tensor::from_vec(target, norms.len(), &device)?)?.abs()?.sum_all()?;
        let xi_grad = l_grad.backward()?;
        let weights: Vec<f64> = w.to_vec1::<f32>()?.into_iter().map(f64::from).collect();
        self.last = weights.clone();
        let shared = grads.combine(&weights);
        let mut store: GradStore = grads.into_store(&shared, None)?;
        if let Some(g) = xi_grad.get(self.logits.as_tensor()) {
            store.insert(self.logits.as_tensor(), g.clone());
        }
        Ok(Backward { grads: store, task_gram: Some(gram) })
    }

    fn end_epoch(&mut self, mean_losses: &[f64]) {
        if self.initial.is_none() {
            self.initial = Some(mean_losses.to_vec());
        }
    }

    fn warming_up(&self) -> bool {
        self.initial.is_none()
    }

    fn extra_vars(&self) -> Vec<Var> {
        vec![self.logits.clone()]
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "initial": self.initial, "last": self.last })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let bad = |_| Error::Invalid("checkpoint: GradNorm state is malformed".into());
        self.initial = serde_json::from_value(state["initial"].clone()).map_err(bad)?;
        self.last = serde_json::from_value(state["last"].clone()).map_err(bad)?;
        Ok(())
    }
}
