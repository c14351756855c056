//! Gradient methods whose shared update is a weighted sum of the task gradients, with the
//! weights a function of their Gram matrix alone (MGDA, IMTL-G, Aligned-MTL, UPGrad, FairGrad).

use candle_core::Tensor;

use super::gradients::TaskGradients;
use super::{Backward, Weighting};
use crate::model::params::ParamStore;
use crate::Result;

/// Task weights from a Gram matrix.
type GramRule = dyn Fn(&[Vec<f64>]) -> Vec<f64> + Send;

/// A gradient method whose shared update is `sum_t w_t g_t`, with weights computed from the
/// Gram matrix of the task gradients by `rule`.
pub struct GramWeighting {
    rule: Box<GramRule>,
    last: Vec<f64>,
    weight_heads: bool,
}

impl GramWeighting {
    /// The method over `tasks` tasks that weights by `rule(G G^T)`.
    pub fn new(tasks: usize, rule: impl Fn(&[Vec<f64>]) -> Vec<f64> + Send + 'static) -> Self {
        GramWeighting { rule: Box::new(rule), last: vec![1.0 / tasks as f64; tasks], weight_heads: false }
    }
}

impl GramWeighting {
    /// Task-specific parameters also take the weighted gradients, as if the method had
    /// trained on `sum_t w_t L_t` (FairGrad); otherwise they take the unweighted ones.
    pub fn weighting_heads(mut self) -> Self {
        self.weight_heads = true;
        self
    }
}

impl Weighting for GramWeighting {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let grads = TaskGradients::compute(losses, params)?;
        let gram = grads.gram();
        self.last = (self.rule)(&gram);
        let shared = grads.combine(&self.last);
        let heads = self.weight_heads.then_some(self.last.as_slice());
        Ok(Backward { grads: grads.into_store(&shared, heads)?, task_gram: Some(gram) })
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }
}
