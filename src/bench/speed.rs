//! Fixed training and inference workloads for speed comparisons (medmtl vs PyTorch, kernels
//! on vs off) and for CI's throughput reference.
//!
//! Each workload is a multi-task model on random, seeded inputs; `benchmarks/peers/` has the
//! PyTorch twin of every one with identical shapes, losses and optimiser.

use std::time::Instant;

use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::arch::{self, Architecture, Design, ModelSpec};
use crate::model::backbone::BackboneKind;
use crate::model::head::HeadSpec;
use crate::task::{task_loss, TaskKind};
use crate::train::optim::{Adam, AdamConfig};
use crate::train::{StepOutcome, Stepper};
use crate::weighting::{gradients, Backward, Weighting, WeightingKind};
use crate::{Error, Result};

/// A model of the speed comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpeedModel {
    /// Small CNN (width 32) on 1x28x28, heads: 5-class and binary.
    SmallCnn,
    /// ResNet-18 (28) on 3x28x28, heads: 5-class and binary.
    Resnet18,
    /// U-Net (width 16) on 1x64x64, heads: binary segmentation (decoder), 2-class and
    /// regression (bottleneck).
    Unet,
}

/// What is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpeedMode {
    /// Forward, summed task losses, one backward, Adam step.
    Train,
    /// Forward, one backward per task loss, summed gradients, Adam step (what gradient
    /// weighting methods such as PCGrad need).
    TrainPerTask,
    /// Evaluation-mode forward only.
    Infer,
}

/// One measurement, in the JSON-lines format the peer runner reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedResult {
    /// `medmtl`, or the peer that was timed (`pytorch`).
    pub framework: String,
    /// The framework's version.
    pub version: String,
    /// The workload.
    pub model: SpeedModel,
    /// What was timed.
    pub mode: SpeedMode,
    /// Images per step.
    pub batch: usize,
    /// CPU worker threads (medmtl: the rayon pool).
    pub threads: usize,
    /// Timed steps, after the untimed warm-up ones.
    pub steps: usize,
    /// `batch x steps` images over the timed steps' wall time.
    pub images_per_sec: f64,
    /// Peak resident memory of the process during the measurement, in MiB (Linux only).
    pub peak_rss_mib: Option<f64>,
    /// Whether medmtl's fused CPU kernels were on.
    pub kernels: bool,
    /// The weighting method of a `train` measurement (EW when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighting: Option<WeightingKind>,
    /// Whether the weighting method had left its warm-up (GradNorm's and DWA's first
    /// epochs of plain EW) before the timed steps: a timing of the warm-up would not be
    /// the method's.
    #[serde(default)]
    pub past_warm_up: bool,
    /// CPU model and matrix-product instruction set the timing was made on.
    #[serde(default)]
    pub hardware: String,
}

struct Workload {
    model: Box<dyn Architecture>,
    kinds: Vec<TaskKind>,
    x: Tensor,
    targets: Vec<Tensor>,
}

