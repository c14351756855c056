//! Shared fixtures for the integration tests: small phantom datasets and task lists.

use medmtl::data::phantoms::{generate, PhantomConfig};
use medmtl::data::Dataset;
use medmtl::model::arch::{Design, ModelSpec};
use medmtl::model::backbone::BackboneKind;
use medmtl::model::head::HeadSpec;
use medmtl::task::{Task, TaskKindName, TaskSpec};

pub fn phantoms(size: usize, train: usize, seed: u64) -> Dataset {
    generate(&PhantomConfig { size, train, val: train / 2, test: train / 2, seed, noise: 0.2, relatedness: None }).unwrap()
}

pub fn spec(name: &str, kind: TaskKindName, source: &str, positive_at_least: Option<f64>) -> TaskSpec {
    TaskSpec { positive_at_least, ..TaskSpec::new(name, kind, source) }
}

/// shape (multiclass), large (binary), area (regression).
pub fn three_tasks(d: &Dataset) -> Vec<Task> {
    [
        spec("shape", TaskKindName::Multiclass, "shape", None),
        spec("large", TaskKindName::Binary, "area", Some(0.1)),
        spec("area", TaskKindName::Regression, "area", None),
    ]
    .iter()
    .map(|s| Task::resolve(s, d).unwrap())
    .collect()
}

/// One task of every kind medmtl supports.
pub fn every_kind(d: &Dataset) -> Vec<Task> {
    [
        spec("large", TaskKindName::Binary, "area", Some(0.1)),
        spec("shape", TaskKindName::Multiclass, "shape", None),
        spec("attributes", TaskKindName::Multilabel, "attributes", None),
        spec("shape_ord", TaskKindName::Ordinal, "shape", None),
        spec("shape_ordreg", TaskKindName::OrdinalRegression, "shape", None),
        spec("area", TaskKindName::Regression, "area", None),
        spec("lesion", TaskKindName::Segmentation, "mask", None),
        spec("lesion_shape", TaskKindName::Segmentation, "shape_mask", None),
        spec("recon", TaskKindName::Reconstruction, "", None),
        spec("denoise", TaskKindName::Denoising, "", None),
        TaskSpec { latent: Some(6), ..spec("vae", TaskKindName::Vae, "", None) },
    ]
    .iter()
    .map(|s| Task::resolve(s, d).unwrap())
    .collect()
}

pub fn model_spec(backbone: BackboneKind, width: usize, d: &Dataset, tasks: &[Task]) -> ModelSpec {
    ModelSpec {
        backbone,
        width,
        in_channels: d.shape.channels,
        input_size: (d.shape.height, d.shape.width),
        heads: tasks.iter().map(|t| HeadSpec::of(&t.kind)).collect(),
        pairs: None,
    }
}

/// The registered design called `name`.
pub fn design(name: &str) -> Design {
    Design::from_name(name).unwrap()
}

/// The registered weighting method called `name`.
pub fn method(name: &str) -> medmtl::weighting::WeightingKind {
    name.parse().unwrap()
}

/// Expert counts small enough for tests: MMoE with 2 experts.
pub fn small_experts() -> medmtl::hyper::ParamTable {
    "experts = 2".parse().unwrap()
}

/// `design` with test-sized hyper-parameters (MMoE with 2 experts) and weights from `seed`.
pub fn build(design: Design, spec: &ModelSpec, seed: u64) -> Box<dyn medmtl::model::arch::Architecture> {
    let params = (design.as_str() == "mmoe").then(small_experts);
    medmtl::model::arch::build_with(design, spec, params.as_ref(), seed, &candle_core::Device::Cpu).unwrap()
}
