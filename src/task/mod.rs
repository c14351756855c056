//! Tasks: what a head predicts, from which target source, with which loss and metrics.
//!
//! A suite names tasks by kind and target source; [`Task::resolve`] checks them against the
//! loaded dataset (the source exists and fits the kind) before any training starts.

mod generative;
mod loss;
mod partial;

pub use generative::{Corruption, Generative, NoiseDraw, NoiseKind, VaeTask};
pub use loss::{bce_with_logits, cross_entropy, kl_divergence, soft_dice_loss, task_loss, unpack_vae, vae_loss, vae_terms};
pub use partial::labelled_subset;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, SourceValues, Split, SplitName, PIXEL_SIZE_SOURCE};
use crate::{Error, Result};

/// The kinds of task a suite can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum TaskKindName {
    /// One positive/negative label per image (one logit, BCE).
    Binary,
    /// One of several mutually exclusive classes per image (softmax, cross-entropy).
    Multiclass,
    /// Several independent binary labels per image (ChestMNIST).
    Multilabel,
    /// Ordered grades trained as classification (MedMNIST's convention for RetinaMNIST).
    Ordinal,
    /// Ordered grades trained as regression on the grade number; predictions are rounded
    /// and clipped to the grade range for the classification metrics.
    OrdinalRegression,
    /// A real value per image (MSE on targets standardised with the training mean and SD).
    Regression,
    /// Pixel masks: binary (1 logit map, BCE + soft Dice) or multi-class (CE + soft Dice).
    Segmentation,
    /// Reproduce the input image (a "generative" task; MSE).
    Reconstruction,
    /// Reproduce the clean image from a copy corrupted by seeded noise (`noise`,
    /// `noise_level`); the task's network reads the corrupted copy in its own forward pass.
    Denoising,
    /// Reproduce the image through a variational bottleneck at the encoder's deepest level
    /// (`latent`, `beta`): MSE + beta KL, sampled in training, the mean in evaluation.
    Vae,
    /// The ellipse fitted to a mask source, regressed as its parameters (centre, semi-axes,
    /// orientation; MSE on normalised parameters), as fetal-biometry networks measure heads.
    Ellipse,
}

impl TaskKindName {
    /// Every kind's name, as suites spell it.
    pub fn names() -> Vec<&'static str> {
        <Self as strum::IntoEnumIterator>::iter().map(<&'static str>::from).collect()
    }
}

/// A task as a suite writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// The task's name in results: metric rows, history and `predictions/<name>.*` files.
    pub name: String,
    /// What the task predicts, which fixes its head, loss and metrics.
    pub kind: TaskKindName,
    /// The dataset's target source (MedMNIST: `label`; phantoms: `shape`, `area`, `mask`).
    /// Ignored by the generative kinds, whose target is the image itself.
    #[serde(default = "default_source")]
    pub source: String,
    /// Makes a binary task from a graded or real-valued source: positive when the source
    /// value is at least this (e.g. referable diabetic retinopathy = grade >= 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive_at_least: Option<f64>,
    /// For a regression source that is a length in mm (e.g. HC18's head circumference):
    /// train the network on the length in pixels of the resized image (mm ÷ the sample's
    /// pixel size). A resized image shows the length in pixels but not the scanner's pixel
    /// size, which varies between images, so a length in mm is not a function of the image;
    /// in pixels it is. Predictions are converted back to mm with each sample's pixel size
    /// before any metric, so results stay in mm. Needs a dataset with a pixel size.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub predict_in_pixels: bool,
    /// For a binary task on a multi-label source: the label (index) it predicts, so that
    /// each finding can be its own task (homogeneous multi-task learning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<usize>,
    /// A target derived from the source instead of the source itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derive: Option<Derive>,
    /// On longitudinal pairs with `pairs = "single"`: the time point this task's network
    /// sees (0 baseline, 1 follow-up; the follow-up when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_point: Option<usize>,
    /// Multi-input: the dataset this task's images and labels come from, when not the
    /// experiment's (a catalog or built-in dataset, at the experiment's size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// Trained and evaluated, but only there to help the other tasks: left out of delta_m,
    /// of the joint model selection and of every "best design" decision.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auxiliary: bool,
    /// Denoising: the kind of noise (`gaussian` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseKind>,
    /// Denoising: the noise level (Gaussian SD on the [-1, 1] image scale, or the
    /// salt-and-pepper pixel fraction; 0.2 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_level: Option<f64>,
    /// VAE: latent dimensions (64 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latent: Option<usize>,
    /// VAE: weight of the per-pixel KL term (1 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Keep the labels of only this fraction of training patients (the rest of their images
    /// train the other tasks only); validation and test stay fully labelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labelled_fraction: Option<f64>,
    /// Seed of the labelled patients' draw (0 when absent: every design and run seed sees the
    /// same patients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labelled_seed: Option<u64>,
    /// Train with the samples whose label is missing in the data (a mask file absent) as
    /// unlabelled for this task; without it a missing label is an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial_labels: bool,
}

