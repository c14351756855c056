//! Nash-MTL (Navon, Shamsian, Achituve, Maron, Kawaguchi, Chechik & Fetaya, "Multi-task
//! learning as a bargaining game", ICML 2022).

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::gradients::{norm, TaskGradients};
use super::{solvers, Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "nash-mtl",
    title: "Nash-MTL",
    citation: "Navon, Shamsian, Achituve, Maron, Kawaguchi, Chechik & Fetaya, Multi-task learning as a bargaining game, ICML 2022",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<NashParams>,
};

/// Nash-MTL's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NashParams {
    /// Clip of the shared update's norm (the reference's 1.0; 0 = no clipping).
    pub max_norm: f64,
}

impl Default for NashParams {
    fn default() -> Self {
        NashParams { max_norm: 1.0 }
    }
}

impl HyperParams for NashParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.max_norm >= 0.0 && self.max_norm.is_finite(), "max_norm", ">= 0", self.max_norm)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: NashParams = hyper::parse("weighting.nash-mtl", table)?;
    Ok(Box::new(NashMtl::new(context.tasks, p.max_norm)))
}

/// Weights `a > 0` with `(G G^T) a = 1 / a` on the Frobenius-normalised Gram matrix (as the
/// reference code), update `sum_t a_t g_t` with the shared gradient's norm clipped to
/// `max_norm`; task-specific parameters are weighted by `a` as the reference's
/// `sum_t a_t L_t` backward does.
pub struct NashMtl {
    max_norm: f64,
    last: Vec<f64>,
}

impl NashMtl {
    /// Nash-MTL over `tasks` tasks with update clip `max_norm`.
    pub fn new(tasks: usize, max_norm: f64) -> Self {
        NashMtl { max_norm, last: vec![1.0; tasks] }
    }
}

impl Weighting for NashMtl {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let grads = TaskGradients::compute(losses, params)?;
        let raw = grads.gram();
        let mut gram = raw.clone();
        let fro = gram.iter().flatten().map(|v| v * v).sum::<f64>().sqrt().max(1e-20);
        gram.iter_mut().flatten().for_each(|v| *v /= fro);
        self.last = solvers::nash_weights(&gram);
        let mut shared = grads.combine(&self.last);
        let n = norm(&shared);
        if self.max_norm > 0.0 && n > self.max_norm {
            let scale = (self.max_norm / n) as f32;
            shared.iter_mut().for_each(|v| *v *= scale);
        }
        let weights = self.last.clone();
        Ok(Backward { grads: grads.into_store(&shared, Some(&weights))?, task_gram: Some(raw) })
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }
}
