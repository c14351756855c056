//! One optimisation step, shared by the trainer, `medmtl speed` and the criterion step
//! bench, so that what is timed is what is trained.
//!
//! A step: forward (the caller's closure gives the per-task losses), the weighting method's
//! backward, the optimiser update, and for methods that ask for it (FAMO) the same batch's
//! losses again after the update.

use candle_core::{Tensor, Var};

use super::optim::Adam;
use super::rep_grad::Level;
use crate::model::params::{no_grad, ParamStore};
use crate::weighting::gradients::TaskGradients;
use crate::weighting::{loss_values, Weighting};
use crate::Result;

/// What one step did.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    /// Each task's loss before the update.
    pub losses: Vec<f64>,
    /// The task weights the method applied, when it has explicit ones.
    pub weights: Option<Vec<f64>>,
    /// Gram matrix of the per-task gradients on the shared parameters, when the method
    /// computed them.
    pub task_gram: Option<Vec<Vec<f64>>>,
    /// Lookahead affinity `Z[i][j]` ([`super::affinity`]) on probed steps, when asked for.
    pub affinity: Option<Vec<Vec<f64>>>,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// The update was applied.
    Done(StepReport),
    /// Task `task`'s loss was not finite; nothing was updated.
    NonFinite {
        /// Index of the task.
        task: usize,
        /// Its loss.
        loss: f64,
    },
}

/// The optimiser and the weighting method of one training run.
pub struct Stepper<'a> {
    /// The model's optimiser (the method's own variables included).
    pub optimizer: Adam,
    /// The weighting method.
    pub weighting: &'a mut dyn Weighting,
    /// Measure per-task gradients every this many steps when the method does not compute
    /// them itself (0: never); the extra backward passes change no parameter.
    pub probe_every: usize,
    /// Steps taken so far (decides which steps are probed).
    pub steps: usize,
    /// Also measure the lookahead task affinity on probed steps.
    pub affinity: bool,
}

impl<'a> Stepper<'a> {
    /// A stepper that never probes.
    pub fn new(optimizer: Adam, weighting: &'a mut dyn Weighting) -> Self {
        Stepper { optimizer, weighting, probe_every: 0, steps: 0, affinity: false }
    }

    /// One step on the losses `forward(draw)` computes for each of the method's
    /// [`Weighting::batches_per_step`] independent batches (draw 0 only, for most methods).
    /// `forward(0)` is called again (without gradients) after the update when the method
    /// wants the losses after the step. The reported losses are the draws' mean.
    pub fn step(&mut self, params: &ParamStore, mut forward: impl FnMut(usize) -> Result<Vec<Tensor>>) -> Result<StepOutcome> {
        // A looking-ahead method computes its other batches' losses itself, at moved parameters.
        let draws = if self.weighting.looks_ahead() { 1 } else { self.weighting.batches_per_step().max(1) };
        let mut drawn = Vec::with_capacity(draws);
        let mut values: Vec<f64> = Vec::new();
        for draw in 0..draws {
            let losses = forward(draw)?;
            let v = loss_values(&losses)?;
            if let Some(stop) = non_finite(&v) {
                return Ok(stop);
            }
            if values.is_empty() {
                values = vec![0.0; v.len()];
            }
            for (a, b) in values.iter_mut().zip(&v) {
                *a += b / draws as f64;
            }
            drawn.push(losses);
        }
        let mut backward = if self.weighting.looks_ahead() {
            let lr = self.optimizer.learning_rate();
            self.weighting.backward_looking_ahead(&drawn[0], params, lr, &mut forward)?
        } else if draws == 1 {
            self.weighting.backward(&drawn[0], params)?
        } else {
            self.weighting.backward_batches(&drawn, params)?
        };
        let due = self.probe_every > 0 && self.steps.is_multiple_of(self.probe_every);
        self.steps += 1;
        let mut lookahead = None;
        let losses = &drawn[0];
        if due && losses.len() > 1 && (backward.task_gram.is_none() || self.affinity) {
            let grads = TaskGradients::compute(losses, params)?;
            if backward.task_gram.is_none() {
                backward.task_gram = Some(grads.gram());
            }
            lookahead = self.affinity.then_some(grads);
        }
        drop(drawn);
        let mut first = || forward(0);
        let affinity = match lookahead {
            Some(grads) => Some(super::affinity::lookahead_affinity(params, &grads, self.optimizer.learning_rate(), &values, &mut first)?),
            None => None,
        };
        self.optimizer.step(&backward.grads)?;
        if self.weighting.wants_losses_after_step() {
            let _no_grad = no_grad();
            let after = loss_values(&first()?)?;
            self.weighting.after_step(&after);
        }
        Ok(StepOutcome::Done(StepReport { losses: values, weights: self.weighting.weights(), task_gram: backward.task_gram, affinity }))
    }

    /// One step with the method acting on the gradients of the shared representation
    /// ([`super::rep_grad`]): `forward` gives the per-task losses of heads that read the
    /// detached levels it also returns. No relatedness probe (the method's own Gram matrix,
    /// over representation gradients, is reported).
    pub fn step_on_representation(
        &mut self,
        model: &ParamStore,
        mut forward: impl FnMut() -> Result<(Vec<Tensor>, Vec<Level>)>,
    ) -> Result<StepOutcome> {
        let (losses, levels) = forward()?;
        let values = loss_values(&losses)?;
        if let Some(stop) = non_finite(&values) {
            return Ok(stop);
        }
        let copies: Vec<Var> = levels.iter().map(|l| l.copy.clone()).collect();
        let mut backward = self.weighting.backward(&losses, &model.with_representation(&copies))?;
        drop(losses);
        super::rep_grad::through_encoder(&mut backward.grads, &levels, model)?;
        drop(levels);
        self.steps += 1;
        self.optimizer.step(&backward.grads)?;
        if self.weighting.wants_losses_after_step() {
            let _no_grad = no_grad();
            let after = loss_values(&forward()?.0)?;
            self.weighting.after_step(&after);
        }
        Ok(StepOutcome::Done(StepReport {
            losses: values,
            weights: self.weighting.weights(),
            task_gram: backward.task_gram,
            affinity: None,
        }))
    }

    /// Brings the method past its warm-up (GradNorm's and DWA's first epochs) by recording
    /// `epochs` epoch-mean losses, each the losses of one forward; used by timings, which
    /// must measure the method in the state a long run spends its time in.
    pub fn warm_up(&mut self, epochs: usize, mut forward: impl FnMut() -> Result<Vec<Tensor>>) -> Result<()> {
        let values = {
            let _no_grad = no_grad();
            loss_values(&forward()?)?
        };
        for _ in 0..epochs {
            self.weighting.end_epoch(&values);
        }
        Ok(())
    }
}

/// The outcome of a step whose losses include a non-finite one (the first such task).
fn non_finite(values: &[f64]) -> Option<StepOutcome> {
    values.iter().enumerate().find(|(_, v)| !v.is_finite()).map(|(task, &loss)| StepOutcome::NonFinite { task, loss })
}
