//! Gradient methods whose shared update is a weighted sum of the task gradients, with the
//! weights a function of their Gram matrix alone (MGDA, IMTL-G, Aligned-MTL, UPGrad).

use candle_core::Tensor;

use super::gradients::TaskGradients;
use super::{Backward, Weighting};
use crate::model::params::ParamStore;
use crate::Result;

/// A gradient method whose shared update is `sum_t w_t g_t`, with weights computed from the
/// Gram matrix of the task gradients by `rule`.
pub struct GramWeighting {
    rule: fn(&[Vec<f64>]) -> Vec<f64>,
    last: Vec<f64>,
}

impl GramWeighting {
    /// The method over `tasks` tasks that weights by `rule(G G^T)`.
    pub fn new(tasks: usize, rule: fn(&[Vec<f64>]) -> Vec<f64>) -> Self {
        GramWeighting { rule, last: vec![1.0 / tasks as f64; tasks] }
    }
}

impl Weighting for GramWeighting {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let grads = TaskGradients::compute(losses, params)?;
        let gram = grads.gram();
        self.last = (self.rule)(&gram);
        let shared = grads.combine(&self.last);
        Ok(Backward { grads: grads.into_store(&shared, None)?, task_gram: Some(gram) })
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }
}
