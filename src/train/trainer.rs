//! The training loop with validation-only model selection.
//!
//! Each step draws one batch per task group (one group for single-input data; one per task
//! for multi-input data), sums nothing itself: the weighting method turns the per-task
//! losses into gradients. After every epoch the validation split is scored; the best
//! weights are kept as a deep copy and restored at the end. When a design shares no
//! parameters (STL), each task's column is selected on that task's own validation score,
//! exactly as if it had been trained alone.

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::{Device, Tensor, D};
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, Bundle, CheckpointSpec};
use super::optim::{Adam, AdamConfig, AdamState};
use super::probe::{EpochProbe, PairStats, WeightStats};
use super::rep_grad::{self, Level};
use super::step::{StepOutcome, Stepper};
use super::{batch, memory, OptimizerKind, TrainConfig};
use crate::data::{Dataset, SourceValues, SplitName, PIXEL_SIZE_SOURCE};
use crate::metrics::{self, TaskPredictions};
use crate::model::arch::Architecture;
use crate::model::params::{Owner, Snapshot};
use crate::task::{Corruption, Generative, NoiseDraw, Targets, Task, TaskKind};
use crate::weighting::Weighting;
use crate::{Error, Result};

/// A dataset and the tasks (indices into the task list) it provides targets for, read in
/// one forward pass per batch.
pub struct TaskGroup<'a> {
    /// The images and targets.
    pub dataset: &'a Dataset,
    /// Indices of the tasks this dataset labels.
    pub tasks: Vec<usize>,
    /// The noise the group's images get before the network reads them (denoising tasks).
    pub corruption: Option<Corruption>,
}

impl<'a> TaskGroup<'a> {
    /// The groups of tasks `indices` on `dataset`: one for the tasks that read the clean
    /// images, and one per corruption for the denoising tasks, which read corrupted copies in
    /// a forward pass of their own (so the other tasks never see the noise).
    pub fn on(dataset: &'a Dataset, indices: &[usize], tasks: &[Task]) -> Vec<TaskGroup<'a>> {
        let mut groups: Vec<TaskGroup<'a>> = Vec::new();
        for &t in indices {
            let corruption = tasks[t].kind.corruption();
            match groups.iter_mut().find(|g| g.corruption == corruption) {
                Some(g) => g.tasks.push(t),
                None => groups.push(TaskGroup { dataset, tasks: vec![t], corruption }),
            }
        }
        groups.sort_by_key(|g| g.corruption.is_some());
        groups
    }

    fn images(&self, split: SplitName, idx: &[usize], draw: NoiseDraw, device: &Device) -> Result<Tensor> {
        let ds = self.dataset;
        batch::images_with(ds.split(split), ds.shape, idx, self.corruption.map(|c| (c, draw)), device)
    }
}

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Learning rate of the epoch.
    #[serde(with = "super::lossless::float")]
    pub lr: f64,
    /// Mean training loss per task.
    #[serde(with = "super::lossless::floats")]
    pub train_loss: Vec<f64>,
    /// Validation primary metric per task (AUC / R^2).
    #[serde(with = "super::lossless::floats")]
    pub val_primary: Vec<f64>,
    /// Wall time of the epoch: training steps and the validation pass.
    #[serde(with = "super::lossless::float")]
    pub seconds: f64,
    /// The weighting method's task weights over the epoch's steps (empty when the method
    /// has no explicit weights).
    #[serde(default)]
    pub weights: Vec<WeightStats>,
    /// Gradient relatedness of every task pair on the shared parameters, over the steps
    /// where it was measured (empty for designs that share nothing).
    #[serde(default)]
    pub relatedness: Vec<PairStats>,
}

/// The trained model's predictions and the run's accounting.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// One record per epoch.
    pub history: Vec<EpochRecord>,
    /// Epoch (1-based) whose weights were kept, per task.
    pub selected_epoch: Vec<usize>,
    /// Predictions of the selected weights, per task and split (val and test).
    pub predictions: BTreeMap<(usize, SplitName), TaskPredictions>,
    /// Time spent in training steps (validation passes excluded), resumed epochs included.
    pub train_seconds: f64,
    /// Training images per second over all epochs.
    pub train_images_per_sec: f64,
    /// Test-split images per second of the selected model's evaluation pass.
    pub inference_images_per_sec: f64,
    /// Peak resident memory of the process during the run (Linux).
    pub peak_rss_bytes: Option<u64>,
    /// Epochs restored from a checkpoint instead of trained in this process.
    pub resumed_epochs: usize,
}

/// Optional parts of a training run: a progress bar and mid-run checkpoints.
#[derive(Default)]
pub struct TrainHooks<'a> {
    /// Advanced once per step.
    pub progress: Option<&'a ProgressBar>,
    /// Save a checkpoint after every epoch and resume from it.
    pub checkpoint: Option<CheckpointSpec>,
}

