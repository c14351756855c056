//! Tasks: what a head predicts, from which target source, with which loss and metrics.
//!
//! A suite names tasks by kind and target source; [`Task::resolve`] checks them against the
//! loaded dataset (the source exists and fits the kind) before any training starts.

mod loss;

pub use loss::{bce_with_logits, task_loss};

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, SourceValues, Split, SplitName};
use crate::{Error, Result};

/// The kinds of task medmtl trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKindName {
    Binary,
    Multiclass,
    /// Ordered grades, trained as classification (MedMNIST's convention for RetinaMNIST).
    Ordinal,
    Regression,
}

impl TaskKindName {
    pub const NAMES: [&'static str; 4] = ["binary", "multiclass", "ordinal", "regression"];
}

/// A task as a suite writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub name: String,
    pub kind: TaskKindName,
    /// The dataset's target source (MedMNIST: `label`; phantoms: `shape`, `area`, `mask`).
    #[serde(default = "default_source")]
    pub source: String,
    /// Makes a binary task from a graded or real-valued source: positive when the source
    /// value is at least this (e.g. referable diabetic retinopathy = grade >= 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive_at_least: Option<f64>,
}

fn default_source() -> String {
    "label".into()
}

/// A resolved task kind with its output size.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskKind {
    Binary,
    MultiClass { classes: usize },
    Ordinal { classes: usize },
    Regression,
}

impl TaskKind {
    pub fn name(&self) -> &'static str {
        match self {
            TaskKind::Binary => "binary",
            TaskKind::MultiClass { .. } => "multiclass",
            TaskKind::Ordinal { .. } => "ordinal",
            TaskKind::Regression => "regression",
        }
    }

    /// Number of outputs of the task's head.
    pub fn outputs(&self) -> usize {
        match self {
            TaskKind::Binary | TaskKind::Regression => 1,
            TaskKind::MultiClass { classes } | TaskKind::Ordinal { classes } => *classes,
        }
    }

    pub fn is_classification(&self) -> bool {
        !matches!(self, TaskKind::Regression)
    }
}

/// Per-sample targets of one task on one split.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    Classes(Vec<u32>),
    Values(Vec<f32>),
}

impl Targets {
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(v) => v.len(),
            Targets::Values(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A task checked against its dataset.
#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub kind: TaskKind,
    pub spec: TaskSpec,
    pub class_names: Vec<String>,
    /// Mean and standard deviation of the training targets (regression), used to
    /// normalise targets for the loss and to map predictions back to the original unit.
    pub target_scale: (f32, f32),
}

impl Task {
    pub fn resolve(spec: &TaskSpec, dataset: &Dataset) -> Result<Task> {
        let bad = |msg: String| Error::Invalid(format!("task '{}': {msg}", spec.name));
        let source = dataset.train.source(&spec.source).ok_or_else(|| {
            let names: Vec<&str> = dataset.train.source_names().collect();
            bad(format!(
                "dataset '{}' has no target source '{}'; it has: {}",
                dataset.name,
                spec.source,
                names.join(", ")
            ))
        })?;
        let names = dataset.class_names.get(&spec.source).cloned().unwrap_or_default();
        let (kind, class_names) = match (spec.kind, source, spec.positive_at_least) {
            (TaskKindName::Binary, SourceValues::Labels(_) | SourceValues::Values(_), Some(t)) => {
                (TaskKind::Binary, vec![format!("< {t}"), format!(">= {t}")])
            }
            (TaskKindName::Binary, SourceValues::Labels(_), None) => {
                let max = max_label(dataset, &spec.source);
                if max > 1 {
                    return Err(bad(format!(
                        "source '{}' has labels up to {max}; set positive_at_least to make it binary",
                        spec.source
                    )));
                }
                (TaskKind::Binary, if names.len() == 2 { names } else { vec!["0".into(), "1".into()] })
            }
            (TaskKindName::Multiclass | TaskKindName::Ordinal, SourceValues::Labels(_), None) => {
                let classes = names.len().max(max_label(dataset, &spec.source) as usize + 1);
                let names = if names.len() == classes {
                    names
                } else {
                    (0..classes).map(|c| c.to_string()).collect()
                };
                let kind = if spec.kind == TaskKindName::Ordinal {
                    TaskKind::Ordinal { classes }
                } else {
                    TaskKind::MultiClass { classes }
                };
                (kind, names)
            }
            (TaskKindName::Regression, SourceValues::Values(_) | SourceValues::Labels(_), None) => {
                (TaskKind::Regression, vec![])
            }
            (_, _, Some(_)) => {
                return Err(bad("positive_at_least only applies to binary tasks".into()))
            }
            (kind, _, None) => {
                return Err(bad(format!(
                    "source '{}' cannot feed a {kind:?} task",
                    spec.source
                )))
            }
        };
        let mut task = Task {
            name: spec.name.clone(),
            kind,
            spec: spec.clone(),
            class_names,
            target_scale: (0.0, 1.0),
        };
        if task.kind == TaskKind::Regression {
            let Targets::Values(train) = task.targets(&dataset.train)? else { unreachable!() };
            task.target_scale = mean_std(&train);
        }
        for split in SplitName::ALL {
            task.targets(dataset.split(split))?;
        }
        Ok(task)
    }

    /// The task's targets on one split.
    pub fn targets(&self, split: &Split) -> Result<Targets> {
        let source = split.source(&self.spec.source).ok_or_else(|| {
            Error::Invalid(format!("task '{}': source '{}' missing", self.name, self.spec.source))
        })?;
        Ok(match (&self.kind, source) {
            (TaskKind::Binary, SourceValues::Labels(l)) => match self.spec.positive_at_least {
                Some(t) => Targets::Classes(l.iter().map(|&v| (v as f64 >= t) as u32).collect()),
                None => Targets::Classes(l.clone()),
            },
            (TaskKind::Binary, SourceValues::Values(v)) => {
                let t = self.spec.positive_at_least.unwrap_or(0.5);
                Targets::Classes(v.iter().map(|&x| (x as f64 >= t) as u32).collect())
            }
            (TaskKind::MultiClass { .. } | TaskKind::Ordinal { .. }, SourceValues::Labels(l)) => {
                Targets::Classes(l.clone())
            }
            (TaskKind::Regression, SourceValues::Values(v)) => {
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    return Err(Error::Invalid(format!(
                        "task '{}': target {i} of source '{}' is not finite",
                        self.name, self.spec.source
                    )));
                }
                Targets::Values(v.clone())
            }
            (TaskKind::Regression, SourceValues::Labels(l)) => {
                Targets::Values(l.iter().map(|&v| v as f32).collect())
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

fn max_label(dataset: &Dataset, source: &str) -> u32 {
    SplitName::ALL
        .iter()
        .filter_map(|&s| match dataset.split(s).source(source) {
            Some(SourceValues::Labels(l)) => l.iter().copied().max(),
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
