//! The suite schema (`benchmarks/suites/*.toml`) and its validation.
//!
//! Parsing rejects unknown keys and wrong types (serde + toml report the key and line);
//! [`Suite::validate`] then checks names against the dataset catalog, so a bad suite fails
//! before any training starts, naming the file, the key and what is allowed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::catalog::Catalog;
use crate::data::folder::{embedded_names, embedded_spec, read_spec, FolderSpec};
use crate::data::longitudinal::phantoms::LongitudinalPhantomConfig;
use crate::data::longitudinal::spec::{
    embedded_longitudinal_names, embedded_longitudinal_spec, is_longitudinal_spec, parse_longitudinal_spec, LongitudinalSpec, PatientFolds,
};
use crate::data::phantoms::PhantomConfig;
use crate::data::subgroup::{ShiftSpec, SubgroupSpec};
use std::collections::BTreeMap;

use crate::hyper::ParamTable;
use crate::model::arch::pairs::PairMode;
use crate::model::arch::Design;
use crate::model::backbone::BackboneKind;
use crate::task::TaskSpec;
use crate::train::TrainConfig;
use crate::weighting::WeightingKind;
use crate::{Error, Result};

/// Suites shipped with medmtl, compiled in so `--suite NAME` works from any folder.
const EMBEDDED: &[(&str, &str)] = &[
    ("smoke", include_str!("../../benchmarks/suites/smoke.toml")),
    ("retina", include_str!("../../benchmarks/suites/retina.toml")),
    ("retina-full", include_str!("../../benchmarks/suites/retina-full.toml")),
    ("breast-full", include_str!("../../benchmarks/suites/breast-full.toml")),
    ("default", include_str!("../../benchmarks/suites/default.toml")),
    ("hetero", include_str!("../../benchmarks/suites/hetero.toml")),
    ("busbra", include_str!("../../benchmarks/suites/busbra.toml")),
    ("busbra-128", include_str!("../../benchmarks/suites/busbra-128.toml")),
    ("hc18", include_str!("../../benchmarks/suites/hc18.toml")),
    ("literature", include_str!("../../benchmarks/suites/literature.toml")),
    ("relatedness", include_str!("../../benchmarks/suites/relatedness.toml")),
    ("scanner-shift", include_str!("../../benchmarks/suites/scanner-shift.toml")),
    ("longitudinal", include_str!("../../benchmarks/suites/longitudinal.toml")),
    ("multi-input", include_str!("../../benchmarks/suites/multi-input.toml")),
    ("generative", include_str!("../../benchmarks/suites/generative.toml")),
    ("partial", include_str!("../../benchmarks/suites/partial.toml")),
];

/// A benchmark suite: experiments crossed with designs, weightings and seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// The suite's name (results go to `<results>/<name>/`).
    pub name: String,
    /// What the suite is for, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Training seeds; every design x weighting of every experiment runs once per seed.
    pub seeds: Vec<u64>,
    /// Multi-task designs (architectures) to run, `stl` for the single-task baseline.
    pub designs: Vec<Design>,
    /// Loss-weighting methods to run (default: `ew`, equal weights).
    #[serde(default = "default_weightings")]
    pub weightings: Vec<WeightingKind>,
    /// Designs crossed with every weighting; the other designs run with the first
    /// weighting only (an "axes" grid instead of the full cross). All designs when absent.
    #[serde(default)]
    pub weighting_designs: Option<Vec<Design>>,
    /// Training settings of every experiment without its own `[experiment.train]`.
    pub train: TrainConfig,
    /// Backbone of every experiment without its own `[experiment.model]` (default: the small CNN at its default width).
    #[serde(default)]
    pub model: ModelConfig,
    /// Hyper-parameter overrides per weighting method (`[weighting.cagrad] c = 0.4`).
    #[serde(default, rename = "weighting")]
    pub weighting_params: BTreeMap<WeightingKind, ParamTable>,
    /// Hyper-parameter overrides per design (`[design.mmoe] experts = 2`).
    #[serde(default, rename = "design")]
    pub design_params: BTreeMap<Design, ParamTable>,
    /// The experiments (`[[experiment]]` tables), run in order.
    #[serde(rename = "experiment")]
    pub experiments: Vec<Experiment>,
}