impl TaskSpec {
    /// A task of `kind` on `source` with every option at its default.
    pub fn new(name: &str, kind: TaskKindName, source: &str) -> Self {
        TaskSpec {
            name: name.into(),
            kind,
            source: source.into(),
            positive_at_least: None,
            predict_in_pixels: false,
            label: None,
            derive: None,
            time_point: None,
            dataset: None,
            auxiliary: false,
            noise: None,
            noise_level: None,
            latent: None,
            beta: None,
            labelled_fraction: None,
            labelled_seed: None,
            partial_labels: false,
        }
    }
}

/// Targets derived from a mask source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Derive {
    /// The mask's boundary: foreground pixels with a background 4-neighbour (or on the image
    /// border), one pixel wide, as contour-aware networks (DCAN) predict object outlines.
    Contour,
}

fn default_source() -> String {
    "label".into()
}

/// A resolved task kind with its output size.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskKind {
    /// One positive/negative label (one logit, BCE).
    Binary,
    /// One of `classes` mutually exclusive classes (softmax, cross-entropy).
    MultiClass {
        /// Number of classes: the head's output width.
        classes: usize,
    },
    /// `labels` independent binary labels (one logit each, BCE).
    MultiLabel {
        /// Number of binary labels per image: the head's output width.
        labels: usize,
    },
    /// Ordered grades trained as `classes`-way classification (softmax, cross-entropy).
    Ordinal {
        /// Number of grades.
        classes: usize,
    },
    /// Ordered grades trained as regression on the grade number (one output, MSE); predictions are
    /// rounded and clipped to the `classes` grades for the classification metrics.
    OrdinalRegression {
        /// Number of grades: the range predictions are clipped to.
        classes: usize,
    },
    /// A real value (one output, MSE on standardised targets).
    Regression,
    /// `classes` counts the background: 2 for a binary mask.
    Segmentation {
        /// Number of pixel classes, background included.
        classes: usize,
    },
    /// Reproduce the input image (one output map per image channel, MSE), from the image
    /// itself, a corrupted copy or through a variational bottleneck.
    Reconstruction {
        /// Channels of the input image, and so of the output.
        channels: usize,
        /// Which of the generative kinds.
        generative: Generative,
    },
    /// The parameters of the ellipse fitted to a mask ([`ellipse_targets`]): six outputs.
    Ellipse {
        /// Image height in pixels (the unit of the parameters).
        height: usize,
        /// Image width in pixels.
        width: usize,
    },
}