/// Steps between relatedness measurements when the weighting method does not compute
/// per-task gradients itself: each costs one extra backward pass per task, about 10 % of
/// training time at 16 (`cargo bench --bench train_step -- probe`).
pub const PROBE_EVERY: usize = 16;

struct GroupData<'a> {
    group: &'a TaskGroup<'a>,
    targets: BTreeMap<(usize, SplitName), Targets>,
    /// Which samples are labelled, for the (task, split)s where not all are.
    labelled: BTreeMap<(usize, SplitName), Vec<bool>>,
    order: Vec<usize>,
    cursor: usize,
}

/// Trains `model` on `groups` and returns predictions of the best-on-validation weights.
#[allow(clippy::too_many_arguments)]
pub fn train(
    model: &dyn Architecture,
    tasks: &[Task],
    groups: &[TaskGroup],
    weighting: &mut dyn Weighting,
    config: &TrainConfig,
    seed: u64,
    device: &Device,
    progress: Option<&ProgressBar>,
) -> Result<TrainOutcome> {
    train_with(model, tasks, groups, weighting, config, seed, device, &TrainHooks { progress, checkpoint: None })
}

/// [`train`] with checkpoints: after every epoch the whole training state is saved to
/// `hooks.checkpoint`, and a run that finds a checkpoint of its own configuration continues
/// after its last epoch, with the numbers an uninterrupted run would produce.
#[allow(clippy::too_many_arguments)]
pub fn train_with(
    model: &dyn Architecture,
    tasks: &[Task],
    groups: &[TaskGroup],
    weighting: &mut dyn Weighting,
    config: &TrainConfig,
    seed: u64,
    device: &Device,
    hooks: &TrainHooks,
) -> Result<TrainOutcome> {
    config.validate().map_err(Error::Invalid)?;
    memory::reset_peak_rss();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(0x5eed_0da7a);
    let mut data: Vec<GroupData> = groups.iter().map(|g| GroupData::new(g, tasks)).collect::<Result<_>>()?;
    let steps_per_epoch = groups.iter().map(|g| g.dataset.train.len().div_ceil(config.batch_size)).max().unwrap_or(0);
    if steps_per_epoch == 0 {
        return Err(Error::Invalid("the training split is empty".into()));
    }

    let extra_vars = weighting.extra_vars();
    let mut vars = model.params().trainable_vars();
    vars.extend(extra_vars.iter().cloned());
    let weight_decay = match config.optimizer {
        OptimizerKind::Adam => 0.0,
        OptimizerKind::Adamw => config.weight_decay,
    };
    let optimizer = Adam::new(vars, AdamConfig { weight_decay, ..AdamConfig::adam(config.lr) });
    let mut stepper = Stepper::new(optimizer, weighting);
    // Relatedness is a property of shared parameters; single-task columns have none.
    if model.params().has_shared() && tasks.len() > 1 {
        stepper.probe_every = PROBE_EVERY;
        stepper.affinity = config.affinity;
    }

    let on_representation = config.rep_grad || stepper.weighting.needs_representation();
    if on_representation {
        if !stepper.weighting.supports_representation() || stepper.weighting.batches_per_step() > 1 {
            return Err(Error::Invalid(
                "rep_grad: this weighting method keeps per-coordinate gradient statistics or uses several batches per step, which \
                 representation gradients (a different image at each coordinate in every batch) do not support; set rep_grad = false"
                    .into(),
            ));
        }
        stepper.probe_every = 0;
    }
    let per_task_selection = !model.params().has_shared();
    let mut state = LoopState {
        epochs_done: 0,
        history: Vec::with_capacity(config.epochs),
        train_seconds: 0.0,
        train_images: 0,
        last_finite: vec![f64::NAN; tasks.len()],
    };
    let mut best = Selection::new(tasks, per_task_selection);
    if let Some(spec) = &hooks.checkpoint {
        if let Some(bundle) = checkpoint::load(spec)? {
            let resume = Resume { model, extra_vars: &extra_vars, device };
            resume.restore(&bundle, &mut state, &mut best, &mut stepper, &mut rng, &mut data)?;
            stepper.steps = state.epochs_done * steps_per_epoch;
            if let Some(bar) = hooks.progress {
                bar.inc((state.epochs_done * steps_per_epoch) as u64);
            }
        }
    }
    let resumed_epochs = state.epochs_done;

    for epoch in state.epochs_done..config.epochs {
        let lr = config.schedule.lr(config.lr, epoch, config.epochs);
        stepper.optimizer.set_learning_rate(lr);
        model.start_epoch(epoch);
        let epoch_start = Instant::now();
        let mut loss_sum = vec![0.0; tasks.len()];
        let mut loss_count = vec![0usize; tasks.len()];
        let mut probe = EpochProbe::new(tasks.len());
        let noise = NoiseDraw::Train { seed, epoch };
        for _ in 0..steps_per_epoch {
            // One batch per group, or several independent ones for the double-sampling
            // methods (MoDo, SDMGrad) and Auto-Lambda's look-ahead, which then see that many
            // times the images per epoch.
            let draws: Vec<Vec<Vec<usize>>> = (0..stepper.weighting.batches_per_step().max(1))
                .map(|_| data.iter_mut().map(|gd| gd.next_batch(config.batch_size, &mut rng)).collect())
                .collect();
            state.train_images += draws.iter().flatten().map(Vec::len).sum::<usize>();
            // An absent task (no labelled sample in the batch) stands in with its last loss.
            let stand_in: Vec<f64> = state.last_finite.iter().map(|&v| if v.is_finite() { v } else { 1.0 }).collect();
            let mut present = vec![true; tasks.len()];
            let batch = BatchInputs { model, tasks, data: &data, noise, stand_in: &stand_in, device };
            let outcome = if on_representation {
                stepper.step_on_representation(model.params(), || {
                    let mut levels = Vec::new();
                    let losses = batch.losses(&draws[0], Some(&mut levels), &mut present)?;
                    Ok((losses, levels))
                })?
            } else {
                stepper.step(model.params(), |d| batch.losses(&draws[d], None, &mut present))?
            };
            let report = match outcome {
                StepOutcome::Done(report) => report,
                StepOutcome::NonFinite { task, loss } => {
                    return Err(Error::Diverged {
                        epoch: epoch + 1,
                        task: tasks[task].name.clone(),
                        loss,
                        last_finite: state.last_finite[task],
                    });
                }
            };
            for (t, &value) in report.losses.iter().enumerate().filter(|(t, _)| present[*t]) {
                state.last_finite[t] = value;
                loss_sum[t] += value;
                loss_count[t] += 1;
            }
            if let Some(gram) = &report.task_gram {
                probe.record_gram(gram);
            }
            if let Some(w) = &report.weights {
                probe.record_weights(w);
            }
            if let Some(z) = &report.affinity {
                probe.record_affinity(z);
            }
            if let Some(bar) = hooks.progress {
                bar.inc(1);
            }
        }
        // A task no batch of the epoch labelled keeps its last loss (loss-history methods
        // such as DWA then see no change).
        let mean_losses: Vec<f64> = (0..tasks.len())
            .map(|t| if loss_count[t] > 0 { loss_sum[t] / loss_count[t] as f64 } else { state.last_finite[t] })
            .map(|v| if v.is_finite() { v } else { 1.0 })
            .collect();
        stepper.weighting.end_epoch(&mean_losses);
        state.train_seconds += epoch_start.elapsed().as_secs_f64();

        let val = predict_all(model, tasks, &data, SplitName::Val, config.eval_batch_size, device)?;
        let val_primary: Vec<f64> = (0..tasks.len()).map(|t| primary(&tasks[t], &val[&t])).collect();
        best.consider(epoch + 1, &val_primary, model)?;
        state.history.push(EpochRecord {
            epoch: epoch + 1,
            lr,
            train_loss: mean_losses,
            val_primary,
            seconds: epoch_start.elapsed().as_secs_f64(),
            weights: probe.weights(),
            relatedness: probe.pairs(),
        });
        state.epochs_done = epoch + 1;
        if let Some(spec) = &hooks.checkpoint {
            let bundle = Resume { model, extra_vars: &extra_vars, device }.save(&state, &best, &stepper, &rng, &data)?;
            checkpoint::save(spec, &bundle)?;
        }
    }

    best.restore(model)?;
    let mut predictions = BTreeMap::new();
    for (t, p) in predict_all(model, tasks, &data, SplitName::Val, config.eval_batch_size, device)? {
        predictions.insert((t, SplitName::Val), p);
    }
    let test_start = Instant::now();
    let test = predict_all(model, tasks, &data, SplitName::Test, config.eval_batch_size, device)?;
    let test_seconds = test_start.elapsed().as_secs_f64();
    let test_images: usize = groups.iter().map(|g| g.dataset.test.len()).sum();
    for (t, p) in test {
        predictions.insert((t, SplitName::Test), p);
    }
    Ok(TrainOutcome {
        history: state.history,
        selected_epoch: best.epochs,
        predictions,
        train_seconds: state.train_seconds,
        train_images_per_sec: state.train_images as f64 / state.train_seconds.max(1e-9),
        inference_images_per_sec: test_images as f64 / test_seconds.max(1e-9),
        peak_rss_bytes: memory::peak_rss_bytes(),
        resumed_epochs,
    })
}