fn default_weightings() -> Vec<WeightingKind> {
    WeightingKind::from_name("ew").into_iter().collect()
}

/// The backbone and its width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The shared feature extractor's architecture.
    pub backbone: BackboneKind,
    /// Base channel width; the backbone's default when absent.
    #[serde(default)]
    pub width: Option<usize>,
    /// How a design reads longitudinal pairs: `"siamese"` (shared encoder on both time
    /// points, fused features) or `"single"` (each task sees its `time_point` only); absent:
    /// the time points are plain channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairs: Option<PairMode>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig { backbone: BackboneKind::SmallCnn, width: None, pairs: None }
    }
}

impl ModelConfig {
    /// The base channel width: `width`, else the backbone's default.
    pub fn width(&self) -> usize {
        self.width.unwrap_or_else(|| self.backbone.default_width())
    }
}

/// One dataset with its tasks; designs, weightings, training and model may be overridden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// The experiment's name (letters, digits, `-`, `_`; unique in the suite).
    pub name: String,
    /// A catalog dataset (e.g. `retinamnist`), a built-in folder dataset (`busbra`, `hc18`)
    /// or `phantoms`; with `spec`, the name of your own folder dataset.
    pub dataset: String,
    /// A folder-dataset spec (TOML, see `datasets/busbra.toml`) for bring-your-own data;
    /// relative paths are resolved from the current folder.
    #[serde(default)]
    pub spec: Option<std::path::PathBuf>,
    /// Image size for catalog datasets with several sizes (MedMNIST: 28, 64, 128, 224).
    #[serde(default = "default_size")]
    pub size: u32,
    /// The tasks learnt together on this dataset (names unique).
    pub tasks: Vec<TaskSpec>,
    /// Generator settings when `dataset = "phantoms"`.
    #[serde(default)]
    pub phantoms: Option<PhantomConfig>,
    /// Designs of this experiment instead of the suite's.
    #[serde(default)]
    pub designs: Option<Vec<Design>>,
    /// Weighting methods of this experiment instead of the suite's.
    #[serde(default)]
    pub weightings: Option<Vec<WeightingKind>>,
    /// Training settings of this experiment instead of the suite's.
    #[serde(default)]
    pub train: Option<TrainConfig>,
    /// Backbone of this experiment instead of the suite's.
    #[serde(default)]
    pub model: Option<ModelConfig>,
    /// Also report every test metric per subgroup (per scanner, per range of a measurement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subgroups: Option<SubgroupSpec>,
    /// Train on some subgroups, test on others (leave-one-scanner-out, early vs late
    /// gestation); the test metrics come per subgroup, in-distribution and shifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<ShiftSpec>,
    /// The patient-level cross-validation fold of a longitudinal dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<PatientFolds>,
    /// Generator settings when `dataset = "longitudinal-phantoms"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitudinal_phantoms: Option<LongitudinalPhantomConfig>,
    /// Experiments with the same pool are folds of one protocol (same dataset and tasks); the
    /// report pools them per design, with the spread between folds as the uncertainty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Convert colour images to one luminance channel (ITU-R BT.601), so that datasets of
    /// different channel counts can feed one network (multi-input experiments).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub grayscale: bool,
}

fn default_size() -> u32 {
    28
}

impl Experiment {
    /// The datasets the experiment draws images from, each as an experiment of its own
    /// (same size and settings) with the tasks it labels (indices into `tasks`): the
    /// experiment's dataset, then each other dataset a task names, in task order. More than
    /// one entry makes a multi-input experiment (LibMTL's `multi_input`): each task trains on
    /// its own dataset's images, one batch per dataset per step.
    pub fn inputs(&self) -> Vec<(Experiment, Vec<usize>)> {
        let mut out: Vec<(Experiment, Vec<usize>)> = Vec::new();
        for (i, task) in self.tasks.iter().enumerate() {
            let name = task.dataset.as_deref().unwrap_or(&self.dataset);
            match out.iter_mut().find(|(e, _)| e.dataset == name) {
                Some((_, tasks)) => tasks.push(i),
                None => {
                    let mut input = self.clone();
                    if name != self.dataset {
                        input.dataset = name.to_owned();
                        input.spec = None;
                    }
                    out.push((input, vec![i]));
                }
            }
        }
        out
    }
}

