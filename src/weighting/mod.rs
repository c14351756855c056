//! Loss and gradient weighting methods behind one interface, so that every method runs with
//! every architecture. A method receives the per-task losses of one step and returns the
//! gradients the optimiser applies.
//!
//! Loss-weighting methods (EW, UW, DWA, RLW, GLS, FAMO) need one backward pass; gradient
//! methods (GradNorm, MGDA, PCGrad, CAGrad, IMTL-G, GradVac, Aligned-MTL, Nash-MTL, UPGrad)
//! take one backward pass per task ([`gradients::TaskGradients`]) and act on the shared
//! parameters' gradients. Hyper-parameters are the papers' / reference implementations'
//! defaults, documented on each type.

pub mod gradients;
mod gradnorm;
mod loss_based;
pub mod solvers;
mod surgery;

pub use gradnorm::GradNorm;
pub use loss_based::{DynamicWeightAverage, EqualWeighting, Famo, GeometricLoss, RandomWeighting, Uncertainty};
pub use surgery::{AlignedMtl, CaGrad, GradVac, GramWeighting, ImtlG, Mgda, NashMtl, PcGrad, UpGrad};

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::model::params::ParamStore;
use crate::Result;

/// Each loss tensor's scalar value, for the methods that read loss values within a step
/// (GradNorm's training rates, FAMO) and for the trainer's after-step losses.
pub fn loss_values(losses: &[Tensor]) -> Result<Vec<f64>> {
    losses.iter().map(|l| Ok(l.to_scalar::<f32>()? as f64)).collect()
}

/// A multi-task loss or gradient weighting method.
pub trait Weighting: Send {
    /// Gradients of one training step from the per-task losses (task order).
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<GradStore>;

    /// The method's own trainable variables (UW's log-variances, GradNorm's weights), which
    /// the model's optimiser updates with the gradients `backward` puts in its store.
    fn extra_vars(&self) -> Vec<Var> {
        Vec::new()
    }

    /// End of an epoch, with each task's mean training loss (DWA, GradNorm).
    fn end_epoch(&mut self, _mean_losses: &[f64]) {}

    /// Whether the trainer should re-evaluate the batch's losses after the optimiser step
    /// and call [`Weighting::after_step`] (FAMO).
    fn wants_losses_after_step(&self) -> bool {
        false
    }

    /// The same batch's losses after the optimiser step.
    fn after_step(&mut self, _losses_after: &[f64]) {}

    /// Current task weights, when the method has explicit ones (for the training log).
    fn weights(&self) -> Option<Vec<f64>> {
        None
    }

    /// Whether the method needs one backward pass per task.
    fn needs_task_gradients(&self) -> bool {
        false
    }
}

/// The weighting methods a suite can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightingKind {
    Ew,
    Uw,
    Dwa,
    Rlw,
    Gls,
    Famo,
    Gradnorm,
    Mgda,
    Pcgrad,
    Cagrad,
    ImtlG,
    Gradvac,
    AlignedMtl,
    NashMtl,
    Upgrad,
}

impl WeightingKind {
    pub const ALL: [WeightingKind; 15] = [
        WeightingKind::Ew,
        WeightingKind::Uw,
        WeightingKind::Dwa,
        WeightingKind::Rlw,
        WeightingKind::Gls,
        WeightingKind::Famo,
        WeightingKind::Gradnorm,
        WeightingKind::Mgda,
        WeightingKind::Pcgrad,
        WeightingKind::Cagrad,
        WeightingKind::ImtlG,
        WeightingKind::Gradvac,
        WeightingKind::AlignedMtl,
        WeightingKind::NashMtl,
        WeightingKind::Upgrad,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WeightingKind::Ew => "ew",
            WeightingKind::Uw => "uw",
            WeightingKind::Dwa => "dwa",
            WeightingKind::Rlw => "rlw",
            WeightingKind::Gls => "gls",
            WeightingKind::Famo => "famo",
            WeightingKind::Gradnorm => "gradnorm",
            WeightingKind::Mgda => "mgda",
            WeightingKind::Pcgrad => "pcgrad",
            WeightingKind::Cagrad => "cagrad",
            WeightingKind::ImtlG => "imtl-g",
            WeightingKind::Gradvac => "gradvac",
            WeightingKind::AlignedMtl => "aligned-mtl",
            WeightingKind::NashMtl => "nash-mtl",
            WeightingKind::Upgrad => "upgrad",
        }
    }

    /// The method for `tasks` tasks; `seed` drives the randomised ones (RLW, PCGrad,
    /// GradVac).
    pub fn build(self, tasks: usize, seed: u64, device: &Device) -> Result<Box<dyn Weighting>> {
        Ok(match self {
            WeightingKind::Ew => Box::new(EqualWeighting),
            WeightingKind::Uw => Box::new(Uncertainty::new(tasks, device)?),
            WeightingKind::Dwa => Box::new(DynamicWeightAverage::new(tasks, 2.0)),
            WeightingKind::Rlw => Box::new(RandomWeighting::new(tasks, seed)),
            WeightingKind::Gls => Box::new(GeometricLoss),
            WeightingKind::Famo => Box::new(Famo::new(tasks)),
            WeightingKind::Gradnorm => Box::new(GradNorm::new(tasks, 1.5, device)?),
            WeightingKind::Mgda => Box::new(Mgda::new(tasks)),
            WeightingKind::Pcgrad => Box::new(PcGrad::new(seed)),
            WeightingKind::Cagrad => Box::new(CaGrad::new(tasks, 0.5)),
            WeightingKind::ImtlG => Box::new(ImtlG::new(tasks)),
            WeightingKind::Gradvac => Box::new(GradVac::new(tasks, 0.5, seed)),
            WeightingKind::AlignedMtl => Box::new(AlignedMtl::new(tasks)),
            WeightingKind::NashMtl => Box::new(NashMtl::new(tasks, 1.0)),
            WeightingKind::Upgrad => Box::new(UpGrad::new(tasks)),
        })
    }

    /// Whether the method takes one backward pass per task.
    pub fn needs_task_gradients(self) -> bool {
        !matches!(
            self,
            WeightingKind::Ew | WeightingKind::Uw | WeightingKind::Dwa | WeightingKind::Rlw | WeightingKind::Gls | WeightingKind::Famo
        )
    }
}

impl std::fmt::Display for WeightingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
