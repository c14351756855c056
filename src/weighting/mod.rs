//! Loss and gradient weighting methods behind one interface, so that every method runs with
//! every architecture. A method receives the per-task losses of one step and returns the
//! gradients the optimiser applies.
//!
//! Loss-weighting methods combine the losses into one scalar and need one backward pass;
//! gradient methods take one backward pass per task ([`gradients::TaskGradients`]) and act
//! on the shared parameters' gradients. Each method is one file holding its paper, its
//! hyper-parameters with the paper's defaults, and its registry entry; adding a method is
//! that file plus one name in the [`register!`](crate::registry) list below.

mod combine;
pub mod gradients;
mod gram;
pub mod solvers;

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};

use crate::hyper::ParamTable;
use crate::model::params::ParamStore;
use crate::registry::{register, Handle, Registry};
use crate::Result;

pub use gram::GramWeighting;

register!(
    Method: ew, uw, dwa, rlw, gls, famo, gradnorm, mgda, pcgrad, cagrad, imtl_g, gradvac, aligned_mtl, nash_mtl, upgrad, stch, fairgrad,
    db_mtl, imtl_l, imtl, excess_mtl, moco, modo, sdmgrad, graddrop, auto_lambda
);

/// A weighting method a suite can name (`"pcgrad"`).
pub type WeightingKind = Handle<Method>;

/// Each loss tensor's scalar value, for the methods that read loss values within a step
/// (GradNorm's training rates, FAMO) and for the trainer's after-step losses.
pub fn loss_values(losses: &[Tensor]) -> Result<Vec<f64>> {
    losses.iter().map(|l| Ok(l.to_scalar::<f32>()? as f64)).collect()
}

/// What one backward pass produced.
pub struct Backward {
    /// The gradients the optimiser applies.
    pub grads: GradStore,
    /// The Gram matrix `G G^T` of the per-task gradients on the shared parameters, when the
    /// method computed them anyway (every gradient method): relatedness is read from it at
    /// no extra cost.
    pub task_gram: Option<Vec<Vec<f64>>>,
}

impl From<GradStore> for Backward {
    fn from(grads: GradStore) -> Self {
        Backward { grads, task_gram: None }
    }
}

/// A multi-task loss or gradient weighting method.
pub trait Weighting: Send {
    /// Gradients of one training step from the per-task losses (task order).
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward>;

    /// The method's own trainable variables (UW's log-variances, GradNorm's weights), which
    /// the model's optimiser updates with the gradients `backward` puts in its store.
    fn extra_vars(&self) -> Vec<Var> {
        Vec::new()
    }

    /// End of an epoch, with each task's mean training loss (DWA, GradNorm).
    fn end_epoch(&mut self, _mean_losses: &[f64]) {}

    /// Whether the method still runs its warm-up (GradNorm and DWA act as EW until they
    /// have recorded enough epochs); timings of a method in warm-up are not its own.
    fn warming_up(&self) -> bool {
        false
    }

    /// Whether the trainer should re-evaluate the batch's losses after the optimiser step
    /// and call [`Weighting::after_step`] (FAMO).
    fn wants_losses_after_step(&self) -> bool {
        false
    }

    /// The same batch's losses after the optimiser step.
    fn after_step(&mut self, _losses_after: &[f64]) {}

    /// The task weights the last step applied, when the method has explicit ones (loss
    /// weights for loss methods, the combination weights of gradient methods); recorded in
    /// the training history.
    fn weights(&self) -> Option<Vec<f64>> {
        None
    }

    /// Independent batches the method needs per step: 1, or more for the methods whose
    /// estimates multiply gradients of independent samples (MoDo, SDMGrad: 3). The trainer
    /// draws that many per step and calls [`Weighting::backward_batches`].
    fn batches_per_step(&self) -> usize {
        1
    }

    /// Gradients of one step from the per-task losses of `batches_per_step` independent
    /// batches (`losses[b][t]`).
    fn backward_batches(&mut self, losses: &[Vec<Tensor>], params: &ParamStore) -> Result<Backward> {
        match losses.first() {
            Some(first) => self.backward(first, params),
            None => Err(crate::Error::Invalid("no batch losses".into())),
        }
    }

