//! Fixed training and inference workloads for speed comparisons (medmtl vs PyTorch, kernels
//! on vs off) and for CI's throughput reference.
//!
//! Each workload is a multi-task model on random, seeded inputs; `benchmarks/peers/` has the
//! PyTorch twin of every one with identical shapes, losses and optimiser.

use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::arch::{self, Architecture, Design, ModelSpec};
use crate::model::backbone::BackboneKind;
use crate::model::head::HeadSpec;
use crate::task::{task_loss, TaskKind};
use crate::weighting::gradients;
use crate::{Error, Result};

/// A model of the speed comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpeedModel {
    /// Small CNN (width 32) on 1x28x28, heads: 5-class and binary.
    SmallCnn,
    /// ResNet-18 (28) on 3x28x28, heads: 5-class and binary.
    Resnet18,
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
    pub framework: String,
    pub version: String,
    pub model: SpeedModel,
    pub mode: SpeedMode,
    pub batch: usize,
    pub threads: usize,
    pub steps: usize,
    pub images_per_sec: f64,
    pub peak_rss_mib: Option<f64>,
    /// Whether medmtl's fused CPU kernels were on.
    pub kernels: bool,
}

struct Workload {
    model: Box<dyn Architecture>,
    kinds: Vec<TaskKind>,
    x: Tensor,
    targets: Vec<Tensor>,
}

fn workload(model: SpeedModel, batch: usize, seed: u64, device: &Device) -> Result<Workload> {
    let (backbone, width, channels) = match model {
        SpeedModel::SmallCnn => (BackboneKind::SmallCnn, 32, 1),
        SpeedModel::Resnet18 => (BackboneKind::Resnet18, 64, 3),
    };
    let kinds = vec![TaskKind::MultiClass { classes: 5 }, TaskKind::Binary];
    let spec = ModelSpec {
        backbone,
        width,
        in_channels: channels,
        input_size: (28, 28),
        heads: kinds.iter().map(HeadSpec::of).collect(),
        experts: Default::default(),
    };
    let model = arch::build(Design::Hps, &spec, seed, device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pixels: Vec<f32> = (0..batch * channels * 28 * 28).map(|_| rng.random_range(-1.0..1.0)).collect();
    let x = Tensor::from_vec(pixels, (batch, channels, 28, 28), device)?;
    let classes: Vec<u32> = (0..batch).map(|_| rng.random_range(0..5)).collect();
    let binary: Vec<f32> = (0..batch).map(|_| rng.random_range(0..2) as f32).collect();
    let targets = vec![Tensor::from_vec(classes, batch, device)?, Tensor::from_vec(binary, (batch, 1), device)?];
    Ok(Workload { model, kinds, x, targets })
}

/// Times `steps` iterations of `mode` after `warmup` untimed ones.
pub fn measure(model: SpeedModel, mode: SpeedMode, batch: usize, steps: usize, warmup: usize, device: &Device) -> Result<SpeedResult> {
    if batch == 0 || steps == 0 {
        return Err(Error::Invalid("batch and steps must be at least 1".into()));
    }
    crate::train::reset_peak_rss();
    let w = workload(model, batch, 0, device)?;
    let tasks: Vec<usize> = (0..w.kinds.len()).collect();
    let vars = w.model.params().trainable_vars();
    let mut opt = AdamW::new(vars.clone(), ParamsAdamW { lr: 1e-3, weight_decay: 0.0, ..Default::default() })?;
    let mut step = || -> Result<()> {
        match mode {
            SpeedMode::Infer => {
                let _no_grad = crate::model::params::no_grad();
                let out = w.model.forward(&w.x, &tasks, false)?;
                // Force the computation to finish (a no-op on CPU, a sync on CUDA).
                out[0].sum_all()?.to_scalar::<f32>()?;
            }
            SpeedMode::Train | SpeedMode::TrainPerTask => {
                let out = w.model.forward(&w.x, &tasks, true)?;
                let losses = out
                    .iter()
                    .zip(&w.kinds)
                    .zip(&w.targets)
                    .map(|((o, k), t)| task_loss(k, o, t))
                    .collect::<Result<Vec<_>>>()?;
                let grads = if mode == SpeedMode::Train {
                    let total = (&losses[0] + &losses[1])?;
                    total.backward()?
                } else {
                    let stores = gradients::task_gradients(&losses)?;
                    gradients::weighted_sum(&stores, &[1.0, 1.0], &vars)?
                };
                opt.step(&grads)?;
            }
        }
        Ok(())
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
    })
}