/// The loop's own progress: what a checkpoint needs besides tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LoopState {
    epochs_done: usize,
    history: Vec<EpochRecord>,
    #[serde(with = "super::lossless::float")]
    train_seconds: f64,
    train_images: usize,
    #[serde(with = "super::lossless::floats")]
    last_finite: Vec<f64>,
}

/// The JSON part of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedState {
    state: LoopState,
    /// The shuffling stream's position.
    rng_word_pos: String,
    /// Each group's batch order and position in it.
    orders: Vec<(Vec<usize>, usize)>,
    adam_step: usize,
    weighting: serde_json::Value,
    #[serde(with = "super::lossless::floats")]
    best_scores: Vec<f64>,
    best_epochs: Vec<usize>,
    /// For each selection slot, the parameters its snapshot holds (None: no snapshot yet).
    best_params: Vec<Option<Vec<usize>>>,
}

/// Moves the training state in and out of a checkpoint bundle.
struct Resume<'a> {
    model: &'a dyn Architecture,
    extra_vars: &'a [candle_core::Var],
    device: &'a Device,
}

impl Resume<'_> {
    fn save(&self, state: &LoopState, best: &Selection, stepper: &Stepper, rng: &ChaCha8Rng, data: &[GroupData]) -> Result<Bundle> {
        let mut arrays = Vec::new();
        let values = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.flatten_all()?.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?) };
        for (i, p) in self.model.params().iter().enumerate() {
            arrays.push((format!("param/{i:06}"), values(p.var.as_tensor())?));
        }
        for (j, v) in self.extra_vars.iter().enumerate() {
            arrays.push((format!("extra/{j:03}"), values(v.as_tensor())?));
        }
        let adam = stepper.optimizer.state();
        for (k, (m, v)) in adam.m.iter().zip(&adam.v).enumerate() {
            arrays.push((format!("adam_m/{k:06}"), m.clone()));
            arrays.push((format!("adam_v/{k:06}"), v.clone()));
        }
        let mut best_params = Vec::new();
        for (slot, snapshot) in best.snapshots.iter().enumerate() {
            best_params.push(snapshot.as_ref().map(|s| s.entries().iter().map(|(i, _)| *i).collect()));
            for (i, t) in snapshot.iter().flat_map(|s| s.entries()) {
                arrays.push((format!("best/{slot:03}/{i:06}"), values(t)?));
            }
        }
        let saved = SavedState {
            state: state.clone(),
            rng_word_pos: rng.get_word_pos().to_string(),
            orders: data.iter().map(|g| (g.order.clone(), g.cursor)).collect(),
            adam_step: adam.step,
            weighting: stepper.weighting.state(),
            best_scores: best.scores.clone(),
            best_epochs: best.epochs.clone(),
            best_params,
        };
        let meta = serde_json::to_value(&saved).map_err(|e| Error::Invalid(format!("checkpoint: {e}")))?;
        Ok(Bundle { arrays, meta })
    }

    #[allow(clippy::too_many_arguments)]
    fn restore(
        &self,
        bundle: &Bundle,
        state: &mut LoopState,
        best: &mut Selection,
        stepper: &mut Stepper,
        rng: &mut ChaCha8Rng,
        data: &mut [GroupData],
    ) -> Result<()> {
        let saved: SavedState = serde_json::from_value(bundle.meta.clone())
            .map_err(|e| Error::Invalid(format!("checkpoint: the training state is malformed: {e}")))?;
        let params: Vec<_> = self.model.params().iter().collect();
        let tensor = |name: &str, shape: &candle_core::Shape| -> Result<Tensor> {
            let values = bundle.array(name)?;
            if values.len() != shape.elem_count() {
                return Err(Error::Invalid(format!(
                    "checkpoint: array '{name}' has {} values, the model needs {}",
                    values.len(),
                    shape.elem_count()
                )));
            }
            Ok(Tensor::from_slice(values, shape, self.device)?)
        };
        for (i, p) in params.iter().enumerate() {
            p.var.set(&tensor(&format!("param/{i:06}"), p.var.shape())?)?;
        }
        for (j, v) in self.extra_vars.iter().enumerate() {
            v.set(&tensor(&format!("extra/{j:03}"), v.shape())?)?;
        }
        let slots = stepper.optimizer.state().m.len();
        let mut adam = AdamState { step: saved.adam_step, m: Vec::with_capacity(slots), v: Vec::with_capacity(slots) };
        for k in 0..slots {
            adam.m.push(bundle.array(&format!("adam_m/{k:06}"))?.to_vec());
            adam.v.push(bundle.array(&format!("adam_v/{k:06}"))?.to_vec());
        }
        stepper.optimizer.load_state(&adam)?;
        stepper.weighting.load_state(&saved.weighting)?;
        if saved.best_scores.len() != best.scores.len()
            || saved.best_params.len() != best.snapshots.len()
            || saved.orders.len() != data.len()
        {
            return Err(Error::Invalid("checkpoint: it was written for another task or data layout".into()));
        }
        best.scores = saved.best_scores;
        best.epochs = saved.best_epochs;
        for (slot, indices) in saved.best_params.iter().enumerate() {
            best.snapshots[slot] = match indices {
                None => None,
                Some(indices) => Some(Snapshot::from_entries(
                    indices
                        .iter()
                        .map(|&i| {
                            let p = params.get(i).ok_or_else(|| Error::Invalid(format!("checkpoint: parameter {i} does not exist")))?;
                            Ok((i, tensor(&format!("best/{slot:03}/{i:06}"), p.var.shape())?))
                        })
                        .collect::<Result<Vec<_>>>()?,
                )),
            };
        }
        let pos: u128 = saved.rng_word_pos.parse().map_err(|_| Error::Invalid("checkpoint: random-number position is malformed".into()))?;
        rng.set_word_pos(pos);
        for (g, (order, cursor)) in data.iter_mut().zip(saved.orders) {
            g.order = order;
            g.cursor = cursor;
        }
        *state = saved.state;
        Ok(())
    }
}

