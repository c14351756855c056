//! Generative tasks (reconstruction, denoising, VAE) and auxiliary tasks in training.

use crate::common;

use candle_core::Device;
use medmtl::data::SplitName;
use medmtl::metrics;
use medmtl::model::arch::build;
use medmtl::model::backbone::BackboneKind;
use medmtl::task::{NoiseDraw, NoiseKind, Task, TaskKindName, TaskSpec};
use medmtl::train::{batch, train, OptimizerKind, Schedule, TaskGroup, TrainConfig, TrainOutcome};

fn tasks(d: &medmtl::data::Dataset) -> Vec<Task> {
    [
        common::spec("shape", TaskKindName::Multiclass, "shape", None),
        TaskSpec { noise_level: Some(0.3), auxiliary: true, ..common::spec("denoise", TaskKindName::Denoising, "", None) },
        TaskSpec { latent: Some(8), auxiliary: true, ..common::spec("vae", TaskKindName::Vae, "", None) },
        common::spec("recon", TaskKindName::Reconstruction, "", None),
    ]
    .iter()
    .map(|s| Task::resolve(s, d).unwrap())
    .collect()
}

fn run(d: &medmtl::data::Dataset, design: &str, seed: u64, epochs: usize) -> TrainOutcome {
    let tasks = tasks(d);
    let spec = common::model_spec(BackboneKind::Unet, 4, d, &tasks);
    let model = build(common::design(design), &spec, seed, &Device::Cpu).unwrap();
    let config = TrainConfig {
        epochs,
        batch_size: 16,
        optimizer: OptimizerKind::Adam,
        lr: 1e-2,
        weight_decay: 0.0,
        schedule: Schedule::Constant,
        eval_batch_size: 32,
        affinity: false,
        rep_grad: false,
    };
    let groups = TaskGroup::on(d, &[0, 1, 2, 3], &tasks);
    let mut weighting = common::method("ew").build(tasks.len(), seed, &Device::Cpu).unwrap();
    train(model.as_ref(), &tasks, &groups, weighting.as_mut(), &config, seed, &Device::Cpu, None).unwrap()
}

/// Denoising tasks get a forward pass of their own on corrupted copies; every other task
/// reads the clean images. A sample's corruption depends on the seed, the epoch and the
/// sample, not on the batch it lands in.
#[test]
fn denoising_tasks_read_a_corrupted_copy_in_their_own_group() {
    let d = common::phantoms(16, 32, 2);
    let tasks = tasks(&d);
    let groups = TaskGroup::on(&d, &[0, 1, 2, 3], &tasks);
    assert_eq!(groups.len(), 2);
    assert_eq!((groups[0].tasks.clone(), groups[0].corruption), (vec![0, 2, 3], None));
    let c = groups[1].corruption.expect("the denoising group is corrupted");
    assert_eq!((groups[1].tasks.clone(), c.noise, c.level), (vec![1], NoiseKind::Gaussian, 0.3));

    let images = |idx: &[usize], draw: NoiseDraw| {
        batch::images_with(&d.train, d.shape, idx, Some((c, draw)), &Device::Cpu).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()
    };
    let clean = batch::images(&d.train, d.shape, &[3, 5], &Device::Cpu).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let draw = NoiseDraw::Train { seed: 4, epoch: 1 };
    let noisy = images(&[3, 5], draw);
    let per = d.shape.pixels_per_image();
    let rms = (clean.iter().zip(&noisy).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>() / clean.len() as f64).sqrt();
    assert!(rms > 0.15 && rms < 0.3, "rms change {rms} for noise SD 0.3 (clipped at the range)");
    assert_eq!(noisy, images(&[3, 5], draw), "reproducible from the seed");
    assert_eq!(&noisy[per..], &images(&[5, 3], draw)[..per], "sample 5's noise is its own, wherever it is in the batch");
    assert_ne!(noisy, images(&[3, 5], NoiseDraw::Train { seed: 4, epoch: 2 }), "fresh noise every epoch");
}

/// HPS with a denoising and a VAE auxiliary trains end to end, deterministically; the
/// generative tasks get PSNR and SSIM; and the epoch kept is the one best for the main
/// tasks (shape and plain reconstruction), whatever the auxiliary tasks scored.
#[test]
fn auxiliary_generative_tasks_train_and_do_not_pick_the_epoch() {
    let d = common::phantoms(16, 64, 3);
    let tasks = tasks(&d);
    let a = run(&d, "hps", 7, 4);
    let b = run(&d, "hps", 7, 4);
    for key in a.predictions.keys() {
        assert_eq!(a.predictions[key].scores, b.predictions[key].scores, "{key:?} differs between identical runs");
    }
    for (t, task) in tasks.iter().enumerate().skip(1) {
        let values = metrics::evaluate(&task.kind, &a.predictions[&(t, SplitName::Test)]);
        for name in ["psnr", "ssim"] {
            let v = values.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("{} has no {name}", task.name)).value;
            assert!(v.is_finite(), "{} {name} = {v}", task.name);
        }
        assert_eq!(a.predictions[&(t, SplitName::Test)].width, d.shape.pixels_per_image(), "{}: one value per pixel", task.name);
    }
    let main = |e: &medmtl::train::EpochRecord| (e.val_primary[0] + e.val_primary[3]) / 2.0;
    let best = a.history.iter().map(main).fold(f64::NEG_INFINITY, f64::max);
    let first_best = a.history.iter().find(|e| main(e) == best).unwrap().epoch;
    assert_eq!(
        a.selected_epoch,
        vec![first_best; tasks.len()],
        "history {:?}",
        a.history.iter().map(|e| e.val_primary.clone()).collect::<Vec<_>>()
    );
}