impl TaskKind {
    /// The kind's name as results record it (`task_kind`, `run.json`) and suites spell it.
    pub fn name(&self) -> &'static str {
        match self {
            TaskKind::Binary => "binary",
            TaskKind::MultiClass { .. } => "multiclass",
            TaskKind::MultiLabel { .. } => "multilabel",
            TaskKind::Ordinal { .. } => "ordinal",
            TaskKind::OrdinalRegression { .. } => "ordinal-regression",
            TaskKind::Regression => "regression",
            TaskKind::Segmentation { .. } => "segmentation",
            TaskKind::Reconstruction { generative: Generative::Plain, .. } => "reconstruction",
            TaskKind::Reconstruction { generative: Generative::Denoising(_), .. } => "denoising",
            TaskKind::Reconstruction { generative: Generative::Vae(_), .. } => "vae",
            TaskKind::Ellipse { .. } => "ellipse",
        }
    }

    /// Output channels of the task's head (per image for vector tasks, per pixel for dense).
    pub fn outputs(&self) -> usize {
        match self {
            TaskKind::Binary | TaskKind::Regression | TaskKind::OrdinalRegression { .. } => 1,
            TaskKind::MultiClass { classes } | TaskKind::Ordinal { classes } => *classes,
            TaskKind::MultiLabel { labels } => *labels,
            TaskKind::Segmentation { classes } => {
                if *classes == 2 {
                    1
                } else {
                    *classes
                }
            }
            TaskKind::Reconstruction { channels, .. } => *channels,
            TaskKind::Ellipse { .. } => ELLIPSE_PARAMS,
        }
    }

    /// Classification tasks scored by AUC on probabilities.
    pub fn is_classification(&self) -> bool {
        matches!(self, TaskKind::Binary | TaskKind::MultiClass { .. } | TaskKind::MultiLabel { .. } | TaskKind::Ordinal { .. })
    }

    /// Tasks whose output is an image (a decoder head) rather than a vector.
    pub fn is_dense(&self) -> bool {
        matches!(self, TaskKind::Segmentation { .. } | TaskKind::Reconstruction { .. })
    }

    /// The corruption a denoising task's input gets.
    pub fn corruption(&self) -> Option<Corruption> {
        match self {
            TaskKind::Reconstruction { generative: Generative::Denoising(c), .. } => Some(*c),
            _ => None,
        }
    }
}

/// Per-sample targets of one task on one split.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// One class index per sample (binary, multi-class and ordinal tasks).
    Classes(Vec<u32>),
    /// `width` 0/1 labels per sample.
    MultiLabels {
        /// Labels per sample.
        width: usize,
        /// Sample-major 0/1 labels, `width` per sample.
        values: Vec<u8>,
    },
    /// One real value per sample (regression, ordinal regression), in the source's unit or, for a
    /// `predict_in_pixels` task, in pixels.
    Values(Vec<f32>),
    /// `width` real values per sample (the ellipse parameters).
    Params {
        /// Values per sample.
        width: usize,
        /// Sample-major values.
        values: Vec<f32>,
    },
    /// One class map per sample.
    Masks {
        /// Mask height in pixels.
        height: usize,
        /// Mask width in pixels.
        width: usize,
        /// Class index per pixel, sample-major then row-major.
        values: Vec<u8>,
    },
    /// The images themselves (reconstruction), NCHW.
    Images {
        /// Image channels.
        channels: usize,
        /// Image height in pixels.
        height: usize,
        /// Image width in pixels.
        width: usize,
        /// Pixel values, NCHW.
        values: Vec<f32>,
    },
}

impl Targets {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(v) => v.len(),
            Targets::MultiLabels { width, values } => values.len() / (*width).max(1),
            Targets::Values(v) => v.len(),
            Targets::Params { width, values } => values.len() / (*width).max(1),
            Targets::Masks { height, width, values } => values.len() / (height * width).max(1),
            Targets::Images { channels, height, width, values } => values.len() / (channels * height * width).max(1),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per sample (1 for scalars, pixels for masks and images).
    pub fn per_sample(&self) -> usize {
        match self {
            Targets::Classes(_) | Targets::Values(_) => 1,
            Targets::MultiLabels { width, .. } | Targets::Params { width, .. } => *width,
            Targets::Masks { height, width, .. } => height * width,
            Targets::Images { channels, height, width, .. } => channels * height * width,
        }
    }