/// What the losses of one training step are computed from.
struct BatchInputs<'a> {
    model: &'a dyn Architecture,
    tasks: &'a [Task],
    data: &'a [GroupData<'a>],
    noise: NoiseDraw,
    /// The loss an absent task stands in with.
    stand_in: &'a [f64],
    device: &'a Device,
}

impl BatchInputs<'_> {
    /// Every task's loss on one batch per group (`batches[g]` indexes group g's training
    /// split). With `representation`, the heads read detached copies of the shared
    /// representation, which are appended to it ([`super::rep_grad`]).
    ///
    /// A task's loss is the loss over the batch's samples labelled for it. A batch without
    /// any gives the task a constant stand-in (its last loss: no gradient reaches any
    /// parameter from it, and methods that read loss values see no change) and clears
    /// `present[t]`; a design's own loss term joining that task (a VAE regulariser) is
    /// dropped with it.
    fn losses(&self, batches: &[Vec<usize>], mut representation: Option<&mut Vec<Level>>, present: &mut [bool]) -> Result<Vec<Tensor>> {
        let (model, tasks, device) = (self.model, self.tasks, self.device);
        let mut losses: Vec<Option<Tensor>> = vec![None; tasks.len()];
        for (gd, idx) in self.data.iter().zip(batches) {
            let x = gd.group.images(SplitName::Train, idx, self.noise, device)?;
            let outputs = match representation.as_deref_mut() {
                None => model.forward(&x, &gd.group.tasks, true)?,
                Some(kept) => {
                    let levels = model
                        .shared_representation(&x, true)
                        .ok_or_else(|| Error::Invalid("the design has no shared representation (rep_grad needs HPS)".into()))??;
                    let levels = rep_grad::detach(levels)?;
                    let outputs = model.heads_on(&rep_grad::head_inputs(&levels), &gd.group.tasks, true)?;
                    kept.extend(levels);
                    outputs
                }
            };
            for (&t, output) in gd.group.tasks.iter().zip(outputs) {
                let y = batch::targets(&tasks[t], &gd.targets[&(t, SplitName::Train)], idx, device)?;
                let keep: Option<Vec<u32>> = gd
                    .labelled
                    .get(&(t, SplitName::Train))
                    .map(|mask| idx.iter().enumerate().filter(|(_, &i)| mask[i]).map(|(k, _)| k as u32).collect());
                losses[t] = Some(match keep {
                    Some(k) if k.is_empty() => {
                        present[t] = false;
                        Tensor::new(self.stand_in[t] as f32, device)?
                    }
                    Some(k) if k.len() < idx.len() => {
                        let k = Tensor::new(k.as_slice(), device)?;
                        crate::task::task_loss(&tasks[t].kind, &output.index_select(&k, 0)?, &y.index_select(&k, 0)?)?
                    }
                    _ => crate::task::task_loss(&tasks[t].kind, &output, &y)?,
                });
            }
            if let Some((t, aux)) = model.take_auxiliary_loss() {
                if let (Some(l), true) = (losses[t].as_mut(), present[t]) {
                    *l = (&*l + aux)?;
                }
            }
        }
        losses
            .into_iter()
            .enumerate()
            .map(|(t, l)| l.ok_or_else(|| Error::Invalid(format!("task '{}' has no data group", tasks[t].name))))
            .collect()
    }
}