/// The dataset name of synthetic longitudinal phantoms.
pub const LONGITUDINAL_PHANTOMS: &str = "longitudinal-phantoms";

/// How an experiment's data are obtained.
#[derive(Debug, Clone)]
pub enum DatasetRef {
    /// A dataset of the catalog (MedMNIST), read from its official file.
    Catalog {
        /// The catalog name (`retinamnist`).
        name: String,
        /// Image side in pixels (one of the catalog's sizes).
        size: u32,
    },
    /// A folder dataset (built-in spec or the experiment's own `spec` file).
    Folder {
        /// The parsed and validated dataset spec.
        spec: Box<FolderSpec>,
        /// Side of the square images are resized to, pixels.
        size: u32,
    },
    /// Synthetic phantoms generated from these settings.
    Phantoms(PhantomConfig),
    /// A longitudinal dataset (pairs of NIfTI volumes) and the patient fold to use.
    Longitudinal {
        /// The parsed and validated spec.
        spec: Box<LongitudinalSpec>,
        /// Side of the square slices are resized to, pixels.
        size: u32,
        /// Which patients test, validate and train.
        folds: PatientFolds,
    },
    /// Synthetic longitudinal phantoms generated from these settings.
    LongitudinalPhantoms(LongitudinalPhantomConfig),
}

impl Experiment {
    /// Where the experiment's data come from (reads a bring-your-own spec file).
    pub fn dataset_ref(&self) -> Result<DatasetRef> {
        if let Some(path) = &self.spec {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            if is_longitudinal_spec(&text) {
                let spec = parse_longitudinal_spec(&text, path)?;
                return Ok(DatasetRef::Longitudinal { spec: Box::new(spec), size: self.size, folds: self.patient_folds()? });
            }
            return Ok(DatasetRef::Folder { spec: Box::new(read_spec(path)?), size: self.size });
        }
        if self.dataset == "phantoms" {
            return Ok(DatasetRef::Phantoms(self.phantoms.clone().unwrap_or_default()));
        }
        if self.dataset == LONGITUDINAL_PHANTOMS {
            return Ok(DatasetRef::LongitudinalPhantoms(self.longitudinal_phantoms.clone().unwrap_or_default()));
        }
        if embedded_longitudinal_names().contains(&self.dataset.as_str()) {
            let spec = Box::new(embedded_longitudinal_spec(&self.dataset)?);
            return Ok(DatasetRef::Longitudinal { spec, size: self.size, folds: self.patient_folds()? });
        }
        if embedded_names().contains(&self.dataset.as_str()) {
            return Ok(DatasetRef::Folder { spec: Box::new(embedded_spec(&self.dataset)?), size: self.size });
        }
        Ok(DatasetRef::Catalog { name: self.dataset.clone(), size: self.size })
    }

    /// The patient folds a longitudinal dataset needs.
    fn patient_folds(&self) -> Result<PatientFolds> {
        self.folds.clone().ok_or_else(|| {
            Error::Invalid(format!(
                "experiment '{}': dataset '{}' is longitudinal and is split by patient; add e.g. `folds = {{ k = 3, test = 0 }}`",
                self.name, self.dataset
            ))
        })
    }
}

/// Where a suite was read from (for messages and the report).
#[derive(Debug, Clone, PartialEq)]
pub enum SuiteSource {
    /// A TOML file on disk.
    File(PathBuf),
    /// A suite compiled into medmtl, by name.
    Embedded(&'static str),
}

impl SuiteSource {
    /// The file's path, or `benchmarks/suites/<name>.toml` for an embedded suite.
    pub fn label(&self) -> PathBuf {
        match self {
            SuiteSource::File(p) => p.clone(),
            SuiteSource::Embedded(name) => PathBuf::from(format!("benchmarks/suites/{name}.toml")),
        }
    }
}

impl Suite {
    /// Names of the suites compiled into medmtl.
    pub fn embedded_names() -> Vec<&'static str> {
        EMBEDDED.iter().map(|(n, _)| *n).collect()
    }

