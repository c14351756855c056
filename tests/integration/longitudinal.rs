//! Longitudinal pairs: Siamese and single-time-point designs on phantoms, and the real
//! Brain-Tumor-Progression volumes (found through `MEDMTL_DATA_DIR`; skipped without it).

use std::collections::BTreeSet;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor, Var};
use medmtl::data::fetch::{DataSources, DATA_DIR_ENV};
use medmtl::data::longitudinal::phantoms::{generate, LongitudinalPhantomConfig};
use medmtl::data::longitudinal::spec::{embedded_longitudinal_spec, PatientFolds};
use medmtl::data::longitudinal::{load_longitudinal, PATIENT_SOURCE};
use medmtl::data::{Dataset, SourceValues};
use medmtl::model::arch::pairs::{PairInput, PairMode};
use medmtl::model::arch::{build_with, Architecture, ModelSpec};
use medmtl::model::backbone::BackboneKind;
use medmtl::model::head::HeadSpec;
use medmtl::model::params::Owner;
use medmtl::task::{Task, TaskKindName};

use crate::common::{design, spec};

fn pairs() -> Dataset {
    generate(&LongitudinalPhantomConfig { size: 16, train: 8, val: 4, test: 4, ..Default::default() }).unwrap()
}

fn tasks(d: &Dataset) -> Vec<Task> {
    [
        spec("seg_t0", TaskKindName::Segmentation, "mask_t0", None),
        spec("seg_t1", TaskKindName::Segmentation, "mask_t1", None),
        spec("change", TaskKindName::Segmentation, "change", None),
        spec("area_change", TaskKindName::Regression, "area_change", None),
        spec("grows", TaskKindName::Binary, "grows", None),
    ]
    .iter()
    .map(|s| Task::resolve(s, d).unwrap())
    .collect()
}

fn model(name: &str, d: &Dataset, tasks: &[Task], mode: Option<PairMode>) -> medmtl::Result<Box<dyn Architecture>> {
    let spec = ModelSpec {
        backbone: BackboneKind::Unet,
        width: 4,
        in_channels: d.shape.channels,
        input_size: (d.shape.height, d.shape.width),
        heads: tasks.iter().map(|t| HeadSpec::of(&t.kind)).collect(),
        pairs: mode.map(|mode| PairInput { mode, channels: 1, task_time_points: vec![0, 1, 1, 1, 1] }),
    };
    build_with(design(name), &spec, None, 0, &Device::Cpu)
}

/// The gradient of `sum(output[task])` with respect to each time point's input channel:
/// (|d/d t0|, |d/d t1|) summed.
fn input_gradient(m: &dyn Architecture, d: &Dataset, task: usize) -> (f32, f32) {
    let (h, w) = (d.shape.height, d.shape.width);
    let x = Var::from_tensor(&Tensor::from_vec(d.train.images()[..2 * 2 * h * w].to_vec(), (2, 2, h, w), &Device::Cpu).unwrap()).unwrap();
    let out = m.forward(x.as_tensor(), &[task], true).unwrap().remove(0);
    let grads = out.sqr().unwrap().sum_all().unwrap().backward().unwrap();
    let g = grads.get(x.as_tensor()).unwrap();
    let part = |c: usize| g.narrow(1, c, 1).unwrap().abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
    (part(0), part(1))
}

#[test]
fn a_siamese_encoder_has_one_set_of_weights_and_both_time_points_reach_it() {
    let d = pairs();
    let tasks = tasks(&d);
    let siamese = model("hps", &d, &tasks, Some(PairMode::Siamese)).unwrap();
    // The shared encoder of the Siamese HPS has exactly the parameters of a one-image HPS
    // encoder (1 input channel): one set of weights for both time points.
    let mut one_image = d.clone();
    one_image.shape.channels = 1;
    one_image.time_points = 1;
    let plain = model("hps", &one_image, &tasks, None).unwrap();
    let shared = |m: &dyn Architecture| -> BTreeSet<(String, Vec<usize>)> {
        m.params().iter().filter(|p| p.owner == Owner::Shared).map(|p| (p.name.clone(), p.var.dims().to_vec())).collect()
    };
    assert_eq!(shared(siamese.as_ref()), shared(plain.as_ref()));
    // Every head reads both time points: the input gradient is non-zero in both channels,
    // for a per-image task and a dense one.
    for task in [1, 4] {
        let (g0, g1) = input_gradient(siamese.as_ref(), &d, task);
        assert!(g0 > 0.0 && g1 > 0.0, "task {task}: gradients {g0} {g1}");
    }
    // Outputs are per pair, not per time point.
    let x = Tensor::zeros((3, 2, 16, 16), DType::F32, &Device::Cpu).unwrap();
    let out = siamese.forward(&x, &[0, 4], false).unwrap();
    assert_eq!(out[0].dims(), [3, 1, 16, 16]);
    assert_eq!(out[1].dims(), [3, 1]);
}