impl<'a> GroupData<'a> {
    /// The targets and labelled marks of `group`'s tasks on every split, before the first
    /// shuffle.
    fn new(group: &'a TaskGroup<'a>, tasks: &[Task]) -> Result<Self> {
        let (mut targets, mut labelled) = (BTreeMap::new(), BTreeMap::new());
        for &t in &group.tasks {
            for split in SplitName::ALL {
                targets.insert((t, split), tasks[t].targets(group.dataset.split(split))?);
                if let Some(mask) = tasks[t].labelled(group.dataset.split(split), split) {
                    labelled.insert((t, split), mask);
                }
            }
        }
        Ok(GroupData { group, targets, labelled, order: Vec::new(), cursor: usize::MAX })
    }

    /// The next batch of training indices, reshuffling when the split is exhausted.
    fn next_batch(&mut self, batch_size: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
        let n = self.group.dataset.train.len();
        if self.cursor >= n {
            self.order = batch::shuffled(n, rng);
            self.cursor = 0;
        }
        let end = (self.cursor + batch_size).min(n);
        let idx = self.order[self.cursor..end].to_vec();
        self.cursor = end;
        idx
    }
}

/// The selection score of one task: its primary metric, with undefined values ranked last.
fn primary(task: &Task, p: &TaskPredictions) -> f64 {
    let name = metrics::primary_metric(&task.kind);
    metrics::evaluate(&task.kind, p)
        .into_iter()
        .find(|m| m.name == name)
        .map(|m| m.value)
        .filter(|v| v.is_finite())
        .unwrap_or(f64::NEG_INFINITY)
}