    /// Each sample's target as f64 values (for storage in a predictions table).
    pub fn sample_values(&self, i: usize) -> Vec<f64> {
        let per = self.per_sample();
        match self {
            Targets::Classes(v) => vec![v[i] as f64],
            Targets::Values(v) => vec![v[i] as f64],
            Targets::MultiLabels { values, .. } | Targets::Masks { values, .. } => {
                values[i * per..(i + 1) * per].iter().map(|&x| x as f64).collect()
            }
            Targets::Images { values, .. } | Targets::Params { values, .. } => {
                values[i * per..(i + 1) * per].iter().map(|&x| x as f64).collect()
            }
        }
    }
}

/// A task checked against its dataset.
#[derive(Debug, Clone)]
pub struct Task {
    /// The task's name, from its spec.
    pub name: String,
    /// The kind with its sizes (classes, labels, channels) as found in the dataset.
    pub kind: TaskKind,
    /// The suite's spec the task was resolved from.
    pub spec: TaskSpec,
    /// Names of the classes (or labels) in index order, for reports; empty for regression and
    /// reconstruction.
    pub class_names: Vec<String>,
    /// Mean and standard deviation of the training targets (regression), used to
    /// normalise targets for the loss and to map predictions back to the original unit.
    pub target_scale: (f32, f32),
}

