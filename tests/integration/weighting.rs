//! Weighting methods: properties only a right implementation has, and every method with
//! HPS, MTAN and the encoder-decoder design on synthetic data.

use crate::common;

use candle_core::{Device, Tensor, Var};
use medmtl::model::arch::build;
use medmtl::model::backbone::BackboneKind;
use medmtl::model::params::{ParamBuilder, ParamStore};
use medmtl::task::{Task, TaskKindName};
use medmtl::train::optim::{Adam, AdamConfig};
use medmtl::train::{train, OptimizerKind, Schedule, TaskGroup, TrainConfig};
use medmtl::weighting::aligned_mtl::AlignedMtl;
use medmtl::weighting::cagrad::CaGrad;
use medmtl::weighting::gradients::TaskGradients;
use medmtl::weighting::gradnorm::GradNorm;
use medmtl::weighting::imtl_g::ImtlG;
use medmtl::weighting::pcgrad::PcGrad;
use medmtl::weighting::uw::Uncertainty;
use medmtl::weighting::{solvers, Weighting, WeightingKind};

/// The training settings of the phantom runs below.
fn phantom_config(epochs: usize, rep_grad: bool) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 16,
        optimizer: OptimizerKind::Adam,
        lr: 3e-3,
        weight_decay: 0.0,
        schedule: Schedule::Constant,
        eval_batch_size: 64,
        affinity: false,
        rep_grad,
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Per-task gradients of linear losses `L_t = c_t . theta`, whose gradients are exactly `c_t`.
fn linear_task_grads(rows: &[Vec<f32>]) -> (TaskGradients, ParamStore) {
    let pb = ParamBuilder::new(0, &Device::Cpu);
    let theta = pb.constant("theta", &[rows[0].len()], 0.0).unwrap();
    let store = pb.finish();
    let losses: Vec<Tensor> =
        rows.iter().map(|c| (&theta * Tensor::new(c.as_slice(), &Device::Cpu).unwrap()).unwrap().sum_all().unwrap()).collect();
    (TaskGradients::compute(&losses, &store).unwrap(), store)
}

#[test]
fn pcgrad_removes_exactly_the_conflicting_component() {
    let g1 = vec![1.0f32, 0.0];
    let g2 = vec![-1.0f32, 1.0];
    let projected = PcGrad::new(0).project(&[g1.clone(), g2.clone()]);
    let g2f: Vec<f64> = g2.iter().map(|&v| v as f64).collect();
    let g1f: Vec<f64> = g1.iter().map(|&v| v as f64).collect();
    // g1' is orthogonal to g2 and differs from g1 only along g2.
    assert!(dot(&projected[0], &g2f).abs() < 1e-12);
    assert_eq!(projected[0], vec![0.5, 0.5]);
    assert!(dot(&projected[1], &g1f).abs() < 1e-12);
    assert_eq!(projected[1], vec![0.0, 1.0]);
    // Non-conflicting gradients pass unchanged.
    let same = PcGrad::new(0).project(&[vec![1.0, 0.0], vec![1.0, 1.0]]);
    assert_eq!(same, vec![vec![1.0, 0.0], vec![1.0, 1.0]]);
}

#[test]
fn cagrad_with_c_zero_is_the_mean_gradient() {
    let (grads, _) = linear_task_grads(&[vec![1.0, -2.0, 0.5], vec![-3.0, 1.0, 2.0], vec![0.2, 0.2, -1.0]]);
    let d = CaGrad::new(3, 0.0).direction(&grads);
    let mean = [(1.0 - 3.0 + 0.2) / 3.0, (-2.0 + 1.0 + 0.2) / 3.0, (0.5 + 2.0 - 1.0) / 3.0];
    for (a, b) in d.iter().zip(mean) {
        assert!((*a as f64 - b).abs() < 1e-6, "{d:?}");
    }
    // With c > 0 the direction conflicts less with the worst task than the mean does.
    let d = CaGrad::new(3, 0.5).direction(&grads);
    let worst =
        |v: &[f64]| grads.rows.iter().map(|r| r.iter().zip(v).map(|(&a, b)| a as f64 * b).sum::<f64>()).fold(f64::INFINITY, f64::min);
    let d64: Vec<f64> = d.iter().map(|&v| v as f64).collect();
    assert!(worst(&d64) / (dot(&d64, &d64).sqrt()) > worst(&mean) / dot(&mean, &mean).sqrt());
}