/// Best-on-validation bookkeeping: one joint selection, or one per task for STL. The joint
/// score is the mean primary metric of the main tasks: an auxiliary task is there to help
/// them and does not pick the epoch (unless every task is auxiliary).
struct Selection {
    per_task: bool,
    /// Whether each task's score enters the joint selection.
    counted: Vec<bool>,
    scores: Vec<f64>,
    epochs: Vec<usize>,
    snapshots: Vec<Option<Snapshot>>,
}

impl Selection {
    fn new(tasks: &[Task], per_task: bool) -> Self {
        let slots = if per_task { tasks.len() } else { 1 };
        let all_auxiliary = tasks.iter().all(|t| t.spec.auxiliary);
        Selection {
            per_task,
            counted: tasks.iter().map(|t| all_auxiliary || !t.spec.auxiliary).collect(),
            scores: vec![f64::NEG_INFINITY; slots],
            epochs: vec![0; tasks.len()],
            snapshots: vec![None; slots],
        }
    }

    fn consider(&mut self, epoch: usize, val_primary: &[f64], model: &dyn Architecture) -> Result<()> {
        if self.per_task {
            for (t, &score) in val_primary.iter().enumerate() {
                if score > self.scores[t] || self.snapshots[t].is_none() {
                    self.scores[t] = score;
                    self.epochs[t] = epoch;
                    self.snapshots[t] = Some(model.params().snapshot(|p| p.owner == Owner::Task(t))?);
                }
            }
        } else {
            let main: Vec<f64> = val_primary.iter().zip(&self.counted).filter(|(_, &c)| c).map(|(&v, _)| v).collect();
            let score = main.iter().sum::<f64>() / main.len().max(1) as f64;
            if score > self.scores[0] || self.snapshots[0].is_none() {
                self.scores[0] = score;
                self.epochs.iter_mut().for_each(|e| *e = epoch);
                self.snapshots[0] = Some(model.params().snapshot(|_| true)?);
            }
        }
        Ok(())
    }

    fn restore(&self, model: &dyn Architecture) -> Result<()> {
        for snapshot in self.snapshots.iter().flatten() {
            model.params().restore(snapshot)?;
        }
        Ok(())
    }
}

