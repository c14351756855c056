//! Every design with every task kind, and the properties only a right implementation has.

use crate::common;

use candle_core::{Device, Tensor};
use medmtl::data::SplitName;
use medmtl::model::arch::cross_stitch::CrossStitch;
use medmtl::model::arch::mmoe::Mmoe;
use medmtl::model::arch::mtan::Mtan;
use medmtl::model::arch::{build, Architecture, Design};
use medmtl::model::backbone::BackboneKind;
use medmtl::model::params::{Owner, ParamBuilder};
use medmtl::task::{task_loss, Generative, Task, TaskKind};
use medmtl::train::batch;
use medmtl::train::optim::{Adam, AdamConfig};

fn losses(model: &dyn Architecture, tasks: &[Task], d: &medmtl::data::Dataset, idx: &[usize]) -> Vec<Tensor> {
    let x = batch::images(&d.train, d.shape, idx, &Device::Cpu).unwrap();
    let all: Vec<usize> = (0..tasks.len()).collect();
    let outputs = model.forward(&x, &all, true).unwrap();
    let mut losses: Vec<Tensor> = tasks
        .iter()
        .zip(outputs)
        .map(|(t, o)| {
            let y = batch::targets(t, &t.targets(&d.train).unwrap(), idx, &Device::Cpu).unwrap();
            task_loss(&t.kind, &o, &y).unwrap()
        })
        .collect();
    // A design's own loss term (a VAE branch) joins its task's loss, as the trainer adds it.
    if let Some((t, aux)) = model.take_auxiliary_loss() {
        losses[t] = (&losses[t] + aux).unwrap();
    }
    losses
}

fn total(losses: &[Tensor]) -> Tensor {
    losses.iter().skip(1).fold(losses[0].clone(), |acc, l| (acc + l).unwrap())
}

/// Odd image sizes (pooling floors 17 -> 8 and 13 -> 6 -> 3; decoders crop and pad back),
/// every task kind, every design, U-Net and small-CNN encoders: outputs have the right
/// shapes, every trainable parameter gets a gradient, and a few Adam steps on one batch
/// lower the loss.
#[test]
fn every_design_trains_every_task_kind_on_odd_sizes() {
    for (backbone, size) in [(BackboneKind::Unet, 17), (BackboneKind::SmallCnn, 13)] {
        let d = common::phantoms(size, 16, 5);
        let tasks = common::every_kind(&d);
        let idx: Vec<usize> = (0..8).collect();
        for design in Design::all() {
            let spec = common::model_spec(backbone, 2, &d, &tasks);
            let model = common::build(design, &spec, 1);
            let what = format!("{design} on {}", backbone.as_str());
            let x = batch::images(&d.train, d.shape, &idx, &Device::Cpu).unwrap();
            let outs = model.forward(&x, &(0..tasks.len()).collect::<Vec<_>>(), false).unwrap();
            for (t, o) in tasks.iter().zip(&outs) {
                let want: Vec<usize> = match &t.kind {
                    // A VAE head packs the image with the latent mean and log-variance.
                    TaskKind::Reconstruction { channels, generative: Generative::Vae(v) } => vec![8, v.packed_width(*channels)],
                    k if k.is_dense() => vec![8, k.outputs(), size, size],
                    k => vec![8, k.outputs()],
                };
                assert_eq!(o.dims(), want.as_slice(), "{what}: task {}", t.name);
            }
            let first = losses(model.as_ref(), &tasks, &d, &idx);
            let grads = total(&first).backward().unwrap();
            for p in model.params().iter().filter(|p| p.trainable) {
                let g = grads.get(p.var.as_tensor()).unwrap_or_else(|| panic!("{what}: no gradient for {}", p.name));
                let norm = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
                assert!(norm > 0.0 && norm.is_finite(), "{what}: gradient of {} is {norm}", p.name);
            }
            let mut opt = Adam::new(model.params().trainable_vars(), AdamConfig::adam(3e-3));
            let start = total(&first).to_scalar::<f32>().unwrap();
            for _ in 0..6 {
                let l = total(&losses(model.as_ref(), &tasks, &d, &idx));
                opt.step(&l.backward().unwrap()).unwrap();
            }
            let end = total(&losses(model.as_ref(), &tasks, &d, &idx)).to_scalar::<f32>().unwrap();
            assert!(end < start, "{what}: loss {start} -> {end}");
        }
    }
}

/// STL shares nothing: task A's loss gives no gradient to task B's parameters. HPS shares
/// its trunk: both tasks' losses reach every shared parameter.
#[test]
fn stl_shares_nothing_and_hps_shares_the_trunk() {
    let d = common::phantoms(12, 8, 6);
    let tasks = common::three_tasks(&d);
    let idx: Vec<usize> = (0..8).collect();
    let spec = common::model_spec(BackboneKind::SmallCnn, 2, &d, &tasks);
    let stl = build(common::design("stl"), &spec, 0, &Device::Cpu).unwrap();
    assert!(!stl.params().has_shared());
    let l = losses(stl.as_ref(), &tasks, &d, &idx);
    let g0 = l[0].backward().unwrap();
    for p in stl.params().iter().filter(|p| p.trainable) {
        let got = g0.get(p.var.as_tensor()).map(|g| g.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap()).unwrap_or(0.0);
        if p.owner == Owner::Task(0) {
            assert!(got > 0.0, "{} should learn from task 0", p.name);
        } else {
            assert_eq!(got, 0.0, "{} (owner {:?}) got task 0's gradient", p.name, p.owner);
        }
    }
    let hps = build(common::design("hps"), &spec, 0, &Device::Cpu).unwrap();
    let l = losses(hps.as_ref(), &tasks, &d, &idx);
    let shared: Vec<_> = hps.params().iter().filter(|p| p.trainable && p.owner == Owner::Shared).collect();
    assert!(!shared.is_empty());
    for t in 0..tasks.len() {
        let g = l[t].backward().unwrap();
        for p in &shared {
            let norm = g.get(p.var.as_tensor()).unwrap().abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(norm > 0.0, "task {t} does not reach shared {}", p.name);
        }
    }
}

