//! Loss and gradient weighting methods behind one interface, so that every method runs with
//! every architecture. A method receives the per-task losses of one step and returns the
//! gradients the optimiser applies.

mod ew;
pub mod gradients;

pub use ew::EqualWeighting;

use candle_core::backprop::GradStore;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::model::params::ParamStore;
use crate::Result;

/// A multi-task loss or gradient weighting method.
pub trait Weighting: Send {
    /// Gradients of one training step from the per-task losses (task order).
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<GradStore>;

    /// Current task weights, when the method has explicit ones (for the training log).
    fn weights(&self) -> Option<Vec<f64>> {
        None
    }
}

/// The weighting methods a suite can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightingKind {
    /// Equal weights: the plain sum of task losses.
    Ew,
}

impl WeightingKind {
    pub const NAMES: [&'static str; 1] = ["ew"];

    pub fn as_str(self) -> &'static str {
        match self {
            WeightingKind::Ew => "ew",
        }
    }

    pub fn build(self, _tasks: usize) -> Box<dyn Weighting> {
        match self {
            WeightingKind::Ew => Box::new(EqualWeighting),
        }
    }
}

impl std::fmt::Display for WeightingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