/// Predictions of every task on `split`, keyed by task index.
fn predict_all(
    model: &dyn Architecture,
    tasks: &[Task],
    data: &[GroupData],
    split: SplitName,
    batch_size: usize,
    device: &Device,
) -> Result<BTreeMap<usize, TaskPredictions>> {
    let _no_grad = crate::model::params::no_grad();
    let mut out = BTreeMap::new();
    for gd in data {
        let ds = gd.group.dataset;
        let n = ds.split(split).len();
        let mut scores: Vec<Vec<f32>> = vec![Vec::new(); gd.group.tasks.len()];
        for start in (0..n).step_by(batch_size) {
            let idx: Vec<usize> = (start..(start + batch_size).min(n)).collect();
            let x = gd.group.images(split, &idx, NoiseDraw::Eval(split), device)?;
            let outputs = model.forward(&x, &gd.group.tasks, false)?;
            for (k, (&t, output)) in gd.group.tasks.iter().zip(outputs).enumerate() {
                scores[k].extend(to_scores(&tasks[t], &output)?);
            }
        }
        for (k, &t) in gd.group.tasks.iter().enumerate() {
            let spacing = match (&tasks[t].kind, ds.split(split).source(PIXEL_SIZE_SOURCE)) {
                (TaskKind::Segmentation { .. } | TaskKind::Ellipse { .. }, Some(SourceValues::Values(v))) => Some(v.clone()),
                _ => None,
            };
            let mut targets = gd.targets[&(t, split)].clone();
            let mut task_scores = std::mem::take(&mut scores[k]);
            if let (Some(px), Targets::Values(values)) = (tasks[t].pixel_sizes(ds.split(split))?, &mut targets) {
                // Back from the pixels the network works in to the source's mm.
                for ((score, value), px) in task_scores.iter_mut().zip(values.iter_mut()).zip(px) {
                    *score *= px;
                    *value *= px;
                }
            }
            let p = TaskPredictions {
                spacing,
                width: if tasks[t].kind.is_dense() { targets.per_sample() } else { tasks[t].kind.outputs() },
                targets,
                scores: task_scores,
            };
            // Metrics read the labelled samples only.
            let p = match gd.labelled.get(&(t, split)) {
                Some(mask) => p.subset(&(0..mask.len()).filter(|&i| mask[i]).collect::<Vec<_>>()),
                None => p,
            };
            out.insert(t, p);
        }
    }
    Ok(out)
}