    /// Whether the method looks ahead (bilevel, AutoLambda): it then gets the losses of
    /// draw 0 (the batch of the real update) and a `forward(draw)` that recomputes the
    /// losses of any of its [`Weighting::batches_per_step`] batches at the parameters as
    /// they are when called; it may move the parameters meanwhile but must restore them.
    fn looks_ahead(&self) -> bool {
        false
    }

    /// The gradients of a looking-ahead method (see [`Weighting::looks_ahead`]), `lr` the
    /// optimiser's current learning rate.
    fn backward_looking_ahead(
        &mut self,
        losses: &[Tensor],
        params: &ParamStore,
        _lr: f64,
        _forward: &mut dyn FnMut(usize) -> Result<Vec<Tensor>>,
    ) -> Result<Backward> {
        self.backward(losses, params)
    }

    /// Whether the method is defined on the gradients of the shared representation only
    /// (GradDrop): the trainer then always takes representation gradients
    /// ([`crate::train::rep_grad`]).
    fn needs_representation(&self) -> bool {
        false
    }

    /// Whether the method can act on representation gradients. Not the methods that keep
    /// per-coordinate statistics of the gradient across steps (DB-MTL, MoCo, ExcessMTL) or
    /// multiply gradients of different batches (MoDo, SDMGrad): a representation's
    /// coordinates belong to different images in every batch.
    fn supports_representation(&self) -> bool {
        true
    }

    /// Everything the method carries from step to step (loss history, learned weights,
    /// random-number state), so that a run can be resumed mid-way with identical results.
    /// Trainable variables from [`Weighting::extra_vars`] are saved by the trainer.
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restores what [`Weighting::state`] saved.
    fn load_state(&mut self, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

/// Whether a method combines losses (one backward) or per-task gradients (one backward per
/// task).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Weights the task losses; one backward pass per step.
    Loss,
    /// Combines per-task gradients on the shared parameters; one backward pass per task.
    Gradient,
}

/// What a method is built for.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Number of tasks.
    pub tasks: usize,
    /// The run's seed; drives the randomised methods (RLW, PCGrad, GradVac).
    pub seed: u64,
    /// Where the method's own tensors live.
    pub device: &'a Device,
}

/// Builds a method for a context from a suite's overrides of its hyper-parameters.
pub type Constructor = fn(&Context, Option<&ParamTable>) -> Result<Box<dyn Weighting>>;

/// A registered weighting method: its name, paper and constructor.
pub struct Method {
    /// The name suites use (`"pcgrad"`).
    pub name: &'static str,
    /// The name papers use (`"PCGrad"`).
    pub title: &'static str,
    /// The paper that defines the method.
    pub citation: &'static str,
    /// Loss or gradient method.
    pub family: Family,
    /// Builds the method from a suite's overrides of its hyper-parameters.
    pub construct: Constructor,
    /// The hyper-parameters the method runs with for a suite section's overrides
    /// (validated; the defaults for `None`).
    pub params: fn(&str, Option<&ParamTable>) -> Result<ParamTable>,
}

impl Registry for Method {
    const WHAT: &'static str = "weighting";
    fn entries() -> &'static [&'static Self] {
        ENTRIES
    }
    fn name(&self) -> &'static str {
        self.name
    }
}

impl WeightingKind {
    /// The method for `tasks` tasks with its default hyper-parameters.
    pub fn build(self, tasks: usize, seed: u64, device: &Device) -> Result<Box<dyn Weighting>> {
        self.build_with(&Context { tasks, seed, device }, None)
    }

    /// The method with a suite's hyper-parameter overrides.
    pub fn build_with(self, context: &Context, params: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
        (self.entry().construct)(context, params)
    }

    /// Whether the method takes one backward pass per task.
    pub fn needs_task_gradients(self) -> bool {
        self.family == Family::Gradient
    }

    /// The suite section of the method's hyper-parameters (`weighting.cagrad`).
    pub fn section(self) -> String {
        format!("weighting.{}", self.as_str())
    }

    /// The hyper-parameters the method runs with under `overrides`, checked.
    pub fn resolve_params(self, overrides: Option<&ParamTable>) -> Result<ParamTable> {
        (self.entry().params)(&self.section(), overrides)
    }
}
