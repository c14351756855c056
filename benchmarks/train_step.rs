//! One training step per design (small CNN, two tasks, batch 64) and per weighting method
//! (HPS), so design and method overheads read as ratios to HPS + EW from one run. Every
//! registered design and method is timed, through the trainer's own step function. The
//! `probe` group times HPS + EW without relatedness probes, with the trainer's default (per-task
//! gradients every 16th step), with the lookahead affinity on those steps, and probing every
//! step: the relatedness overhead is the ratio to the first. The `rep_grad` group times the
//! gradient methods on the shared representation's gradients instead of the parameters'.
//!
//! `cargo bench --bench train_step`

use candle_core::{Device, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use medmtl::model::arch::{build, Design, ModelSpec};
use medmtl::model::backbone::BackboneKind;
use medmtl::model::head::HeadSpec;
use medmtl::task::{task_loss, TaskKind};
use medmtl::train::optim::{Adam, AdamConfig};
use medmtl::train::{rep_grad, StepOutcome, Stepper};
use medmtl::weighting::WeightingKind;

/// How often the step measures per-task gradients (0: never) and whether it also measures
/// the lookahead affinity on those steps.
#[derive(Clone, Copy)]
struct Probe {
    every: usize,
    affinity: bool,
}

const NO_PROBE: Probe = Probe { every: 0, affinity: false };

fn step_bench(c: &mut Criterion, name: &str, design: Design, weighting: WeightingKind, probe: Probe, rep_grad: bool) {
    let d = Device::Cpu;
    let kinds = [TaskKind::MultiClass { classes: 5 }, TaskKind::Binary];
    let spec = ModelSpec {
        backbone: BackboneKind::SmallCnn,
        width: 16,
        in_channels: 1,
        input_size: (28, 28),
        heads: kinds.iter().map(HeadSpec::of).collect(),
        pairs: None,
    };
    let model = build(design, &spec, 0, &d).unwrap();
    let x = Tensor::randn(0f32, 1.0, (64, 1, 28, 28), &d).unwrap();
    let y0 = Tensor::from_vec((0..64u32).map(|i| i % 5).collect::<Vec<_>>(), 64, &d).unwrap();
    let y1 = Tensor::from_vec((0..64).map(|i| (i % 2) as f32).collect::<Vec<_>>(), (64, 1), &d).unwrap();
    let mut method = weighting.build(2, 0, &d).unwrap();
    let mut vars = model.params().trainable_vars();
    vars.extend(method.extra_vars());
    let mut stepper = Stepper::new(Adam::new(vars, AdamConfig::adam(1e-3)), method.as_mut());
    stepper.probe_every = probe.every;
    stepper.affinity = probe.affinity;
    let losses = || {
        let out = model.forward(&x, &[0, 1], true)?;
        Ok(vec![task_loss(&kinds[0], &out[0], &y0)?, task_loss(&kinds[1], &out[1], &y1)?])
    };
    // The steady state is what a long run pays for: past GradNorm's and DWA's warm-up.
    stepper.warm_up(2, losses).unwrap();
    if rep_grad || stepper.weighting.needs_representation() {
        // The trainer's representation step: heads on detached copies of the encoder's levels.
        let on_representation = || {
            let levels = rep_grad::detach(model.shared_representation(&x, true).unwrap()?)?;
            let out = model.heads_on(&rep_grad::head_inputs(&levels), &[0, 1], true)?;
            Ok((vec![task_loss(&kinds[0], &out[0], &y0)?, task_loss(&kinds[1], &out[1], &y1)?], levels))
        };
        c.bench_function(name, |b| {
            b.iter(|| assert!(matches!(stepper.step_on_representation(model.params(), on_representation).unwrap(), StepOutcome::Done(_))))
        });
        return;
    }
    c.bench_function(name, |b| b.iter(|| assert!(matches!(stepper.step(model.params(), |_| losses()).unwrap(), StepOutcome::Done(_)))));
}

fn designs(c: &mut Criterion) {
    let ew = WeightingKind::from_name("ew").unwrap();
    for design in Design::all() {
        step_bench(c, &format!("train_step/design/{design}/ew"), design, ew, NO_PROBE, false);
    }
}

fn weightings(c: &mut Criterion) {
    let hps = Design::from_name("hps").unwrap();
    for method in WeightingKind::all() {
        step_bench(c, &format!("train_step/weighting/hps/{method}"), hps, method, NO_PROBE, false);
    }
}

/// Gradient methods on the shared representation's gradients (`rep_grad`) against the same
/// methods on the parameters' (the `weighting` group).
fn representation(c: &mut Criterion) {
    let hps = Design::from_name("hps").unwrap();
    for method in WeightingKind::all().filter(|m| m.needs_task_gradients()) {
        let built = method.build(2, 0, &Device::Cpu).unwrap();
        if built.supports_representation() && !built.needs_representation() {
            step_bench(c, &format!("train_step/rep_grad/hps/{method}"), hps, method, NO_PROBE, true);
        }
    }
}

fn probes(c: &mut Criterion) {
    let (hps, ew) = (Design::from_name("hps").unwrap(), WeightingKind::from_name("ew").unwrap());
    let every = medmtl::train::PROBE_EVERY;
    for (label, probe) in [
        ("none".to_owned(), NO_PROBE),
        (format!("gradients-every-{every}"), Probe { every, affinity: false }),
        (format!("gradients-and-affinity-every-{every}"), Probe { every, affinity: true }),
        ("gradients-every-step".to_owned(), Probe { every: 1, affinity: false }),
    ] {
        step_bench(c, &format!("train_step/probe/{label}"), hps, ew, probe, false);
    }
}

criterion_group! {
    name = steps;
    config = Criterion::default().sample_size(10);
    targets = designs, weightings, representation, probes
}
criterion_main!(steps);