impl Task {
    /// Checks `spec` against `dataset` (the source exists, fits the kind and is valid on every
    /// split) and fixes the kind's sizes, the class names and the regression target scale.
    pub fn resolve(spec: &TaskSpec, dataset: &Dataset) -> Result<Task> {
        let bad = |msg: String| Error::Invalid(format!("task '{}': {msg}", spec.name));
        if let Some(t) = spec.time_point.filter(|&t| t >= dataset.time_points) {
            return Err(bad(format!(
                "time_point {t} does not exist: dataset '{}' has {} time point(s), numbered from 0",
                dataset.name, dataset.time_points
            )));
        }
        check_generative_options(spec).map_err(bad)?;
        if let Some(f) = spec.labelled_fraction {
            if !(f > 0.0 && f <= 1.0) {
                return Err(bad(format!("labelled_fraction {f} must be in (0, 1]")));
            }
            if matches!(spec.kind, TaskKindName::Reconstruction | TaskKindName::Denoising | TaskKindName::Vae) {
                return Err(bad("labelled_fraction applies to tasks with labels; a generative task's target is the image itself".into()));
            }
        }
        if spec.labelled_seed.is_some() && spec.labelled_fraction.is_none() {
            return Err(bad("labelled_seed only applies with labelled_fraction".into()));
        }
        check_missing_labels(spec, dataset).map_err(bad)?;
        if let Some(generative) = generative_of(spec, dataset).map_err(bad)? {
            if spec.positive_at_least.is_some() {
                return Err(bad("positive_at_least only applies to binary tasks".into()));
            }
            return Ok(Task {
                name: spec.name.clone(),
                kind: TaskKind::Reconstruction { channels: dataset.shape.channels, generative },
                spec: spec.clone(),
                class_names: vec![],
                target_scale: (0.0, 1.0),
            });
        }
        if spec.label.is_some() && spec.kind != TaskKindName::Binary {
            return Err(bad("`label` picks one label of a multi-label source for a binary task".into()));
        }
        if spec.derive.is_some() && spec.kind != TaskKindName::Segmentation {
            return Err(bad("`derive = \"contour\"` makes a segmentation task from a mask source".into()));
        }
        let source = dataset.train.source(&spec.source).ok_or_else(|| {
            let names: Vec<&str> = dataset.train.source_names().collect();
            bad(format!("dataset '{}' has no target source '{}'; it has: {}", dataset.name, spec.source, names.join(", ")))
        })?;
        let names = dataset.class_names.get(&spec.source).cloned().unwrap_or_default();
        let max = max_label(dataset, &spec.source);
        let classes = names.len().max(max as usize + 1);
        let numbered = |n: usize| (0..n).map(|c| c.to_string()).collect::<Vec<_>>();
        let (kind, class_names) = match (spec.kind, source, spec.positive_at_least) {
            (TaskKindName::Binary, SourceValues::MultiLabels { width, .. }, None) => {
                let Some(label) = spec.label.filter(|&l| l < *width) else {
                    return Err(bad(format!(
                        "source '{}' holds {width} labels ({}); set `label` to the index of the one this binary task predicts",
                        spec.source,
                        names.join(", ")
                    )));
                };
                let name = names.get(label).cloned().unwrap_or_else(|| label.to_string());
                (TaskKind::Binary, vec![format!("not {name}"), name])
            }
            (TaskKindName::Ellipse, SourceValues::Masks { height, width, .. }, None) => {
                (TaskKind::Ellipse { height: *height, width: *width }, vec![])
            }
            (TaskKindName::Binary, SourceValues::Labels(_) | SourceValues::Values(_), Some(t)) => {
                (TaskKind::Binary, vec![format!("< {t}"), format!(">= {t}")])
            }
            (TaskKindName::Binary, SourceValues::Labels(_), None) => {
                if max > 1 {
                    return Err(bad(format!("source '{}' has labels up to {max}; set positive_at_least to make it binary", spec.source)));
                }
                (TaskKind::Binary, if names.len() == 2 { names } else { numbered(2) })
            }
            (TaskKindName::Multiclass | TaskKindName::Ordinal | TaskKindName::OrdinalRegression, SourceValues::Labels(_), None) => {
                let names = if names.len() == classes { names } else { numbered(classes) };
                let kind = match spec.kind {
                    TaskKindName::Ordinal => TaskKind::Ordinal { classes },
                    TaskKindName::OrdinalRegression => TaskKind::OrdinalRegression { classes },
                    _ => TaskKind::MultiClass { classes },
                };
                (kind, names)
            }
            (TaskKindName::Multilabel, SourceValues::MultiLabels { width, .. }, None) => {
                let names = if names.len() == *width { names } else { numbered(*width) };
                (TaskKind::MultiLabel { labels: *width }, names)
            }
            (TaskKindName::Regression, SourceValues::Values(_) | SourceValues::Labels(_), None) => (TaskKind::Regression, vec![]),
            (TaskKindName::Segmentation, SourceValues::Masks { height, width, .. }, None) => {
                if (*height, *width) != (dataset.shape.height, dataset.shape.width) {
                    return Err(bad(format!("masks are {height}x{width} but images are {}x{}", dataset.shape.height, dataset.shape.width)));
                }
                if spec.derive == Some(Derive::Contour) {
                    let label = names.get(1).cloned().unwrap_or_else(|| "object".into());
                    (TaskKind::Segmentation { classes: 2 }, vec!["background".into(), format!("{label} contour")])
                } else {
                    let classes = classes.max(2);
                    (TaskKind::Segmentation { classes }, if names.len() == classes { names } else { numbered(classes) })
                }
            }
            (_, _, Some(_)) => return Err(bad("positive_at_least only applies to binary tasks".into())),
            (kind, _, None) => return Err(bad(format!("source '{}' cannot feed a {kind:?} task", spec.source))),
        };
        if spec.predict_in_pixels {
            if kind != TaskKind::Regression {
                return Err(bad("predict_in_pixels only applies to regression tasks".into()));
            }
            if !matches!(dataset.train.source(PIXEL_SIZE_SOURCE), Some(SourceValues::Values(_))) {
                return Err(bad(format!(
                    "predict_in_pixels needs a pixel size per image, and dataset '{}' has none \
                     (a folder dataset gets one from a [pixel_size] column in its spec)",
                    dataset.name
                )));
            }
        }
        let mut task = Task { name: spec.name.clone(), kind, spec: spec.clone(), class_names, target_scale: (0.0, 1.0) };
        if matches!(task.kind, TaskKind::Regression | TaskKind::OrdinalRegression { .. }) {
            let Targets::Values(train) = task.targets(&dataset.train)? else {
                return Err(bad("regression targets are not values".into()));
            };
            task.target_scale = mean_std(&train);
        }
        for split in SplitName::ALL {
            task.targets(dataset.split(split))?;
        }
        Ok(task)
    }