#[test]
fn imtl_g_projects_equally_onto_every_unit_gradient() {
    let rows = vec![vec![1.0f32, 0.2, 0.0], vec![-0.5, 2.0, 0.3], vec![0.1, -0.4, 1.5]];
    let (grads, _) = linear_task_grads(&rows);
    let w = ImtlG::weights_from_gram(&grads.gram());
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    let d: Vec<f64> = grads.combine(&w).iter().map(|&v| v as f64).collect();
    let proj: Vec<f64> = rows
        .iter()
        .map(|r| {
            let r: Vec<f64> = r.iter().map(|&v| v as f64).collect();
            dot(&d, &r) / dot(&r, &r).sqrt()
        })
        .collect();
    for p in &proj {
        assert!((p - proj[0]).abs() < 1e-5, "{proj:?}");
    }
}

#[test]
fn aligned_mtl_makes_the_gradient_system_orthogonal_with_equal_norms() {
    let rows = vec![vec![2.0f32, 0.5, 0.0], vec![1.5, 1.0, 0.2], vec![0.0, 0.3, 0.8]];
    let (grads, _) = linear_task_grads(&rows);
    let gram = grads.gram();
    let b = AlignedMtl::alignment(&gram);
    // (B G)(B G)^T = B M B^T must be l_min * I.
    let (values, _) = solvers::symmetric_eigen(&gram);
    let l_min = values.iter().copied().fold(f64::INFINITY, f64::min);
    for i in 0..3 {
        for j in 0..3 {
            let v: f64 = (0..3).flat_map(|k| (0..3).map(move |l| (k, l))).map(|(k, l)| b[i][k] * gram[k][l] * b[j][l]).sum();
            let want = if i == j { l_min } else { 0.0 };
            assert!((v - want).abs() < 1e-8 * l_min.max(1.0), "({i},{j}): {v} vs {want}");
        }
    }
}

/// Two regression tasks share one parameter; task 1's targets carry heavy noise, so its
/// loss cannot fall below the noise variance. UW must learn to give it less weight.
#[test]
fn uncertainty_weighting_gives_the_noisier_task_less_weight() {
    use rand::{Rng, SeedableRng};
    let d = Device::Cpu;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let n = 256;
    let x: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let clean: Vec<f32> = x.iter().map(|v| 2.0 * v).collect();
    let noisy: Vec<f32> = x.iter().map(|v| 2.0 * v + rng.random_range(-3.0..3.0)).collect();
    let (xt, y0, y1) =
        (Tensor::new(x.as_slice(), &d).unwrap(), Tensor::new(clean.as_slice(), &d).unwrap(), Tensor::new(noisy.as_slice(), &d).unwrap());
    let pb = ParamBuilder::new(0, &d);
    let w = pb.constant("w", &[1], 0.0).unwrap();
    let params = pb.finish();
    let mut uw = Uncertainty::new(2, &d).unwrap();
    let mut vars = params.trainable_vars();
    vars.extend(uw.extra_vars());
    let mut opt = Adam::new(vars, AdamConfig::adam(0.05));
    for _ in 0..400 {
        let pred = xt.broadcast_mul(&w).unwrap();
        let losses = [(&pred - &y0).unwrap().sqr().unwrap().mean_all().unwrap(), (&pred - &y1).unwrap().sqr().unwrap().mean_all().unwrap()];
        let grads = uw.backward(&losses, &params).unwrap().grads;
        opt.step(&grads).unwrap();
    }
    let weights = uw.weights().unwrap();
    assert!(weights[1] < weights[0] / 2.0, "{weights:?}");
}

