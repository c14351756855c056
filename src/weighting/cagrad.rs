//! CAGrad (Liu, Liu, Jin, Stone & Liu, "Conflict-averse gradient descent for multi-task
//! learning", NeurIPS 2021).

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::gradients::{norm, TaskGradients};
use super::{solvers, Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "cagrad",
    title: "CAGrad",
    citation: "Liu, Liu, Jin, Stone & Liu, Conflict-averse gradient descent for multi-task learning, NeurIPS 2021",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<CaGradParams>,
};

/// CAGrad's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaGradParams {
    /// Radius `c` of the ball around the mean gradient (the paper's 0.5); 0 gives the mean
    /// gradient.
    pub c: f64,
}

impl Default for CaGradParams {
    fn default() -> Self {
        CaGradParams { c: 0.5 }
    }
}

impl HyperParams for CaGradParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.c >= 0.0 && self.c.is_finite(), "c", ">= 0", self.c)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: CaGradParams = hyper::parse("weighting.cagrad", table)?;
    Ok(Box::new(CaGrad::new(context.tasks, p.c)))
}

/// The update `d = g0 + (c |g0| / |g_w|) g_w`, rescaled by `1 / (1 + c^2)`, where `g0` is
/// the mean gradient and `w` on the simplex minimises `g_w . g0 + c |g0| |g_w|`.
pub struct CaGrad {
    c: f64,
    last: Vec<f64>,
}

impl CaGrad {
    /// CAGrad over `tasks` tasks with radius `c`.
    pub fn new(tasks: usize, c: f64) -> Self {
        CaGrad { c, last: vec![1.0 / tasks as f64; tasks] }
    }

    /// The combined update from per-task gradient rows (exposed for tests).
    pub fn direction(&mut self, grads: &TaskGradients) -> Vec<f32> {
        self.direction_from(grads, &grads.gram())
    }

    fn direction_from(&mut self, grads: &TaskGradients, gram: &[Vec<f64>]) -> Vec<f32> {
        let t = grads.tasks();
        let g0_norm = (gram.iter().flatten().sum::<f64>() / (t * t) as f64 + 1e-8).sqrt();
        let c = self.c * g0_norm + 1e-8;
        self.last = solvers::cagrad_weights(gram, c);
        let gw = grads.combine(&self.last);
        let lambda = c / (norm(&gw) + 1e-8);
        let mean = grads.combine(&vec![1.0 / t as f64; t]);
        mean.iter().zip(&gw).map(|(&m, &w)| ((m as f64 + lambda * w as f64) / (1.0 + self.c * self.c)) as f32).collect()
    }
}

impl Weighting for CaGrad {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let grads = TaskGradients::compute(losses, params)?;
        let gram = grads.gram();
        let d = self.direction_from(&grads, &gram);
        Ok(Backward { grads: grads.into_store(&d, None)?, task_gram: Some(gram) })
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }
}