    /// Each sample's pixel size (mm) on `split` for a `predict_in_pixels` task, by which its
    /// targets were divided for training and its predictions are multiplied for reporting;
    /// `None` for every other task.
    pub fn pixel_sizes<'a>(&self, split: &'a Split) -> Result<Option<&'a [f32]>> {
        if !self.spec.predict_in_pixels {
            return Ok(None);
        }
        match split.source(PIXEL_SIZE_SOURCE) {
            Some(SourceValues::Values(px)) if px.iter().all(|p| p.is_finite() && *p > 0.0) => Ok(Some(px)),
            Some(SourceValues::Values(_)) => Err(Error::Invalid(format!(
                "task '{}': a pixel size is not a positive number, so the target cannot be converted to pixels",
                self.name
            ))),
            _ => Err(Error::Invalid(format!("task '{}': the split has no pixel sizes", self.name))),
        }
    }

    /// The task's targets on one split.
    pub fn targets(&self, split: &Split) -> Result<Targets> {
        if let TaskKind::Reconstruction { .. } = self.kind {
            let shape = split.shape();
            return Ok(Targets::Images {
                channels: shape.channels,
                height: shape.height,
                width: shape.width,
                values: split.images().to_vec(),
            });
        }
        let source = split
            .source(&self.spec.source)
            .ok_or_else(|| Error::Invalid(format!("task '{}': source '{}' missing", self.name, self.spec.source)))?;
        Ok(match (&self.kind, source) {
            (TaskKind::Binary, SourceValues::MultiLabels { width, values }) => {
                let label = self.spec.label.unwrap_or(0);
                Targets::Classes(values.chunks(*width).map(|row| row[label] as u32).collect())
            }
            (TaskKind::Ellipse { height, width }, SourceValues::Masks { values, .. }) => {
                Targets::Params { width: ELLIPSE_PARAMS, values: ellipse_targets(&self.name, values, *height, *width)? }
            }
            (TaskKind::Segmentation { .. }, SourceValues::Masks { height, width, values }) if self.spec.derive == Some(Derive::Contour) => {
                Targets::Masks { height: *height, width: *width, values: contours(values, *height, *width) }
            }
            (TaskKind::Binary, SourceValues::Labels(l)) => match self.spec.positive_at_least {
                Some(t) => Targets::Classes(l.iter().map(|&v| (v as f64 >= t) as u32).collect()),
                None => Targets::Classes(l.clone()),
            },
            (TaskKind::Binary, SourceValues::Values(v)) => {
                let t = self.spec.positive_at_least.unwrap_or(0.5);
                Targets::Classes(v.iter().map(|&x| (x as f64 >= t) as u32).collect())
            }
            (TaskKind::MultiClass { .. } | TaskKind::Ordinal { .. }, SourceValues::Labels(l)) => Targets::Classes(l.clone()),
            (TaskKind::MultiLabel { .. }, SourceValues::MultiLabels { width, values }) => {
                Targets::MultiLabels { width: *width, values: values.clone() }
            }
            (TaskKind::Regression, SourceValues::Values(v)) => {
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    return Err(Error::Invalid(format!("task '{}': target {i} of source '{}' is not finite", self.name, self.spec.source)));
                }
                match self.pixel_sizes(split)? {
                    Some(px) => Targets::Values(v.iter().zip(px).map(|(mm, px)| mm / px).collect()),
                    None => Targets::Values(v.clone()),
                }
            }
            (TaskKind::Regression | TaskKind::OrdinalRegression { .. }, SourceValues::Labels(l)) => {
                Targets::Values(l.iter().map(|&v| v as f32).collect())
            }
            (TaskKind::Segmentation { classes }, SourceValues::Masks { height, width, values }) => {
                if let Some(v) = values.iter().find(|&&v| v as usize >= *classes) {
                    return Err(Error::Invalid(format!("task '{}': mask value {v} outside the {classes} classes", self.name)));
                }
                Targets::Masks { height: *height, width: *width, values: values.clone() }
            }
            _ => {
                return Err(Error::Invalid(format!(
                    "task '{}': source '{}' does not fit a {} task",
                    self.name,
                    self.spec.source,
                    self.kind.name()
                )))
            }
        })
    }
}