/// Head outputs to stored scores, `kind.outputs()`-wide per sample for vector tasks:
/// probabilities for classification, values in the target's unit for regression; per pixel
/// for dense tasks: the predicted class (segmentation) or the reconstructed value.
fn to_scores(task: &Task, output: &Tensor) -> Result<Vec<f32>> {
    let scores = match task.kind {
        TaskKind::Binary | TaskKind::MultiLabel { .. } => candle_nn::ops::sigmoid(output)?,
        TaskKind::MultiClass { .. } | TaskKind::Ordinal { .. } => candle_nn::ops::softmax(output, D::Minus1)?,
        TaskKind::Regression | TaskKind::OrdinalRegression { .. } => {
            let (mean, std) = task.target_scale;
            ((output * std as f64)? + mean as f64)?
        }
        TaskKind::Segmentation { classes: 2 } => output.ge(0.0)?.to_dtype(candle_core::DType::F32)?,
        TaskKind::Segmentation { .. } => output.argmax(1)?.to_dtype(candle_core::DType::F32)?,
        TaskKind::Reconstruction { channels, generative: Generative::Vae(v) } => crate::task::unpack_vae(&v, channels, output)?.0,
        TaskKind::Reconstruction { .. } | TaskKind::Ellipse { .. } => output.clone(),
    };
    Ok(scores.flatten_all()?.to_vec1::<f32>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::phantoms::{generate, PhantomConfig};
    use crate::model::arch::{build, Design, ModelSpec};
    use crate::model::backbone::BackboneKind;
    use crate::model::head::HeadSpec;
    use crate::task::{TaskKindName, TaskSpec};
    use crate::weighting::{Context, WeightingKind};

    fn setup(fraction: f64) -> (Dataset, Vec<Task>) {
        let d = generate(&PhantomConfig { size: 12, train: 48, val: 8, test: 8, seed: 4, noise: 0.2, relatedness: None }).unwrap();
        let specs = [
            TaskSpec { labelled_fraction: Some(fraction), ..TaskSpec::new("shape", TaskKindName::Multiclass, "shape") },
            TaskSpec::new("lesion", TaskKindName::Segmentation, "mask"),
        ];
        let tasks = specs.iter().map(|s| Task::resolve(s, &d).unwrap()).collect();
        (d, tasks)
    }

    fn model(d: &Dataset, tasks: &[Task]) -> Box<dyn Architecture> {
        let spec = ModelSpec {
            backbone: BackboneKind::SmallCnn,
            width: 4,
            in_channels: 1,
            input_size: (d.shape.height, d.shape.width),
            heads: tasks.iter().map(|t| HeadSpec::of(&t.kind)).collect(),
            pairs: None,
        };
        build(Design::from_name("hps").unwrap(), &spec, 3, &Device::Cpu).unwrap()
    }

    /// A partly labelled batch's loss is the loss of the same outputs over its labelled
    /// samples alone.
    #[test]
    fn the_masked_loss_is_the_loss_over_the_labelled_subset() {
        let (d, tasks) = setup(0.5);
        let net = model(&d, &tasks);
        let group = TaskGroup { dataset: &d, tasks: vec![0, 1], corruption: None };
        let data = [GroupData::new(&group, &tasks).unwrap()];
        let mask = &data[0].labelled[&(0, SplitName::Train)];
        let idx: Vec<usize> = (0..16).collect();
        assert!((1..16).contains(&idx.iter().filter(|&&i| mask[i]).count()), "the batch must be partly labelled");
        let inputs = BatchInputs {
            model: net.as_ref(),
            tasks: &tasks,
            data: &data,
            noise: NoiseDraw::Eval(SplitName::Train),
            stand_in: &[1.0, 1.0],
            device: &Device::Cpu,
        };
        let mut present = vec![true; 2];
        let got = inputs.losses(std::slice::from_ref(&idx), None, &mut present).unwrap()[0].to_scalar::<f32>().unwrap();
        assert_eq!(present, [true, true]);
        let x = batch::images(&d.train, d.shape, &idx, &Device::Cpu).unwrap();
        let out = net.forward(&x, &[0], true).unwrap().remove(0);
        let kept: Vec<usize> = idx.iter().copied().filter(|&i| mask[i]).collect();
        let rows: Vec<u32> = kept.iter().map(|&i| i as u32).collect();
        let rows = Tensor::new(rows.as_slice(), &Device::Cpu).unwrap();
        let y = batch::targets(&tasks[0], &data[0].targets[&(0, SplitName::Train)], &kept, &Device::Cpu).unwrap();
        let want = crate::task::task_loss(&tasks[0].kind, &out.index_select(&rows, 0).unwrap(), &y).unwrap().to_scalar::<f32>().unwrap();
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }

    /// A batch with no label for a task: under every weighting method the step is finite,
    /// the task's loss is its stand-in, and no gradient from it moves its own head (Adam's
    /// first step moves a parameter exactly when its gradient is non-zero).
    #[test]
    fn an_unlabelled_batch_gives_finite_zero_gradients_from_its_task_under_every_method() {
        let (d, tasks) = setup(0.25);
        let group = TaskGroup { dataset: &d, tasks: vec![0, 1], corruption: None };
        let data = [GroupData::new(&group, &tasks).unwrap()];
        let mask = &data[0].labelled[&(0, SplitName::Train)];
        let idx: Vec<usize> = (0..d.train.len()).filter(|&i| !mask[i]).take(12).collect();
        assert_eq!(idx.len(), 12);
        for method in WeightingKind::all() {
            let net = model(&d, &tasks);
            let mut weighting = method.build_with(&Context { tasks: 2, seed: 1, device: &Device::Cpu }, None).unwrap();
            let mut vars = net.params().trainable_vars();
            vars.extend(weighting.extra_vars());
            let mut stepper = Stepper::new(Adam::new(vars, AdamConfig::adam(1e-2)), weighting.as_mut());
            let head = |m: &dyn Architecture| -> Vec<Vec<f32>> {
                let own = m.params().iter().filter(|p| p.owner == Owner::Task(0) && p.trainable);
                own.map(|p| p.var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()).collect()
            };
            let before = head(net.as_ref());
            let inputs = BatchInputs {
                model: net.as_ref(),
                tasks: &tasks,
                data: &data,
                noise: NoiseDraw::Eval(SplitName::Train),
                stand_in: &[0.7, 1.0],
                device: &Device::Cpu,
            };
            let mut present = vec![true; 2];
            let rep = stepper.weighting.needs_representation();
            let outcome = if rep {
                stepper
                    .step_on_representation(net.params(), || {
                        let mut levels = Vec::new();
                        let losses = inputs.losses(std::slice::from_ref(&idx), Some(&mut levels), &mut present)?;
                        Ok((losses, levels))
                    })
                    .unwrap()
            } else {
                stepper.step(net.params(), |_| inputs.losses(std::slice::from_ref(&idx), None, &mut present)).unwrap()
            };
            let StepOutcome::Done(report) = outcome else { panic!("{method}: the step stopped: {outcome:?}") };
            assert_eq!(present, [false, true], "{method}");
            assert!((report.losses[0] - 0.7).abs() < 1e-6, "{method}: the absent task reports its stand-in, {:?}", report.losses);
            assert!(report.weights.iter().flatten().all(|w| w.is_finite()), "{method}: weights {:?}", report.weights);
            for p in net.params().iter() {
                let finite = p.var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().all(|v| v.is_finite());
                assert!(finite, "{method}: {} is not finite after the step", p.name);
            }
            assert_eq!(head(net.as_ref()), before, "{method}: the absent task's head moved");
        }
    }
}