    /// Finds a suite by path (`*.toml`), by name in `benchmarks/suites/` under the current
    /// folder, or by name among the embedded suites; returns it with its TOML text.
    pub fn find(name_or_path: &str) -> Result<(Suite, SuiteSource, String)> {
        let as_path = Path::new(name_or_path);
        let local = Path::new("benchmarks/suites").join(format!("{name_or_path}.toml"));
        let file = if name_or_path.ends_with(".toml") || as_path.components().count() > 1 {
            Some(as_path.to_path_buf())
        } else if local.is_file() {
            Some(local)
        } else {
            None
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let suite = Suite::parse(&text, &path)?;
            return Ok((suite, SuiteSource::File(path), text));
        }
        let (name, text) = EMBEDDED
            .iter()
            .find(|(n, _)| *n == name_or_path)
            .ok_or_else(|| Error::unknown("suite", name_or_path, &Suite::embedded_names()))?;
        let source = SuiteSource::Embedded(name);
        Ok((Suite::parse(text, &source.label())?, source, text.to_string()))
    }

    /// Parses suite TOML; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Suite> {
        toml::from_str(text).map_err(|e| Error::config(path, e.to_string().trim_end().to_owned()))
    }

    /// Checks everything that parsing cannot: known datasets, sizes, non-empty lists,
    /// unique names, training settings.
    pub fn validate(&self, catalog: &Catalog, path: &Path) -> Result<()> {
        let err = |msg: String| Err(Error::config(path, msg));
        if self.seeds.is_empty() {
            return err("`seeds` is empty; list at least one seed".into());
        }
        if self.designs.is_empty() {
            return err("`designs` is empty; allowed: ".to_owned() + &Design::names().join(", "));
        }
        if self.weightings.is_empty() {
            return err("`weightings` is empty".into());
        }
        if self.experiments.is_empty() {
            return err("the suite has no [[experiment]]".into());
        }
        if let Err(msg) = self.train.validate() {
            return err(format!("[train]: {msg}"));
        }
        for (method, table) in &self.weighting_params {
            method.resolve_params(Some(table)).map_err(|e| Error::config(path, e.to_string()))?;
        }
        for (design, table) in &self.design_params {
            design.resolve_params(Some(table)).map_err(|e| Error::config(path, e.to_string()))?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, exp) in self.experiments.iter().enumerate() {
            let at = format!("experiment[{i}] '{}'", exp.name);
            if !seen.insert(exp.name.as_str()) {
                return err(format!("{at}: the name is used twice"));
            }
            if exp.name.is_empty() || !exp.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) {
                return err(format!("{at}: names may use letters, digits, '-' and '_' only"));
            }
            if exp.tasks.is_empty() {
                return err(format!("{at}: `tasks` is empty"));
            }
            let mut task_names = std::collections::BTreeSet::new();
            for task in &exp.tasks {
                if !task_names.insert(task.name.as_str()) {
                    return err(format!("{at}: task name '{}' is used twice", task.name));
                }
            }
            if let Some(train) = &exp.train {
                if let Err(msg) = train.validate() {
                    return err(format!("{at}.train: {msg}"));
                }
            }
            if matches!(&exp.designs, Some(d) if d.is_empty()) {
                return err(format!("{at}: `designs` is empty"));
            }
            if exp.phantoms.is_some() && exp.dataset != "phantoms" {
                return err(format!("{at}: [phantoms] settings only apply to dataset = \"phantoms\""));
            }
            if exp.subgroups.is_some() && exp.shift.is_some() {
                return err(format!(
                    "{at}: give `subgroups` or `shift`, not both (a shift reports its in-distribution and shifted subgroups)"
                ));
            }
            if let Some(msg) = exp.subgroups.as_ref().and_then(|s| s.check().err()) {
                return err(format!("{at}.subgroups: {msg}"));
            }
            if let Some(msg) = exp.shift.as_ref().and_then(|s| s.check().err()) {
                return err(format!("{at}.shift: {msg}"));
            }
            if let Some(pool) = &exp.pool {
                if let Some(other) = self.experiments[..i].iter().find(|o| o.pool.as_ref() == Some(pool)) {
                    let names = |e: &Experiment| e.tasks.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
                    if other.dataset != exp.dataset || names(other) != names(exp) {
                        return err(format!(
                            "{at}: pool '{pool}' joins experiments with the same dataset and task names, and '{}' differs",
                            other.name
                        ));
                    }
                }
            }
            let reference = exp.dataset_ref().map_err(|e| Error::config(path, format!("{at}: {e}")))?;
            let longitudinal = matches!(reference, DatasetRef::Longitudinal { .. } | DatasetRef::LongitudinalPhantoms(_));
            if exp.longitudinal_phantoms.is_some() && exp.dataset != LONGITUDINAL_PHANTOMS {
                return err(format!("{at}: [longitudinal_phantoms] settings only apply to dataset = \"{LONGITUDINAL_PHANTOMS}\""));
            }
            if exp.folds.is_some() && !matches!(reference, DatasetRef::Longitudinal { .. }) {
                return err(format!(
                    "{at}: `folds` (patient-level folds) only apply to longitudinal datasets ({})",
                    embedded_longitudinal_names().join(", ")
                ));
            }
            if let Some(msg) = exp.folds.as_ref().and_then(|f| f.check().err()) {
                return err(format!("{at}: {msg}"));
            }
            let pairs = exp.model.as_ref().unwrap_or(&self.model).pairs;
            if pairs.is_some() && !longitudinal {
                return err(format!("{at}: model.pairs needs a longitudinal dataset (two time points per sample)"));
            }
            if let Some(task) = exp.tasks.iter().find(|t| t.time_point.is_some()) {
                if pairs != Some(PairMode::Single) {
                    return err(format!("{at}: task '{}' sets time_point, which only applies with model.pairs = \"single\"", task.name));
                }
            }
            check_dataset(&reference, exp, catalog).or_else(|msg| err(format!("{at}: {msg}")))?;
            let inputs = exp.inputs();
            if inputs.len() > 1 {
                if exp.subgroups.is_some() || exp.shift.is_some() || exp.pool.is_some() || longitudinal {
                    return err(format!(
                        "{at}: tasks from several datasets (multi-input) cannot be combined with subgroups, shift, pool or longitudinal data"
                    ));
                }
                for (input, _) in &inputs[1..] {
                    let reference = input.dataset_ref().map_err(|e| Error::config(path, format!("{at}: {e}")))?;
                    if matches!(reference, DatasetRef::Longitudinal { .. } | DatasetRef::LongitudinalPhantoms(_)) {
                        return err(format!(
                            "{at}: a task's dataset '{}' is longitudinal, which multi-input does not support",
                            input.dataset
                        ));
                    }
                    check_dataset(&reference, input, catalog).or_else(|msg| err(format!("{at}, dataset '{}': {msg}", input.dataset)))?;
                }
            }
        }
        Ok(())
    }

    /// The designs `exp` runs: its own list, else the suite's.
    pub fn designs_for<'a>(&'a self, exp: &'a Experiment) -> &'a [Design] {
        exp.designs.as_deref().unwrap_or(&self.designs)
    }

    /// The weighting methods of `exp`: its own list, else the suite's.
    pub fn weightings_for<'a>(&'a self, exp: &'a Experiment) -> &'a [WeightingKind] {
        exp.weightings.as_deref().unwrap_or(&self.weightings)
    }

    /// The weightings `design` runs with in `exp`.
    pub fn weightings_of(&self, exp: &Experiment, design: Design) -> Vec<WeightingKind> {
        let all = self.weightings_for(exp);
        match &self.weighting_designs {
            Some(crossed) if !crossed.contains(&design) => all.iter().take(1).copied().collect(),
            _ => all.to_vec(),
        }
    }

    /// The training settings of `exp`: its own, else the suite's.
    pub fn train_for<'a>(&'a self, exp: &'a Experiment) -> &'a TrainConfig {
        exp.train.as_ref().unwrap_or(&self.train)
    }

    /// The backbone settings of `exp`: its own, else the suite's.
    pub fn model_for<'a>(&'a self, exp: &'a Experiment) -> &'a ModelConfig {
        exp.model.as_ref().unwrap_or(&self.model)
    }

    /// The suite's overrides of `method`'s hyper-parameters.
    pub fn weighting_params_of(&self, method: WeightingKind) -> Option<&ParamTable> {
        self.weighting_params.get(&method)
    }

    /// The suite's overrides of `design`'s hyper-parameters.
    pub fn design_params_of(&self, design: Design) -> Option<&ParamTable> {
        self.design_params.get(&design)
    }
}