/// Refuses a source with missing labels unless the task accepts partial labels, and kinds
/// whose targets cannot skip a sample.
fn check_missing_labels(spec: &TaskSpec, dataset: &Dataset) -> std::result::Result<(), String> {
    for split in SplitName::ALL {
        let Some(labelled) = dataset.split(split).labelled(&spec.source) else { continue };
        let missing = labelled.iter().filter(|&&l| !l).count();
        if spec.kind == TaskKindName::Ellipse {
            return Err(format!(
                "{missing} {split:?} sample(s) of source '{}' have no mask, and an ellipse task needs every mask",
                spec.source
            ));
        }
        if !spec.partial_labels {
            return Err(format!(
                "{missing} of {} {} sample(s) of dataset '{}' have no '{}' label (a mask file is missing or a table cell is empty); set \
                 partial_labels = true on the task to train and score with them unlabelled, or restore the labels",
                labelled.len(),
                split.as_str(),
                dataset.name,
                spec.source
            ));
        }
    }
    Ok(())
}

/// Refuses the generative options on kinds they do not apply to, naming the option.
fn check_generative_options(spec: &TaskSpec) -> std::result::Result<(), String> {
    let misplaced =
        |option: &str, kind: &str| Err(format!("`{option}` only applies to {kind} tasks (this one is {})", <&str>::from(spec.kind)));
    if spec.kind != TaskKindName::Denoising {
        if spec.noise.is_some() {
            return misplaced("noise", "denoising");
        }
        if spec.noise_level.is_some() {
            return misplaced("noise_level", "denoising");
        }
    }
    if spec.kind != TaskKindName::Vae {
        if spec.latent.is_some() {
            return misplaced("latent", "vae");
        }
        if spec.beta.is_some() {
            return misplaced("beta", "vae");
        }
    }
    Ok(())
}

/// The generative variant of a reconstruction-type spec, checked; `None` for other kinds.
fn generative_of(spec: &TaskSpec, dataset: &Dataset) -> std::result::Result<Option<Generative>, String> {
    Ok(Some(match spec.kind {
        TaskKindName::Reconstruction => Generative::Plain,
        TaskKindName::Denoising => {
            let default = Corruption::DEFAULT;
            let c = Corruption { noise: spec.noise.unwrap_or(default.noise), level: spec.noise_level.unwrap_or(default.level) };
            c.check()?;
            Generative::Denoising(c)
        }
        TaskKindName::Vae => {
            let v = VaeTask {
                latent: spec.latent.unwrap_or(VaeTask::DEFAULT_LATENT),
                beta: spec.beta.unwrap_or(VaeTask::DEFAULT_BETA),
                height: dataset.shape.height,
                width: dataset.shape.width,
            };
            if v.latent == 0 {
                return Err("latent must be at least 1".into());
            }
            if !(v.beta >= 0.0 && v.beta.is_finite()) {
                return Err(format!("beta {} must be a finite weight >= 0", v.beta));
            }
            Generative::Vae(v)
        }
        _ => return Ok(None),
    }))
}

