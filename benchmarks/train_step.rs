//! One training step per design (small CNN, two tasks, batch 64) and per weighting method
//! (HPS), so design and method overheads read as ratios to HPS + EW from one run.
//!
//! `cargo bench --bench train_step`

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use criterion::{criterion_group, criterion_main, Criterion};
use medmtl::model::arch::{build, Design, ExpertConfig, ModelSpec};
use medmtl::model::backbone::BackboneKind;
use medmtl::model::head::HeadSpec;
use medmtl::task::{task_loss, TaskKind};
use medmtl::weighting::{loss_values, WeightingKind};

const DESIGNS: [Design; 7] = [Design::Stl, Design::Hps, Design::CrossStitch, Design::Mtan, Design::Mmoe, Design::Cgc, Design::Ple];

fn step_bench(c: &mut Criterion, group_name: &str, design: Design, weighting: WeightingKind) {
    let d = Device::Cpu;
    let kinds = [TaskKind::MultiClass { classes: 5 }, TaskKind::Binary];
    let spec = ModelSpec {
        backbone: BackboneKind::SmallCnn,
        width: 16,
        in_channels: 1,
        input_size: (28, 28),
        heads: kinds.iter().map(HeadSpec::of).collect(),
        experts: ExpertConfig::default(),
    };
    let model = build(design, &spec, 0, &d).unwrap();
    let x = Tensor::randn(0f32, 1.0, (64, 1, 28, 28), &d).unwrap();
    let y0 = Tensor::from_vec((0..64u32).map(|i| i % 5).collect::<Vec<_>>(), 64, &d).unwrap();
    let y1 = Tensor::from_vec((0..64).map(|i| (i % 2) as f32).collect::<Vec<_>>(), (64, 1), &d).unwrap();
    let mut method = weighting.build(2, 0, &d).unwrap();
    let mut vars = model.params().trainable_vars();
    vars.extend(method.extra_vars());
    let mut opt = AdamW::new(vars, ParamsAdamW { lr: 1e-3, weight_decay: 0.0, ..Default::default() }).unwrap();
    let losses = || {
        let out = model.forward(&x, &[0, 1], true).unwrap();
        [task_loss(&kinds[0], &out[0], &y0).unwrap(), task_loss(&kinds[1], &out[1], &y1).unwrap()]
    };
    // Two "epochs" first: GradNorm and DWA run plain EW until they have recorded epoch
    // losses, and the steady state is what a long run pays for.
    let first = loss_values(&losses()).unwrap();
    method.end_epoch(&first);
    method.end_epoch(&first);
    c.bench_function(&format!("{group_name}/{design}/{weighting}"), |b| {
        b.iter(|| {
            let grads = method.backward(&losses(), model.params()).unwrap();
            opt.step(&grads).unwrap();
            // As the trainer does for FAMO: the same batch's losses after the step.
            if method.wants_losses_after_step() {
                let _no_grad = medmtl::model::params::no_grad();
                method.after_step(&loss_values(&losses()).unwrap());
            }
        })
    });
}

fn designs(c: &mut Criterion) {
    for design in DESIGNS {
        step_bench(c, "train_step/design", design, WeightingKind::Ew);
    }
}

fn weightings(c: &mut Criterion) {
    for method in WeightingKind::ALL {
        step_bench(c, "train_step/weighting", Design::Hps, method);
    }
}

criterion_group! {
    name = steps;
    config = Criterion::default().sample_size(10);
    targets = designs, weightings
}
criterion_main!(steps);
