//! The designs of the medical MTL papers: the property that defines each one.

use crate::common;

use candle_core::{Device, Tensor};
use medmtl::data::ellipse::{fit_mask_ellipse, Ellipse};
use medmtl::model::arch::{Architecture, Design};
use medmtl::model::backbone::BackboneKind;
use medmtl::model::params::{Owner, ParamStore};
use medmtl::task::{contours, decode_ellipse, encode_ellipse, task_loss, Derive, Task, TaskKindName, TaskSpec};
use medmtl::train::batch;

fn tasks(d: &medmtl::data::Dataset, specs: &[TaskSpec]) -> Vec<Task> {
    specs.iter().map(|s| Task::resolve(s, d).unwrap()).collect()
}

/// Each task's loss on one batch.
fn losses(model: &dyn Architecture, tasks: &[Task], d: &medmtl::data::Dataset) -> Vec<Tensor> {
    let idx: Vec<usize> = (0..8).collect();
    let x = batch::images(&d.train, d.shape, &idx, &Device::Cpu).unwrap();
    let outputs = model.forward(&x, &(0..tasks.len()).collect::<Vec<_>>(), true).unwrap();
    let mut l: Vec<Tensor> = tasks
        .iter()
        .zip(outputs)
        .map(|(t, o)| task_loss(&t.kind, &o, &batch::targets(t, &t.targets(&d.train).unwrap(), &idx, &Device::Cpu).unwrap()).unwrap())
        .collect();
    if let Some((t, aux)) = model.take_auxiliary_loss() {
        l[t] = (&l[t] + aux).unwrap();
    }
    l
}

/// The squared gradient norm a loss sends to the parameters `select` picks.
fn reach(loss: &Tensor, params: &ParamStore, select: impl Fn(&medmtl::model::params::Param) -> bool) -> f32 {
    let grads = loss.backward().unwrap();
    params
        .iter()
        .filter(|p| p.trainable && select(p))
        .filter_map(|p| grads.get(p.var.as_tensor()))
        .map(|g| g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap())
        .sum()
}

fn seg_and_class(d: &medmtl::data::Dataset) -> Vec<Task> {
    tasks(
        d,
        &[common::spec("lesion", TaskKindName::Segmentation, "mask", None), common::spec("large", TaskKindName::Binary, "area", Some(0.1))],
    )
}

/// Y-Net's classifier reads the bottleneck only: its loss reaches the encoder but never a
/// decoder weight; in the segmentation-only first stage it does not reach the encoder either.
#[test]
fn ynet_classifies_from_the_bottleneck_and_its_first_stage_is_segmentation_only() {
    let d = common::phantoms(32, 16, 3);
    let tasks = seg_and_class(&d);
    let spec = common::model_spec(BackboneKind::Unet, 2, &d, &tasks);
    let params: medmtl::hyper::ParamTable = "seg_only_epochs = 1".parse().unwrap();
    let model = medmtl::model::arch::build_with(common::design("ynet"), &spec, Some(&params), 0, &Device::Cpu).unwrap();
    let decoder = |p: &medmtl::model::params::Param| p.owner == Owner::Task(0);
    let encoder = |p: &medmtl::model::params::Param| p.owner == Owner::Shared;
    model.start_epoch(0);
    let first = losses(model.as_ref(), &tasks, &d);
    assert_eq!(reach(&first[1], model.params(), encoder), 0.0, "stage 1: the classification loss leaves the encoder alone");
    assert!(reach(&first[0], model.params(), encoder) > 0.0);
    model.start_epoch(1);
    let joint = losses(model.as_ref(), &tasks, &d);
    assert!(reach(&joint[1], model.params(), encoder) > 0.0, "stage 2: joint training");
    assert_eq!(reach(&joint[1], model.params(), decoder), 0.0, "the classifier never reaches the decoder");
    let branch = model.params().iter().filter(|p| p.owner == Owner::Task(1) && p.name.contains("stage")).count();
    assert!(branch > 0, "the diagnostic branch has its own encoding stages");
}

