//! One training step per design (small CNN, two tasks, batch 64) and per weighting method
//! (HPS), so design and method overheads read as ratios to HPS + EW from one run. Every
//! registered design and method is timed, through the trainer's own step function.
//!
//! `cargo bench --bench train_step`

use candle_core::{Device, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use medmtl::model::arch::{build, Design, ModelSpec};
use medmtl::model::backbone::BackboneKind;
use medmtl::model::head::HeadSpec;
use medmtl::task::{task_loss, TaskKind};
use medmtl::train::optim::{Adam, AdamConfig};
use medmtl::train::{StepOutcome, Stepper};
use medmtl::weighting::WeightingKind;

fn step_bench(c: &mut Criterion, group_name: &str, design: Design, weighting: WeightingKind) {
    let d = Device::Cpu;
    let kinds = [TaskKind::MultiClass { classes: 5 }, TaskKind::Binary];
    let spec = ModelSpec {
        backbone: BackboneKind::SmallCnn,
        width: 16,
        in_channels: 1,
        input_size: (28, 28),
        heads: kinds.iter().map(HeadSpec::of).collect(),
    };
    let model = build(design, &spec, 0, &d).unwrap();
    let x = Tensor::randn(0f32, 1.0, (64, 1, 28, 28), &d).unwrap();
    let y0 = Tensor::from_vec((0..64u32).map(|i| i % 5).collect::<Vec<_>>(), 64, &d).unwrap();
    let y1 = Tensor::from_vec((0..64).map(|i| (i % 2) as f32).collect::<Vec<_>>(), (64, 1), &d).unwrap();
    let mut method = weighting.build(2, 0, &d).unwrap();
    let mut vars = model.params().trainable_vars();
    vars.extend(method.extra_vars());
    let mut stepper = Stepper::new(Adam::new(vars, AdamConfig::adam(1e-3)), method.as_mut());
    let losses = || {
        let out = model.forward(&x, &[0, 1], true)?;
        Ok(vec![task_loss(&kinds[0], &out[0], &y0)?, task_loss(&kinds[1], &out[1], &y1)?])
    };
    // The steady state is what a long run pays for: past GradNorm's and DWA's warm-up.
    stepper.warm_up(2, losses).unwrap();
    c.bench_function(&format!("{group_name}/{design}/{weighting}"), |b| {
        b.iter(|| assert!(matches!(stepper.step(model.params(), losses).unwrap(), StepOutcome::Done(_))))
    });
}

fn designs(c: &mut Criterion) {
    let ew = WeightingKind::from_name("ew").unwrap();
    for design in Design::all() {
        step_bench(c, "train_step/design", design, ew);
    }
}

fn weightings(c: &mut Criterion) {
    let hps = Design::from_name("hps").unwrap();
    for method in WeightingKind::all() {
        step_bench(c, "train_step/weighting", hps, method);
    }
}

criterion_group! {
    name = steps;
    config = Criterion::default().sample_size(10);
    targets = designs, weightings
}
criterion_main!(steps);
