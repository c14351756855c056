//! The TOML spec of a longitudinal dataset: per patient, one scan and one mask per time
//! point, as NIfTI volumes, paired through file patterns with `{patient}` and `{time}`.
//!
//! See `datasets/brain-tumor-progression.toml` for a complete, commented example. Every
//! table rejects unknown keys, so a typo is an error that names the key.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A complete longitudinal-dataset spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongitudinalSpec {
    /// What the data are and where they come from.
    pub dataset: LongitudinalInfo,
    /// Which files belong to which patient and time point.
    pub pairs: PairSpec,
    /// Which 2-D slices of the volumes become samples.
    #[serde(default)]
    pub slices: SliceSpec,
    /// Per-volume intensity normalisation of the scans.
    #[serde(default)]
    pub normalize: VolumeNormalize,
    /// A CSV table with each patient's examination dates (optional).
    #[serde(default)]
    pub dates: Option<DatesSpec>,
    /// The md5 of every file of the known copy, by path relative to the dataset folder; a
    /// file that differs is refused unless unverified data are allowed.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// Catalog facts of a longitudinal dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongitudinalInfo {
    /// Short name; the data live in `<data dir>/<name>/`.
    pub name: String,
    /// Full title of the dataset (the report's dataset description).
    #[serde(default)]
    pub title: String,
    /// Where to download the data from (shown when they are missing).
    pub download: String,
    /// What to do by hand after downloading.
    #[serde(default)]
    pub download_steps: Option<String>,
    /// The data's licence.
    pub license: String,
    /// How to cite the data.
    pub citation: String,
}

/// How files pair up: `scan` and `mask` are paths relative to the dataset folder with the
/// placeholders `{patient}` (every sub-folder name matching `patients`) and `{time}` (each
/// entry of `time_points`, in order: the first is the baseline examination).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairSpec {
    /// Time-point names as they appear in the file names, earliest first (exactly two).
    pub time_points: Vec<String>,
    /// The scan of a patient at a time point, e.g. `{patient}/{time}_Scan_T1.nii.gz`.
    pub scan: String,
    /// The lesion mask of a patient at a time point, on the scan's voxel grid.
    pub mask: String,
}

/// Which slices of a volume pair become samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliceSpec {
    /// The axis slices are taken along (0, 1 or 2; 2 = the NIfTI slice axis).
    #[serde(default = "default_axis")]
    pub axis: usize,
    /// Keep only slices with lesion at either time point (plus `empty_share`); `false`
    /// keeps every slice.
    #[serde(default = "yes")]
    pub lesion_only: bool,
    /// With `lesion_only`: also keep this many lesion-free slices per lesion slice of the
    /// same patient (drawn with the experiment's fold seed), so a network also sees "no
    /// lesion at either time".
    #[serde(default)]
    pub empty_share: f64,
}

fn default_axis() -> usize {
    2
}

fn yes() -> bool {
    true
}

impl Default for SliceSpec {
    fn default() -> Self {
        SliceSpec { axis: 2, lesion_only: true, empty_share: 0.0 }
    }
}

/// Intensity normalisation of each scan volume on its own (MRI intensities have no
/// absolute scale): the `low` and `high` percentiles of the volume's non-zero voxels map to
/// -1 and 1, values beyond are clipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeNormalize {
    /// Lower percentile (0-100) mapped to -1.
    pub low: f64,
    /// Upper percentile (0-100) mapped to 1.
    pub high: f64,
}

impl Default for VolumeNormalize {
    fn default() -> Self {
        VolumeNormalize { low: 1.0, high: 99.0 }
    }
}

/// A CSV table (relative to the dataset folder) with a row per patient and one date column
/// per time point (`YYYY-MM-DD`); the interval between the first and the last becomes the
/// per-sample source `interval_days`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatesSpec {
    /// The CSV file.
    pub file: String,
    /// The column holding the patient id, as in `{patient}`.
    pub id_column: String,
    /// One date column per time point, in the order of `pairs.time_points`.
    pub columns: Vec<String>,
}

/// Patient-level cross-validation: patients are dealt into `k` folds in a seeded order;
/// fold `test` is the test split, the first `val_patients` of the remaining patients (in
/// that order) validate, the rest train. No patient is in two splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientFolds {
    /// Number of folds.
    pub k: usize,
    /// The fold tested on (0-based).
    pub test: usize,
    /// Patients held out of training for model selection.
    #[serde(default = "one")]
    pub val_patients: usize,
    /// Seed of the order patients are dealt into folds (and of the lesion-free slices kept).
    #[serde(default)]
    pub seed: u64,
}

fn one() -> usize {
    1
}

impl PatientFolds {
    /// Checks the fold numbers.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.k < 2 {
            return Err(format!("folds.k is {}; use 2 or more", self.k));
        }
        if self.test >= self.k {
            return Err(format!("folds.test is {} but folds are numbered 0..{}", self.test, self.k - 1));
        }
        if self.val_patients == 0 {
            return Err("folds.val_patients must be at least 1 (model selection needs a validation split)".into());
        }
        Ok(())
    }
}