#[test]
fn a_single_time_point_network_never_sees_the_other_scan() {
    let d = pairs();
    let tasks = tasks(&d);
    let single = model("stl", &d, &tasks, Some(PairMode::Single)).unwrap();
    // seg_t0 reads the baseline only, seg_t1 and the change tasks the follow-up only.
    let (g0, g1) = input_gradient(single.as_ref(), &d, 0);
    assert!(g0 > 0.0 && g1 == 0.0, "seg_t0: {g0} {g1}");
    for task in [1, 4] {
        let (g0, g1) = input_gradient(single.as_ref(), &d, task);
        assert!(g0 == 0.0 && g1 > 0.0, "task {task}: {g0} {g1}");
    }
    // STL with Siamese pairs: each task's own network still sees both scans.
    let siamese_stl = model("stl", &d, &tasks, Some(PairMode::Siamese)).unwrap();
    let (g0, g1) = input_gradient(siamese_stl.as_ref(), &d, 0);
    assert!(g0 > 0.0 && g1 > 0.0);
}

#[test]
fn designs_with_their_own_heads_refuse_siamese_pairs_before_training() {
    let d = pairs();
    let tasks = tasks(&d);
    for name in ["cross-stitch", "mtan"] {
        assert!(model(name, &d, &tasks, Some(PairMode::Siamese)).is_ok(), "{name}");
    }
    let Err(e) = model("dcan", &d, &tasks, Some(PairMode::Siamese)) else { panic!("dcan cannot fuse time points") };
    let msg = e.to_string();
    assert!(msg.contains("dcan") && msg.contains("siamese"), "{msg}");
}

fn data_dir() -> Option<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            eprintln!("{DATA_DIR_ENV} is not set: skipping the real longitudinal checks");
            None
        }
    }
}

fn patients(d: &Dataset, split: &medmtl::data::Split) -> BTreeSet<String> {
    let Some(SourceValues::Labels(p)) = split.source(PATIENT_SOURCE) else { panic!("no patient source") };
    p.iter().map(|&i| d.class_names[PATIENT_SOURCE][i as usize].clone()).collect()
}

#[test]
fn brain_tumor_progression_pairs_are_verified_and_split_by_patient() {
    let Some(dir) = data_dir() else { return };
    let spec = embedded_longitudinal_spec("brain-tumor-progression").unwrap();
    let sources = DataSources::local(vec![dir], std::env::temp_dir().join("medmtl-no-cache"));
    let mut tested = BTreeSet::new();
    for test in 0..4 {
        let d = load_longitudinal(&spec, 32, &PatientFolds { k: 4, test, val_patients: 2, seed: 0 }, &sources).unwrap();
        assert!(d.provenance.verified, "every file matches its md5");
        assert_eq!(d.provenance.files.len(), 45, "44 volumes and the dates table");
        assert_eq!((d.shape.channels, d.time_points, d.shape.height), (2, 2, 32));
        let (train, val, test_patients) = (patients(&d, &d.train), patients(&d, &d.val), patients(&d, &d.test));
        assert_eq!(val.len(), 2);
        assert_eq!(train.len() + val.len() + test_patients.len(), 11, "{train:?} {val:?} {test_patients:?}");
        assert!(train.is_disjoint(&val) && train.is_disjoint(&test_patients) && val.is_disjoint(&test_patients));
        tested.extend(test_patients);
        // Every kept slice has tumour at either time point, except the 25% lesion-free share.
        let lesion = |s: &medmtl::data::Split| {
            let (Some(SourceValues::Masks { values: a, .. }), Some(SourceValues::Masks { values: b, .. })) =
                (s.source("mask_t0"), s.source("mask_t1"))
            else {
                panic!()
            };
            (0..s.len()).filter(|&i| a[i * 1024..(i + 1) * 1024].iter().chain(&b[i * 1024..(i + 1) * 1024]).any(|&v| v > 0)).count()
        };
        let all = d.train.len() + d.val.len() + d.test.len();
        let with = lesion(&d.train) + lesion(&d.val) + lesion(&d.test);
        assert!(with * 10 >= all * 7 && with < all, "{with} of {all} pairs show tumour");
        let Some(SourceValues::Values(days)) = d.train.source("interval_days") else { panic!("no intervals") };
        assert!(days.iter().all(|&v| (20.0..=450.0).contains(&v)), "{days:?}");
    }
    assert_eq!(tested.len(), 11, "over the four folds every patient is tested once");
}

#[test]
fn a_bring_your_own_longitudinal_spec_is_recognised_by_its_pairs_table() {
    use medmtl::config::{DatasetRef, Suite};
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("mine.toml");
    let text = include_str!("../../datasets/brain-tumor-progression.toml").replace("name = \"brain-tumor-progression\"", "name = \"mine\"");
    std::fs::write(&spec, text).unwrap();
    let suite = format!(
        "name = \"t\"\nseeds = [0]\ndesigns = [\"hps\"]\n[train]\nepochs = 1\n[model]\nbackbone = \"unet\"\npairs = \"siamese\"\n\
         [[experiment]]\nname = \"e\"\ndataset = \"mine\"\nspec = {:?}\nsize = 32\nfolds = {{ k = 3, test = 1 }}\n\
         tasks = [{{ name = \"seg\", kind = \"segmentation\", source = \"mask_t1\" }}]\n",
        spec.display().to_string()
    );
    let parsed = Suite::parse(&suite, std::path::Path::new("t.toml")).unwrap();
    parsed.validate(&medmtl::data::catalog::Catalog::embedded().unwrap(), std::path::Path::new("t.toml")).unwrap();
    let Ok(DatasetRef::Longitudinal { spec, size, folds }) = parsed.experiments[0].dataset_ref() else { panic!("not longitudinal") };
    assert_eq!((spec.dataset.name.as_str(), size, folds.test), ("mine", 32, 1));
}