/// One shared parameter vector, two quadratic tasks whose gradients differ by a factor of
/// ten. GradNorm must pull the weighted gradient norms together.
#[test]
fn gradnorm_equalises_gradient_norms_on_a_toy_problem() {
    let d = Device::Cpu;
    let pb = ParamBuilder::new(0, &d);
    let theta = pb.uniform("theta", &[8], 1.0).unwrap();
    let params = pb.finish();
    let a = Tensor::new(&[1f32; 8], &d).unwrap();
    let b = Tensor::new(&[-1f32; 8], &d).unwrap();
    let losses = |theta: &Tensor| -> Vec<Tensor> {
        vec![
            (theta - &a).unwrap().sqr().unwrap().sum_all().unwrap(),
            ((theta - &b).unwrap().sqr().unwrap().sum_all().unwrap() * 10.0).unwrap(),
        ]
    };
    let mut gn = GradNorm::new(2, 1.5, &d).unwrap();
    let initial: Vec<f64> = losses(&theta).iter().map(|l| l.to_scalar::<f32>().unwrap() as f64).collect();
    gn.end_epoch(&initial);
    let ratio = |gn: &GradNorm| {
        let l = losses(&theta);
        let g = TaskGradients::compute(&l, &params).unwrap();
        let w = gn.weights().unwrap();
        let n: Vec<f64> = g.rows.iter().map(|r| r.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt()).collect();
        (w[1] * n[1]) / (w[0] * n[0])
    };
    let start = ratio(&gn);
    let mut vars = params.trainable_vars();
    vars.extend(gn.extra_vars());
    let mut opt = Adam::new(vars, AdamConfig::adam(0.01));
    for _ in 0..300 {
        let grads = gn.backward(&losses(&theta), &params).unwrap().grads;
        opt.step(&grads).unwrap();
    }
    let end = ratio(&gn);
    assert!(start > 5.0, "toy problem: start ratio {start}");
    assert!((end.ln()).abs() < (start.ln()).abs() / 3.0, "weighted gradient norm ratio {start} -> {end}");
}

/// Every method trains HPS, MTAN and the U-Net encoder-decoder (segmentation +
/// classification + reconstruction) on phantoms: losses stay finite, weights change.
#[test]
fn every_method_runs_with_hps_mtan_and_encoder_decoder() {
    let d = common::phantoms(16, 48, 11);
    let specs = [
        common::spec("lesion", TaskKindName::Segmentation, "mask", None),
        common::spec("shape", TaskKindName::Multiclass, "shape", None),
        common::spec("recon", TaskKindName::Reconstruction, "", None),
    ];
    let tasks: Vec<Task> = specs.iter().map(|s| Task::resolve(s, &d).unwrap()).collect();
    let config = phantom_config(3, false);
    for method in WeightingKind::all() {
        for (design, backbone) in [
            (common::design("hps"), BackboneKind::SmallCnn),
            (common::design("mtan"), BackboneKind::SmallCnn),
            (common::design("hps"), BackboneKind::Unet),
        ] {
            let spec = common::model_spec(backbone, 2, &d, &tasks);
            let model = build(design, &spec, 0, &Device::Cpu).unwrap();
            let before: Vec<f32> = model.params().iter().next().unwrap().var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            let mut w = method.build(tasks.len(), 0, &Device::Cpu).unwrap();
            let groups = [TaskGroup { dataset: &d, tasks: vec![0, 1, 2], corruption: None }];
            let result = train(model.as_ref(), &tasks, &groups, w.as_mut(), &config, 0, &Device::Cpu, None);
            if w.needs_representation() && design.as_str() == "mtan" {
                // GradDrop acts on one shared representation, which MTAN's attention lacks.
                let message = result.err().map(|e| e.to_string()).unwrap_or_default();
                assert!(message.contains("no shared representation"), "{method} with mtan: {message}");
                continue;
            }
            let outcome = result.unwrap_or_else(|e| panic!("{method} with {design} on {}: {e}", backbone.as_str()));
            assert!(outcome.history.iter().all(|h| h.train_loss.iter().all(|l| l.is_finite())), "{method}");
            let after: Vec<f32> = model.params().iter().next().unwrap().var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            assert_ne!(before, after, "{method} with {design}: the first parameter never moved");
        }
    }
}

#[test]
fn weighting_names_round_trip() {
    for m in WeightingKind::all() {
        let parsed: WeightingKind = serde_json::from_str(&format!("\"{}\"", m.as_str())).unwrap();
        assert_eq!(parsed, m);
    }
    let _ = Var::new(&[0f32], &Device::Cpu).unwrap();
}