/// With identity cross-stitch units the network is exactly independent columns: each
/// task's output equals that of an STL network built from the same column weights.
#[test]
fn cross_stitch_at_identity_is_independent_columns() {
    let d = common::phantoms(12, 8, 7);
    let tasks = common::three_tasks(&d);
    let spec = common::model_spec(BackboneKind::SmallCnn, 3, &d, &tasks);
    let x = batch::images(&d.train, d.shape, &(0..8).collect::<Vec<_>>(), &Device::Cpu).unwrap();
    let cs = CrossStitch::new(&ParamBuilder::new(4, &Device::Cpu), &spec, 1.0).unwrap();
    let joint = cs.forward(&x, &[0, 1, 2], false).unwrap();
    // Each task alone: outputs must not change when the other columns are perturbed.
    for p in cs.params().iter().filter(|p| p.name.starts_with("column1.")) {
        let noisy = (p.var.as_tensor() + 0.5).unwrap();
        p.var.set(&noisy).unwrap();
    }
    let perturbed = cs.forward(&x, &[0, 1, 2], false).unwrap();
    let diff = |a: &Tensor, b: &Tensor| (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    assert_eq!(diff(&joint[0], &perturbed[0]), 0.0, "task 0 saw column 1");
    assert_eq!(diff(&joint[2], &perturbed[2]), 0.0, "task 2 saw column 1");
    assert!(diff(&joint[1], &perturbed[1]) > 0.0, "task 1 must use its own column");
    // And near-identity init (0.9) does mix the columns.
    let mixed = CrossStitch::new(&ParamBuilder::new(4, &Device::Cpu), &spec, 0.9).unwrap();
    let before = mixed.forward(&x, &[0], false).unwrap();
    for p in mixed.params().iter().filter(|p| p.name.starts_with("column1.")) {
        p.var.set(&(p.var.as_tensor() + 0.5).unwrap()).unwrap();
    }
    assert!(diff(&before[0], &mixed.forward(&x, &[0], false).unwrap()[0]) > 0.0);
}

/// MTAN's attention masks lie strictly in (0, 1), have the shape of the features they
/// gate, and differ between tasks.
#[test]
fn mtan_masks_are_in_the_open_unit_interval_and_per_task() {
    let d = common::phantoms(16, 8, 8);
    let tasks = common::three_tasks(&d);
    let spec = common::model_spec(BackboneKind::Unet, 2, &d, &tasks);
    let mtan = Mtan::new(&ParamBuilder::new(2, &Device::Cpu), &spec).unwrap();
    let x = batch::images(&d.train, d.shape, &(0..8).collect::<Vec<_>>(), &Device::Cpu).unwrap();
    let masks = mtan.attention_masks(&x, false).unwrap();
    assert_eq!(masks.len(), 3);
    for task_masks in &masks {
        assert_eq!(task_masks.len(), 5, "one mask per U-Net stage");
        for (s, m) in task_masks.iter().enumerate() {
            let (lo, hi) = (m.min_all().unwrap().to_scalar::<f32>().unwrap(), m.max_all().unwrap().to_scalar::<f32>().unwrap());
            assert!(lo > 0.0 && hi < 1.0, "stage {s}: mask range [{lo}, {hi}]");
            assert_eq!(m.dim(1).unwrap(), 2 << s);
        }
    }
    let diff = (&masks[0][0] - &masks[1][0]).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    assert!(diff > 0.0, "tasks share one mask");
}

/// MMoE's gate weights form a distribution over experts for every sample and every task.
#[test]
fn mmoe_gates_sum_to_one_per_sample() {
    let d = common::phantoms(12, 8, 9);
    let tasks = common::three_tasks(&d);
    let spec = common::model_spec(BackboneKind::SmallCnn, 2, &d, &tasks);
    let mmoe = Mmoe::new(&ParamBuilder::new(3, &Device::Cpu), &spec, 2).unwrap();
    let x = batch::images(&d.train, d.shape, &(0..8).collect::<Vec<_>>(), &Device::Cpu).unwrap();
    for t in 0..3 {
        let g = mmoe.gate_weights(&x, t).unwrap();
        assert_eq!(g.dims(), &[8, 2]);
        for row in g.to_vec2::<f32>().unwrap() {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            assert!(row.iter().all(|&w| w > 0.0));
        }
    }
}

/// Multi-input data: each task group is a different batch; a design computes only the
/// requested tasks and returns them in the requested order.
#[test]
fn forward_returns_requested_tasks_in_order() {
    let d = common::phantoms(12, 8, 10);
    let tasks = common::three_tasks(&d);
    let spec = common::model_spec(BackboneKind::SmallCnn, 2, &d, &tasks);
    let x = batch::images(d.split(SplitName::Val), d.shape, &[0, 1, 2], &Device::Cpu).unwrap();
    for design in Design::all() {
        let model = common::build(design, &spec, 0);
        let all = model.forward(&x, &[0, 1, 2], false).unwrap();
        let some = model.forward(&x, &[2, 0], false).unwrap();
        assert_eq!(some.len(), 2);
        assert_eq!(some[0].to_vec2::<f32>().unwrap(), all[2].to_vec2::<f32>().unwrap(), "{design}");
        assert_eq!(some[1].to_vec2::<f32>().unwrap(), all[0].to_vec2::<f32>().unwrap(), "{design}");
    }
}