/// Amyar et al.'s three outputs share one encoder: every task's loss reaches its first
/// convolution, and each head is its task's alone.
#[test]
fn amyar_three_tasks_share_one_encoder() {
    let d = common::phantoms(32, 16, 4);
    let tasks = tasks(
        &d,
        &[
            common::spec("lesion", TaskKindName::Segmentation, "mask", None),
            common::spec("large", TaskKindName::Binary, "area", Some(0.1)),
            common::spec("image", TaskKindName::Reconstruction, "", None),
        ],
    );
    let spec = common::model_spec(BackboneKind::Unet, 2, &d, &tasks);
    let model = common::build(common::design("amyar"), &spec, 0);
    let first_conv = |p: &medmtl::model::params::Param| p.owner == Owner::Shared && p.name.starts_with("shared.down0.a");
    let l = losses(model.as_ref(), &tasks, &d);
    for (t, loss) in l.iter().enumerate() {
        assert!(reach(loss, model.params(), first_conv) > 0.0, "task {t} does not reach the shared encoder");
        for other in (0..3).filter(|&o| o != t) {
            assert_eq!(reach(loss, model.params(), |p| p.owner == Owner::Task(other)), 0.0, "task {t} reaches head {other}");
        }
    }
    assert!(model.params().iter().any(|p| p.owner == Owner::Task(1) && p.name.contains("mlp.fc1")), "an MLP classifier");
}

/// SegResNet-VAE's branch adds a loss in training only and is absent from what inference
/// computes: evaluation outputs are the tasks' alone and leave no branch loss behind.
#[test]
fn segresnet_vae_regularises_training_and_vanishes_at_inference() {
    let d = common::phantoms(32, 16, 5);
    let tasks = tasks(&d, &[common::spec("lesion", TaskKindName::Segmentation, "mask", None)]);
    let spec = common::model_spec(BackboneKind::Unet, 2, &d, &tasks);
    let model = common::build(common::design("segresnet-vae"), &spec, 0);
    let x = batch::images(&d.train, d.shape, &[0, 1, 2], &Device::Cpu).unwrap();
    let eval = model.forward(&x, &[0], false).unwrap();
    assert_eq!(eval.len(), 1);
    assert_eq!(eval[0].dims(), &[3, 1, 32, 32]);
    assert!(model.take_auxiliary_loss().is_none(), "no branch at inference");
    model.forward(&x, &[0], true).unwrap();
    let (task, aux) = model.take_auxiliary_loss().expect("a branch loss in training");
    assert_eq!(task, 0);
    let value = aux.to_scalar::<f32>().unwrap();
    assert!(value > 0.0 && value.is_finite());
    let vae = |p: &medmtl::model::params::Param| p.name.contains("vae");
    assert!(reach(&aux, model.params(), vae) > 0.0 && reach(&aux, model.params(), |p| p.owner == Owner::Shared) > 0.0);
}

/// DCAN's contour targets are the masks' boundaries, and each dense task has its own
/// fusing branch over the shared encoder.
#[test]
fn dcan_contours_are_mask_boundaries() {
    // A 6x6 square in a 10x10 mask: its boundary is the 20-pixel ring.
    let (h, w) = (10, 10);
    let mask: Vec<u8> = (0..h * w).map(|i| ((2..8).contains(&(i % w)) && (2..8).contains(&(i / w))) as u8).collect();
    let c = contours(&mask, h, w);
    for y in 0..h {
        for x in 0..w {
            let ring = (2..8).contains(&x) && (2..8).contains(&y) && (x == 2 || x == 7 || y == 2 || y == 7);
            assert_eq!(c[y * w + x] == 1, ring, "({x}, {y})");
        }
    }
    let d = common::phantoms(32, 16, 6);
    let mut contour = common::spec("contour", TaskKindName::Segmentation, "mask", None);
    contour.derive = Some(Derive::Contour);
    let tasks = tasks(&d, &[common::spec("lesion", TaskKindName::Segmentation, "mask", None), contour]);
    let (medmtl::task::Targets::Masks { values: objects, .. }, medmtl::task::Targets::Masks { values: outlines, .. }) =
        (tasks[0].targets(&d.train).unwrap(), tasks[1].targets(&d.train).unwrap())
    else {
        panic!("mask targets")
    };
    assert_eq!(outlines, contours(&objects, 32, 32));
    assert!(outlines.iter().zip(&objects).all(|(&c, &o)| c <= o), "the contour lies on the object");
    let spec = common::model_spec(BackboneKind::Unet, 2, &d, &tasks);
    let model = common::build(common::design("dcan"), &spec, 0);
    let l = losses(model.as_ref(), &tasks, &d);
    assert_eq!(reach(&l[0], model.params(), |p| p.owner == Owner::Task(1)), 0.0, "one branch per map");
    assert!(reach(&l[1], model.params(), |p| p.owner == Owner::Shared) > 0.0);
}