/// Representation gradients (`rep_grad`): with equal weights they give the update of
/// parameter gradients (the chain rule through the encoder); every method that supports
/// them trains HPS with them; the others, and designs without one shared representation,
/// are refused naming the option.
#[test]
fn representation_gradients_train_hps_and_agree_with_parameter_gradients_under_ew() {
    let d = common::phantoms(16, 48, 12);
    let specs =
        [common::spec("lesion", TaskKindName::Segmentation, "mask", None), common::spec("shape", TaskKindName::Multiclass, "shape", None)];
    let tasks: Vec<Task> = specs.iter().map(|s| Task::resolve(s, &d).unwrap()).collect();
    let config = |rep_grad: bool| phantom_config(2, rep_grad);
    let groups = [TaskGroup { dataset: &d, tasks: vec![0, 1], corruption: None }];
    let spec = common::model_spec(BackboneKind::Unet, 2, &d, &tasks);
    let run = |method: WeightingKind, design: &str, rep_grad: bool| {
        let model = build(common::design(design), &spec, 0, &Device::Cpu).unwrap();
        let mut w = method.build(tasks.len(), 0, &Device::Cpu).unwrap();
        let outcome = train(model.as_ref(), &tasks, &groups, w.as_mut(), &config(rep_grad), 0, &Device::Cpu, None);
        let values: Vec<f32> =
            model.params().iter().flat_map(|p| p.var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()).collect();
        (outcome, values)
    };
    let ew = WeightingKind::from_name("ew").unwrap();
    let (_, by_params) = run(ew, "hps", false);
    let (outcome, by_representation) = run(ew, "hps", true);
    outcome.unwrap();
    let worst = by_params.iter().zip(&by_representation).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-3, "EW through the representation moved a parameter {worst} away from EW on the parameters");
    let untrained = build(common::design("hps"), &spec, 0, &Device::Cpu).unwrap();
    let initial: Vec<f32> =
        untrained.params().iter().flat_map(|p| p.var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()).collect();
    for method in WeightingKind::all() {
        let supports = method.build(tasks.len(), 0, &Device::Cpu).unwrap().supports_representation();
        let (outcome, values) = run(method, "hps", true);
        match outcome {
            Ok(o) if supports => {
                assert!(o.history.iter().all(|h| h.train_loss.iter().all(|l| l.is_finite())), "{method}");
                assert_ne!(values, initial, "{method} with rep_grad never moved a parameter");
            }
            Err(e) if !supports => assert!(e.to_string().contains("rep_grad"), "{method}: {e}"),
            Ok(_) => panic!("{method} does not support representation gradients but trained with them"),
            Err(e) => panic!("{method} with rep_grad: {e}"),
        }
    }
    let refused = run(ew, "mtan", true).0.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("rep_grad"), "{refused}");
}

/// Every method's state survives a checkpoint: training two epochs in one go and training
/// one, stopping, and resuming from the checkpoint for the second give the same second
/// epoch to the last bit (losses and validation scores).
#[test]
fn every_method_resumes_from_a_checkpoint_to_the_same_epoch() {
    use medmtl::train::checkpoint::CheckpointSpec;
    use medmtl::train::{train_with, TrainHooks};
    let d = common::phantoms(16, 48, 13);
    let specs =
        [common::spec("lesion", TaskKindName::Segmentation, "mask", None), common::spec("shape", TaskKindName::Multiclass, "shape", None)];
    let tasks: Vec<Task> = specs.iter().map(|s| Task::resolve(s, &d).unwrap()).collect();
    let config = |epochs: usize| phantom_config(epochs, false);
    let groups = [TaskGroup { dataset: &d, tasks: vec![0, 1], corruption: None }];
    let spec = common::model_spec(BackboneKind::SmallCnn, 2, &d, &tasks);
    let dir = std::env::temp_dir().join(format!("medmtl-resume-methods-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for method in WeightingKind::all() {
        let path = dir.join(format!("{method}.safetensors"));
        let _ = std::fs::remove_file(&path);
        let run = |epochs: usize, checkpoint: Option<CheckpointSpec>| {
            let model = build(common::design("hps"), &spec, 0, &Device::Cpu).unwrap();
            let mut w = method.build(tasks.len(), 0, &Device::Cpu).unwrap();
            let hooks = TrainHooks { progress: None, checkpoint };
            train_with(model.as_ref(), &tasks, &groups, w.as_mut(), &config(epochs), 0, &Device::Cpu, &hooks)
                .unwrap_or_else(|e| panic!("{method}: {e}"))
        };
        let spec_at = || Some(CheckpointSpec { path: path.clone(), key: format!("{method}") });
        let straight = run(2, None);
        run(1, spec_at());
        let resumed = run(2, spec_at());
        assert_eq!(resumed.resumed_epochs, 1, "{method}");
        let (a, b) = (&straight.history[1], &resumed.history[1]);
        assert_eq!(a.train_loss, b.train_loss, "{method}: second epoch's losses differ after resuming");
        assert_eq!(
            a.val_primary.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.val_primary.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "{method}: validation differs after resuming"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