/// Values per sample of an ellipse task: centre x and y, semi-major and semi-minor axis as
/// fractions of the image width (x, axes) and height (y), and `cos 2t`, `sin 2t` of the
/// major axis's angle `t` (which has period pi: an ellipse turned by pi is the same).
pub const ELLIPSE_PARAMS: usize = 6;

/// The ellipse parameters of every mask (`values`, sample-major `height x width` maps) in
/// the encoding of [`ELLIPSE_PARAMS`]; an error names the first mask no ellipse fits.
pub fn ellipse_targets(task: &str, values: &[u8], height: usize, width: usize) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(values.len() / (height * width).max(1) * ELLIPSE_PARAMS);
    for (i, mask) in values.chunks(height * width).enumerate() {
        let e = crate::data::ellipse::fit_mask_ellipse(mask, width, height, 1.0, 1.0).ok_or_else(|| {
            Error::Invalid(format!("task '{task}': no ellipse fits mask {i} (it needs a foreground with at least 6 boundary pixels)"))
        })?;
        out.extend(encode_ellipse(&e, height, width));
    }
    Ok(out)
}

/// An ellipse (pixel units) in the encoding of [`ELLIPSE_PARAMS`].
pub fn encode_ellipse(e: &crate::data::ellipse::Ellipse, height: usize, width: usize) -> [f32; ELLIPSE_PARAMS] {
    let (a, b, t) = if e.a >= e.b { (e.a, e.b, e.angle) } else { (e.b, e.a, e.angle + std::f64::consts::FRAC_PI_2) };
    let (w, h) = (width as f64, height as f64);
    [(e.cx / w) as f32, (e.cy / h) as f32, (a / w) as f32, (b / w) as f32, (2.0 * t).cos() as f32, (2.0 * t).sin() as f32]
}

/// The ellipse (pixel units) that six encoded parameters stand for; semi-axes are kept
/// non-negative and the angle is recovered from its doubled-angle direction.
pub fn decode_ellipse(p: &[f32], height: usize, width: usize) -> crate::data::ellipse::Ellipse {
    let (w, h) = (width as f64, height as f64);
    let angle = 0.5 * (p[5] as f64).atan2(p[4] as f64);
    crate::data::ellipse::Ellipse {
        cx: p[0] as f64 * w,
        cy: p[1] as f64 * h,
        a: (p[2] as f64 * w).abs(),
        b: (p[3] as f64 * w).abs(),
        angle,
    }
}

/// The one-pixel inner boundary of each mask: foreground pixels with a background
/// 4-neighbour or on the image border.
pub fn contours(values: &[u8], height: usize, width: usize) -> Vec<u8> {
    let mut out = vec![0u8; values.len()];
    for (mask, dst) in values.chunks(height * width).zip(out.chunks_mut(height * width)) {
        for y in 0..height {
            for x in 0..width {
                if mask[y * width + x] == 0 {
                    continue;
                }
                let edge = x == 0 || y == 0 || x + 1 == width || y + 1 == height;
                let touches = edge
                    || mask[y * width + x - 1] == 0
                    || mask[y * width + x + 1] == 0
                    || mask[(y - 1) * width + x] == 0
                    || mask[(y + 1) * width + x] == 0;
                dst[y * width + x] = touches as u8;
            }
        }
    }
    out
}

fn max_label(dataset: &Dataset, source: &str) -> u32 {
    SplitName::ALL
        .iter()
        .filter_map(|&s| match dataset.split(s).source(source) {
            Some(SourceValues::Labels(l)) => l.iter().copied().max(),
            Some(SourceValues::Masks { values, .. }) => values.iter().copied().max().map(u32::from),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

fn mean_std(values: &[f32]) -> (f32, f32) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    (mean as f32, if std > 1e-12 { std as f32 } else { 1.0 })
}