/// The specs compiled into medmtl, by dataset name.
pub const EMBEDDED_LONGITUDINAL: &[(&str, &str)] =
    &[("brain-tumor-progression", include_str!("../../../datasets/brain-tumor-progression.toml"))];

/// The names of the embedded longitudinal specs.
pub fn embedded_longitudinal_names() -> Vec<&'static str> {
    EMBEDDED_LONGITUDINAL.iter().map(|(n, _)| *n).collect()
}

/// The embedded spec of `name`.
pub fn embedded_longitudinal_spec(name: &str) -> Result<LongitudinalSpec> {
    let (_, text) = EMBEDDED_LONGITUDINAL
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| Error::unknown("longitudinal dataset", name, &embedded_longitudinal_names()))?;
    parse_longitudinal_spec(text, Path::new(&format!("datasets/{name}.toml")))
}

/// Whether spec text describes a longitudinal dataset (it has a `[pairs]` table) rather than a
/// folder dataset.
pub fn is_longitudinal_spec(text: &str) -> bool {
    text.parse::<toml::Table>().is_ok_and(|t| t.contains_key("pairs"))
}

/// Parses and validates spec text; `origin` names it in errors.
pub fn parse_longitudinal_spec(text: &str, origin: &Path) -> Result<LongitudinalSpec> {
    let spec: LongitudinalSpec = toml::from_str(text).map_err(|e| Error::config(origin, e.to_string()))?;
    spec.validate().map_err(|m| Error::config(origin, m))?;
    Ok(spec)
}

impl LongitudinalSpec {
    /// Checks everything that can be checked without the data.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let name = &self.dataset.name;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(format!("dataset.name '{name}' must be letters, digits, '-' or '_'"));
        }
        if self.pairs.time_points.len() != 2 {
            return Err(format!("pairs.time_points has {} entries; medmtl pairs exactly two time points", self.pairs.time_points.len()));
        }
        for (what, pattern) in [("pairs.scan", &self.pairs.scan), ("pairs.mask", &self.pairs.mask)] {
            if !pattern.contains("{patient}") || !pattern.contains("{time}") {
                return Err(format!("{what} '{pattern}' must contain both {{patient}} and {{time}}"));
            }
            if !pattern.starts_with("{patient}/") {
                return Err(format!("{what} '{pattern}' must start with '{{patient}}/' (one folder per patient)"));
            }
        }
        if self.slices.axis > 2 {
            return Err(format!("slices.axis is {}; use 0, 1 or 2", self.slices.axis));
        }
        if !(0.0..=10.0).contains(&self.slices.empty_share) {
            return Err(format!("slices.empty_share is {}; use a value in [0, 10]", self.slices.empty_share));
        }
        let n = &self.normalize;
        if !(0.0..100.0).contains(&n.low) || !(0.0..=100.0).contains(&n.high) || n.low >= n.high {
            return Err(format!("normalize: low {} and high {} must be percentiles with low < high", n.low, n.high));
        }
        if let Some(d) = &self.dates {
            if d.columns.len() != self.pairs.time_points.len() {
                return Err(format!(
                    "dates.columns has {} entries, one per time point ({}) is needed",
                    d.columns.len(),
                    self.pairs.time_points.len()
                ));
            }
        }
        Ok(())
    }

    /// The path (relative to the dataset folder) of `pattern` for one patient and time.
    pub fn path_of(pattern: &str, patient: &str, time: &str) -> String {
        pattern.replace("{patient}", patient).replace("{time}", time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_spec_parses_and_lists_every_staged_file() {
        let spec = embedded_longitudinal_spec("brain-tumor-progression").unwrap();
        assert_eq!(spec.pairs.time_points, ["Pre", "Post"]);
        // 11 patients x 2 time points x (scan + mask) + the dates table.
        assert_eq!(spec.files.len(), 45);
        assert!(spec.files.values().all(|m| m.len() == 32));
    }

    #[test]
    fn typos_and_bad_values_are_refused_naming_the_key() {
        let good = include_str!("../../../datasets/brain-tumor-progression.toml");
        let typo = good.replace("lesion_only", "lesion_olny");
        let e = parse_longitudinal_spec(&typo, Path::new("x.toml")).unwrap_err().to_string();
        assert!(e.contains("lesion_olny") && e.contains("x.toml"), "{e}");
        let axis = good.replace("axis = 2", "axis = 3");
        let e = parse_longitudinal_spec(&axis, Path::new("x.toml")).unwrap_err().to_string();
        assert!(e.contains("slices.axis"), "{e}");
        let folds = PatientFolds { k: 3, test: 3, val_patients: 1, seed: 0 };
        assert!(folds.check().unwrap_err().contains("folds.test"));
    }
}