fn workload(model: SpeedModel, batch: usize, seed: u64, device: &Device) -> Result<Workload> {
    let (backbone, width, channels, side, kinds) = match model {
        SpeedModel::SmallCnn => (BackboneKind::SmallCnn, 32, 1, 28, vec![TaskKind::MultiClass { classes: 5 }, TaskKind::Binary]),
        SpeedModel::Resnet18 => (BackboneKind::Resnet18, 64, 3, 28, vec![TaskKind::MultiClass { classes: 5 }, TaskKind::Binary]),
        SpeedModel::Unet => (
            BackboneKind::Unet,
            16,
            1,
            64,
            vec![TaskKind::Segmentation { classes: 2 }, TaskKind::MultiClass { classes: 2 }, TaskKind::Regression],
        ),
    };
    let spec = ModelSpec {
        backbone,
        width,
        in_channels: channels,
        input_size: (side, side),
        heads: kinds.iter().map(HeadSpec::of).collect(),
        pairs: None,
    };
    let model = arch::build(Design::from_name("hps")?, &spec, seed, device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pixels: Vec<f32> = (0..batch * channels * side * side).map(|_| rng.random_range(-1.0..1.0)).collect();
    let x = Tensor::from_vec(pixels, (batch, channels, side, side), device)?;
    let targets = kinds
        .iter()
        .map(|k| -> Result<Tensor> {
            Ok(match k {
                TaskKind::MultiClass { classes } => {
                    let v: Vec<u32> = (0..batch).map(|_| rng.random_range(0..*classes as u32)).collect();
                    Tensor::from_vec(v, batch, device)?
                }
                TaskKind::Binary => {
                    let v: Vec<f32> = (0..batch).map(|_| rng.random_range(0..2) as f32).collect();
                    Tensor::from_vec(v, (batch, 1), device)?
                }
                TaskKind::Segmentation { .. } => {
                    let v: Vec<f32> = (0..batch * side * side).map(|_| rng.random_range(0..2) as f32).collect();
                    Tensor::from_vec(v, (batch, 1, side, side), device)?
                }
                _ => {
                    let v: Vec<f32> = (0..batch).map(|_| rng.random_range(-1.0..1.0)).collect();
                    Tensor::from_vec(v, (batch, 1), device)?
                }
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Workload { model, kinds, x, targets })
}

/// Times `steps` iterations of `mode` after `warmup` untimed ones.
/// `weighting` replaces the plain sum of a `train` step by that method's backward.
pub fn measure(
    model: SpeedModel,
    mode: SpeedMode,
    weighting: Option<WeightingKind>,
    batch: usize,
    steps: usize,
    warmup: usize,
    device: &Device,
) -> Result<SpeedResult> {
    if batch == 0 || steps == 0 {
        return Err(Error::Invalid("batch and steps must be at least 1".into()));
    }
    crate::train::reset_peak_rss();
    let w = workload(model, batch, 0, device)?;
    let tasks: Vec<usize> = (0..w.kinds.len()).collect();
    let vars = w.model.params().trainable_vars();
    // `train`: EW unless a method is named; `train-per-task`: one backward per task, summed.
    let mut method: Box<dyn Weighting> = match (mode, weighting) {
        (SpeedMode::TrainPerTask, None) => Box::new(SummedTaskGradients { vars: vars.clone() }),
        (_, kind) => kind.map_or_else(|| WeightingKind::from_name("ew"), Ok)?.build(w.kinds.len(), 0, device)?,
    };
    let mut all_vars = vars;
    all_vars.extend(method.extra_vars());
    let mut stepper = Stepper::new(Adam::new(all_vars, AdamConfig::adam(1e-3)), method.as_mut());
    let losses = || -> Result<Vec<Tensor>> {
        let out = w.model.forward(&w.x, &tasks, true)?;
        out.iter().zip(&w.kinds).zip(&w.targets).map(|((o, k), t)| task_loss(k, o, t)).collect()
    };
    stepper.warm_up(2, losses)?;
    let mut step = || -> Result<()> {
        if mode == SpeedMode::Infer {
            let _no_grad = crate::model::params::no_grad();
            let out = w.model.forward(&w.x, &tasks, false)?;
            // Force the computation to finish (a no-op on CPU, a sync on CUDA).
            out[0].sum_all()?.to_scalar::<f32>()?;
            return Ok(());
        }
        let outcome = if stepper.weighting.needs_representation() {
            // GradDrop: the trainer's representation step.
            stepper.step_on_representation(w.model.params(), || {
                let levels =
                    w.model.shared_representation(&w.x, true).ok_or_else(|| Error::Invalid("no shared representation".into()))??;
                let levels = crate::train::rep_grad::detach(levels)?;
                let out = w.model.heads_on(&crate::train::rep_grad::head_inputs(&levels), &tasks, true)?;
                let losses = out.iter().zip(&w.kinds).zip(&w.targets).map(|((o, k), t)| task_loss(k, o, t)).collect::<Result<_>>()?;
                Ok((losses, levels))
            })?
        } else {
            stepper.step(w.model.params(), |_| losses())?
        };
        match outcome {
            StepOutcome::Done(_) => Ok(()),
            StepOutcome::NonFinite { task, loss } => Err(Error::Invalid(format!("speed workload: task {task} loss is {loss}"))),
        }
    };
    for _ in 0..warmup {
        step()?;
    }
    let start = Instant::now();
    for _ in 0..steps {
        step()?;
    }
    let secs = start.elapsed().as_secs_f64();
    Ok(SpeedResult {
        framework: "medmtl".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        model,
        mode,
        batch,
        threads: rayon::current_num_threads(),
        steps,
        images_per_sec: (batch * steps) as f64 / secs,
        peak_rss_mib: crate::train::peak_rss_bytes().map(|b| b as f64 / (1 << 20) as f64),
        kernels: crate::kernels::enabled(),
        weighting,
        past_warm_up: !method.warming_up(),
        hardware: crate::provenance::cpu_model(),
    })
}

/// One backward per task and the plain sum of the per-task gradients: the cost every
/// gradient method pays before its own combination rule.
struct SummedTaskGradients {
    vars: Vec<candle_core::Var>,
}

impl Weighting for SummedTaskGradients {
    fn backward(&mut self, losses: &[Tensor], _params: &crate::model::params::ParamStore) -> Result<Backward> {
        let stores = gradients::task_gradients(losses)?;
        Ok(gradients::weighted_sum(&stores, &vec![1.0; losses.len()], &self.vars)?.into())
    }
}

/// Images/s of a small fixed training workload (small CNN, batch 32, 8 steps after 2
/// warm-up steps; the best of three timings, as the least disturbed by other load), timed
/// alongside a suite so that CI can compare throughput as a ratio to it rather than in
/// absolute seconds across machines.
pub fn reference_images_per_sec(device: &Device) -> Result<f64> {
    let mut best = 0.0f64;
    for _ in 0..3 {
        best = best.max(measure(SpeedModel::SmallCnn, SpeedMode::Train, None, 32, 8, 2, device)?.images_per_sec);
    }
    Ok(best)
}