/// Generative options on the wrong kind are refused, naming the option.
#[test]
fn generative_options_belong_to_their_kinds() {
    let d = common::phantoms(16, 8, 1);
    for (spec, option) in [
        (TaskSpec { noise_level: Some(0.1), ..common::spec("r", TaskKindName::Reconstruction, "", None) }, "noise_level"),
        (TaskSpec { latent: Some(4), ..common::spec("r", TaskKindName::Denoising, "", None) }, "latent"),
        (TaskSpec { beta: Some(1.0), ..common::spec("s", TaskKindName::Binary, "area", Some(0.1)) }, "beta"),
        (
            TaskSpec { noise: Some(NoiseKind::SaltPepper), noise_level: Some(2.0), ..common::spec("r", TaskKindName::Denoising, "", None) },
            "noise_level 2",
        ),
    ] {
        let msg = Task::resolve(&spec, &d).unwrap_err().to_string();
        assert!(msg.contains(option) && msg.contains(&format!("'{}'", spec.name)), "{msg}");
    }
}

/// A suite with a baseline, an auxiliary experiment of two main tasks, an "STL with
/// auxiliary" experiment and a partly labelled one, end to end through `bench-all`: the
/// report pairs each auxiliary experiment with its baseline, draws the labelled-fraction
/// curve, records the labelled counts, leaves the auxiliary task out of Δm, and its LaTeX
/// compiles where pdflatex is installed.
#[test]
fn auxiliary_and_partial_suites_run_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("gen.toml");
    let shape = r#"{ name = "shape", kind = "multiclass", source = "shape" }"#;
    let area = r#"{ name = "area", kind = "regression", source = "area" }"#;
    let denoise = r#"{ name = "image", kind = "denoising", noise = "salt-pepper", noise_level = 0.1, auxiliary = true }"#;
    let half = r#"{ name = "shape", kind = "multiclass", source = "shape", labelled_fraction = 0.5 }"#;
    let experiment = |name: &str, designs: &str, tasks: &[&str]| {
        format!(
            "[[experiment]]\nname = \"{name}\"\ndataset = \"phantoms\"\ndesigns = [{designs}]\ntasks = [{}]\n\
             [experiment.phantoms]\nsize = 16\ntrain = 96\nval = 48\ntest = 48\nseed = 3\n",
            tasks.join(", ")
        )
    };
    let text = [
        "name = \"gen\"\nseeds = [0, 1]\ndesigns = [\"hps\"]\nweightings = [\"ew\"]\n[train]\nepochs = 2\nbatch_size = 32\nlr = 0.005\n\
         [model]\nbackbone = \"small-cnn\"\nwidth = 4\n"
            .to_string(),
        experiment("base", "\"stl\", \"hps\"", &[shape, area]),
        experiment("aux", "\"stl\", \"hps\"", &[shape, area, denoise]),
        experiment("shape-aux", "\"hps\"", &[shape, denoise]),
        experiment("half", "\"stl\", \"hps\"", &[half, area]),
    ]
    .join("\n");
    std::fs::write(&suite, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bench-all"))
        .arg("--suite")
        .arg(&suite)
        .arg("--out")
        .arg(dir.path().join("results"))
        .arg("--reports")
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    assert!(out.status.success(), "bench-all failed: {}", String::from_utf8_lossy(&out.stderr));
    let md = std::fs::read_to_string(dir.path().join("reports/gen/report.md")).unwrap();
    let section = |title: &str| {
        md.split(&format!("## {title}")).nth(1).unwrap_or_else(|| panic!("no {title} section")).split("\n## ").next().unwrap().to_owned()
    };
    let aux = section("Auxiliary tasks");
    assert!(
        aux.lines().any(|l| l.starts_with("| aux ") && l.contains("| hps ") && l.contains("base hps") && l.contains("| shape ")),
        "{aux}"
    );
    assert!(aux.lines().any(|l| l.starts_with("| shape-aux ") && l.contains("base stl")), "STL with auxiliary is compared with STL: {aux}");
    assert!(!aux.contains("| area ") || aux.lines().filter(|l| l.contains("| area ")).all(|l| !l.starts_with("| shape-aux ")), "{aux}");
    let curve = section("Labelled fraction");
    assert!(curve.contains("f = 1.00") && curve.contains("f = 0.50") && curve.contains("base, half"), "{curve}");
    assert!(curve.contains("figures/fraction_phantoms_shape.png"), "the section shows the learning-curve figure: {curve}");
    for ext in ["png", "svg"] {
        let figure = dir.path().join(format!("reports/gen/figures/fraction_phantoms_shape.{ext}"));
        assert!(std::fs::metadata(&figure).map(|m| m.len() > 1000).unwrap_or(false), "{} is drawn", figure.display());
    }
    assert!(md.contains("Auxiliary task image is trained and reported but left out of Δm"), "the Δm note names the auxiliary task");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results/gen/runs/half__hps-ew__seed0/run.json")).unwrap()).unwrap();
    assert_eq!(run["tasks"][0]["labelled"], serde_json::json!([48, 48, 48]), "{}", run["tasks"][0]);
    assert!(md.contains("Partly labelled: 48 training (50% of the training patients)"), "the report gives the labelled counts");
    let tables = dir.path().join("reports/gen/tables");
    assert!(tables.join("auxiliary.tex").is_file() && tables.join("fraction__phantoms__shape.tex").is_file());
    if let Ok(status) = std::process::Command::new("pdflatex")
        .args(["-interaction=nonstopmode", "-halt-on-error", "preview.tex"])
        .current_dir(&tables)
        .stdout(std::process::Stdio::null())
        .status()
    {
        assert!(status.success(), "pdflatex failed; see {}", tables.join("preview.log").display());
    }
}