/// The ellipse task's targets are the ellipse fitted to each mask: a rasterised ellipse is
/// recovered, and the encoding round-trips.
#[test]
fn ellipse_targets_recover_a_rasterised_ellipse() {
    let (h, w) = (64, 80);
    let truth = Ellipse { cx: 41.3, cy: 30.8, a: 22.0, b: 13.0, angle: 0.35 };
    let mask: Vec<u8> = (0..h * w).map(|i| truth.contains((i % w) as f64, (i / w) as f64) as u8).collect();
    let fit = fit_mask_ellipse(&mask, w, h, 1.0, 1.0).unwrap();
    assert!((fit.cx - truth.cx).abs() < 0.5 && (fit.cy - truth.cy).abs() < 0.5, "{fit:?}");
    assert!((fit.a - truth.a).abs() < 1.0 && (fit.b - truth.b).abs() < 1.0, "{fit:?}");
    let back = decode_ellipse(&encode_ellipse(&fit, h, w), h, w);
    assert!((back.cx - fit.cx).abs() < 1e-4 && (back.a - fit.a).abs() < 1e-4 && (back.b - fit.b).abs() < 1e-4);
    assert!((back.circumference() - fit.circumference()).abs() < 1e-3);
    let d = common::phantoms(32, 16, 7);
    let tasks = tasks(
        &d,
        &[common::spec("lesion", TaskKindName::Segmentation, "mask", None), common::spec("ellipse", TaskKindName::Ellipse, "mask", None)],
    );
    let spec = common::model_spec(BackboneKind::Unet, 2, &d, &tasks);
    let model = common::build(common::design("seg-measure"), &spec, 0);
    let l = losses(model.as_ref(), &tasks, &d);
    assert!(l.iter().all(|l| l.to_scalar::<f32>().unwrap().is_finite()));
    assert!(reach(&l[1], model.params(), |p| p.owner == Owner::Shared) > 0.0, "the measurement trains the shared encoder");
}

/// ChestX-ray8 label heads: every label is its own task with its own prediction layer.
#[test]
fn label_heads_give_each_label_its_own_layer() {
    let d = common::phantoms(16, 32, 8);
    let specs: Vec<TaskSpec> = (0..3)
        .map(|k| {
            let mut s = common::spec(&format!("finding{k}"), TaskKindName::Binary, "attributes", None);
            s.label = Some(k);
            s
        })
        .collect();
    let tasks = tasks(&d, &specs);
    let spec = common::model_spec(BackboneKind::SmallCnn, 2, &d, &tasks);
    let model = common::build(common::design("label-heads"), &spec, 0);
    let l = losses(model.as_ref(), &tasks, &d);
    for t in 0..3 {
        assert!(reach(&l[t], model.params(), |p| p.owner == Owner::Task(t)) > 0.0);
        assert!(reach(&l[t], model.params(), |p| p.name.contains("transition")) > 0.0, "the shared transition layer");
        for o in (0..3).filter(|&o| o != t) {
            assert_eq!(reach(&l[t], model.params(), |p| p.owner == Owner::Task(o)), 0.0);
        }
    }
    let Some(medmtl::data::SourceValues::MultiLabels { values, .. }) = d.train.source("attributes") else { panic!() };
    let medmtl::task::Targets::Classes(second) = tasks[1].targets(&d.train).unwrap() else { panic!() };
    assert_eq!(second, values.chunks(3).map(|r| r[1] as u32).collect::<Vec<_>>(), "`label` picks the label");
    assert!(Design::all().count() >= 13);
}