/// Checks that `exp`'s dataset reference names data that exist (catalog entry and size,
/// spec and name), as `why` for the caller to place.
fn check_dataset(reference: &DatasetRef, exp: &Experiment, catalog: &Catalog) -> std::result::Result<(), String> {
    match reference {
        DatasetRef::Phantoms(_) | DatasetRef::LongitudinalPhantoms(_) => {}
        DatasetRef::Longitudinal { spec, size, .. } => {
            if spec.dataset.name != exp.dataset {
                return Err(format!("dataset = \"{}\" but the spec names \"{}\"", exp.dataset, spec.dataset.name));
            }
            if !crate::data::folder::SIZE_RANGE.contains(size) {
                return Err(format!("size {size} is outside 4..=2048"));
            }
        }
        DatasetRef::Folder { spec, size } => {
            if spec.dataset.name != exp.dataset {
                return Err(format!("dataset = \"{}\" but the spec names \"{}\"", exp.dataset, spec.dataset.name));
            }
            if !crate::data::folder::SIZE_RANGE.contains(size) {
                return Err(format!("size {size} is outside 4..=2048"));
            }
        }
        DatasetRef::Catalog { name, size } => {
            let Some(entry) = catalog.get(name) else {
                let mut allowed = catalog.names();
                allowed.extend(embedded_names());
                allowed.extend(embedded_longitudinal_names());
                allowed.push("phantoms");
                allowed.push(LONGITUDINAL_PHANTOMS);
                return Err(format!(
                    "unknown dataset '{name}'; allowed: {} (or your own with `spec = \"path/to/spec.toml\"`)",
                    allowed.join(", ")
                ));
            };
            if let Err(e) = entry.file(*size) {
                return Err(format!("{e}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
seeds = [0]
designs = ["stl", "hps"]
[train]
epochs = 1
[[experiment]]
name = "p"
dataset = "phantoms"
tasks = [{ name = "shape", kind = "multiclass", source = "shape" }]
"#;

    fn check(text: &str) -> std::result::Result<Suite, String> {
        let path = Path::new("suites/t.toml");
        let suite = Suite::parse(text, path).map_err(|e| e.to_string())?;
        suite.validate(&Catalog::embedded().unwrap(), path).map_err(|e| e.to_string())?;
        Ok(suite)
    }

    #[test]
    fn every_embedded_suite_parses_and_validates() {
        for name in Suite::embedded_names() {
            let (suite, source, _) = Suite::find(name).unwrap();
            suite.validate(&Catalog::embedded().unwrap(), &source.label()).unwrap();
        }
    }

    /// Tasks naming their own dataset make a multi-input experiment: one input per dataset,
    /// in task order, each with its tasks; unknown task datasets and settings that need one
    /// dataset are refused, naming the experiment.
    #[test]
    fn tasks_on_other_datasets_make_a_multi_input_experiment() {
        let multi = GOOD.replace(
            r#"tasks = [{ name = "shape", kind = "multiclass", source = "shape" }]"#,
            r#"tasks = [
  { name = "shape", kind = "multiclass", source = "shape" },
  { name = "breast", kind = "binary", source = "label", dataset = "breastmnist" },
  { name = "area", kind = "regression", source = "area" },
  { name = "retina", kind = "binary", source = "label", dataset = "retinamnist", positive_at_least = 2 },
]
grayscale = true"#,
        );
        let suite = check(&multi).unwrap();
        let inputs = suite.experiments[0].inputs();
        let names: Vec<(&str, Vec<usize>)> = inputs.iter().map(|(e, t)| (e.dataset.as_str(), t.clone())).collect();
        assert_eq!(names, vec![("phantoms", vec![0, 2]), ("breastmnist", vec![1]), ("retinamnist", vec![3])]);
        let unknown = check(&multi.replace(r#"dataset = "retinamnist""#, r#"dataset = "retinamnst""#)).unwrap_err();
        assert!(unknown.contains("experiment[0] 'p'") && unknown.contains("retinamnst"), "{unknown}");
        let shift = check(&multi.replace("grayscale = true", r#"shift = { source = "shape", train = ["0"], test = ["1"] }"#)).unwrap_err();
        assert!(shift.contains("multi-input"), "{shift}");
    }

    #[test]
    fn good_suite_passes() {
        check(GOOD).unwrap();
    }

    #[test]
    fn unknown_key_is_named_with_the_file() {
        let msg = check(&GOOD.replace("epochs = 1", "epochs = 1\nepocs = 2")).unwrap_err();
        assert!(msg.contains("suites/t.toml") && msg.contains("epocs"), "{msg}");
    }

    #[test]
    fn wrong_type_is_named() {
        let msg = check(&GOOD.replace("epochs = 1", "epochs = \"one\"")).unwrap_err();
        assert!(msg.contains("epochs"), "{msg}");
    }

    #[test]
    fn unknown_design_lists_the_allowed_ones() {
        let msg = check(&GOOD.replace("\"hps\"]", "\"hsp\"]")).unwrap_err();
        assert!(msg.contains("hsp") && msg.contains("stl") && msg.contains("hps"), "{msg}");
    }

    #[test]
    fn unknown_dataset_lists_the_catalog() {
        let msg = check(&GOOD.replace("dataset = \"phantoms\"", "dataset = \"retinamnst\"")).unwrap_err();
        assert!(msg.contains("retinamnst") && msg.contains("retinamnist") && msg.contains("phantoms"), "{msg}");
    }

    #[test]
    fn hyper_parameters_are_checked_before_training() {
        let with = |section: &str| check(&format!("{GOOD}\n{section}"));
        assert!(with("[weighting.cagrad]\nc = 0.4").is_ok());
        assert!(with("[design.mmoe]\nexperts = 2").is_ok());
        let unknown = with("[weighting.cagrad]\ncc = 0.4").unwrap_err();
        assert!(unknown.contains("suites/t.toml") && unknown.contains("weighting.cagrad") && unknown.contains("cc"), "{unknown}");
        let range = with("[weighting.dwa]\ntemperature = -1.0").unwrap_err();
        assert!(range.contains("suites/t.toml") && range.contains("temperature must be > 0"), "{range}");
        let method = with("[weighting.cagard]\nc = 0.4").unwrap_err();
        assert!(method.contains("cagard") && method.contains("cagrad"), "{method}");
        let experts = with("[design.mmoe]\nexperts = 0").unwrap_err();
        assert!(experts.contains("experts must be at least 1"), "{experts}");
    }

    #[test]
    fn missing_size_is_reported() {
        let msg = check(&GOOD.replace("dataset = \"phantoms\"", "dataset = \"retinamnist\"\nsize = 32")).unwrap_err();
        assert!(msg.contains("32") && msg.contains("28"), "{msg}");
    }

    #[test]
    fn longitudinal_settings_are_refused_where_they_do_not_apply() {
        let pairs = GOOD.replace("epochs = 1\n", "epochs = 1\n[model]\nbackbone = \"unet\"\npairs = \"siamese\"\n");
        let msg = check(&pairs).unwrap_err();
        assert!(msg.contains("model.pairs") && msg.contains("longitudinal"), "{msg}");
        let btp = "dataset = \"brain-tumor-progression\"\nsize = 32";
        let msg = check(&GOOD.replace("dataset = \"phantoms\"", btp)).unwrap_err();
        assert!(msg.contains("folds"), "a longitudinal dataset needs patient folds: {msg}");
        let msg = check(&GOOD.replace("dataset = \"phantoms\"", "dataset = \"phantoms\"\nfolds = { k = 3, test = 0 }")).unwrap_err();
        assert!(msg.contains("folds") && msg.contains("longitudinal"), "{msg}");
        let bad_fold = format!("{btp}\nfolds = {{ k = 3, test = 3 }}");
        let msg = check(&GOOD.replace("dataset = \"phantoms\"", &bad_fold)).unwrap_err();
        assert!(msg.contains("folds.test"), "{msg}");
        let time_point = GOOD.replace("source = \"shape\" }", "source = \"shape\", time_point = 0 }");
        let msg = check(&time_point).unwrap_err();
        assert!(msg.contains("time_point") && msg.contains("single"), "{msg}");
    }
}
