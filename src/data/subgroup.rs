//! Subgroups of samples: by a categorical target source (a CSV column such as BUS-BRA's
//! `Device`) or by bins of a numeric one (HC18's head circumference), for results per
//! subgroup and for train-on-one, test-on-another shift experiments. A single pooled number
//! hides the failures that matter to medical readers: per scanner, per gestational range.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, SourceValues, Split};
use crate::{Error, Result};

/// How samples are grouped: the classes of a categorical source, or bins of a numeric one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubgroupSpec {
    /// The target source that defines the groups.
    pub source: String,
    /// For a numeric source: bin edges, ascending; bin k holds `edges[k] <= v < edges[k+1]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bins: Option<Vec<f64>>,
    /// Names of the bins (one fewer than the edges); `lo-hi` where absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
}

/// A distribution shift: train (and select) on some groups, test on others. The test split
/// keeps the test samples of both, labelled [`IN_DISTRIBUTION`] and [`SHIFTED`], so one
/// trained model shows how much it loses out of distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftSpec {
    /// The target source that defines the groups.
    pub source: String,
    /// For a numeric source: bin edges (as [`SubgroupSpec::bins`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bins: Option<Vec<f64>>,
    /// Names of the bins (as [`SubgroupSpec::names`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// Groups (as [`labels`] names them) whose samples are trained and validated on.
    pub train: Vec<String>,
    /// Groups whose samples are tested on as the shifted subgroup.
    pub test: Vec<String>,
}

/// The subgroup of a shift experiment's test samples from the training groups.
pub const IN_DISTRIBUTION: &str = "in-distribution";
/// The subgroup of a shift experiment's test samples from the held-out groups.
pub const SHIFTED: &str = "shifted";

impl SubgroupSpec {
    /// Checks the bins (at least two finite, ascending edges) and their names.
    pub fn check(&self) -> std::result::Result<(), String> {
        if let Some(b) = &self.bins {
            if b.len() < 2 || b.iter().any(|v| !v.is_finite()) || b.windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!("bins {b:?} must be at least two finite, ascending edges"));
            }
        }
        match (&self.bins, &self.names) {
            (Some(b), Some(n)) if n.len() + 1 != b.len() => {
                Err(format!("{} bin edges make {} bins but {} names are given", b.len(), b.len() - 1, n.len()))
            }
            (None, Some(_)) => Err("`names` name bins; give `bins` too".into()),
            _ => Ok(()),
        }
    }

    /// The group label of a value of a numeric source, if a bin holds it.
    pub fn bin_of(&self, edges: &[f64], x: f64) -> Option<String> {
        let k = edges.windows(2).position(|w| w[0] <= x && x < w[1])?;
        Some(match &self.names {
            Some(names) => names[k].clone(),
            None => format!("{}-{}", edges[k], edges[k + 1]),
        })
    }
}

impl ShiftSpec {
    /// How the shift groups samples.
    pub fn grouping(&self) -> SubgroupSpec {
        SubgroupSpec { source: self.source.clone(), bins: self.bins.clone(), names: self.names.clone() }
    }

    /// Checks the grouping and that train and test groups are given and disjoint.
    pub fn check(&self) -> std::result::Result<(), String> {
        self.grouping().check()?;
        if self.train.is_empty() || self.test.is_empty() {
            return Err("a shift needs at least one `train` and one `test` group".into());
        }
        if let Some(g) = self.train.iter().find(|g| self.test.contains(g)) {
            return Err(format!("group '{g}' is both a train and a test group"));
        }
        Ok(())
    }
}

/// Every sample's group label on `split`: the class name of a categorical source, or the bin
/// of a numeric one. An error names the source and what is wrong (a numeric source without
/// bins, a value outside every bin).
pub fn labels(dataset: &Dataset, split: &Split, spec: &SubgroupSpec) -> Result<Vec<String>> {
    let source = spec.source.as_str();
    let bad = |msg: String| Error::Invalid(format!("subgroups by '{source}': {msg}"));
    spec.check().map_err(bad)?;
    match (split.source(source), spec.bins.as_deref()) {
        (Some(SourceValues::Labels(l)), None) => {
            let names = dataset.class_names.get(source);
            Ok(l.iter().map(|&c| names.and_then(|n| n.get(c as usize)).cloned().unwrap_or_else(|| c.to_string())).collect())
        }
        (Some(SourceValues::Values(v)), Some(edges)) => v
            .iter()
            .map(|&x| spec.bin_of(edges, x as f64).ok_or_else(|| bad(format!("value {x} lies outside the bins {edges:?}"))))
            .collect(),
        (Some(SourceValues::Values(_)), None) => Err(bad("a numeric source needs `bins`".into())),
        (Some(SourceValues::Labels(_)), Some(_)) => Err(bad("`bins` only apply to a numeric source".into())),
        (Some(_), _) => Err(bad("only a categorical or a numeric source can define subgroups".into())),
        (None, _) => {
            let names: Vec<&str> = split.source_names().collect();
            Err(bad(format!("dataset '{}' has no such target source; it has: {}", dataset.name, names.join(", "))))
        }
    }
}

/// The dataset a shift experiment trains and tests on, and the subgroup of each test sample:
/// train and validation samples of the `train` groups; test samples of the `train` groups
/// ([`IN_DISTRIBUTION`]) and of the `test` groups ([`SHIFTED`]). An error names a group
/// with no sample.
pub fn shifted(dataset: &Dataset, shift: &ShiftSpec) -> Result<(Dataset, Vec<String>)> {
    let grouping = shift.grouping();
    shift.check().map_err(|m| Error::Invalid(format!("shift by '{}': {m}", shift.source)))?;
    let keep = |split: &Split, groups: &[&String], what: &str| -> Result<(Split, Vec<String>)> {
        let labels = labels(dataset, split, &grouping)?;
        let present: BTreeSet<&String> = labels.iter().collect();
        if let Some(g) = groups.iter().find(|g| !present.contains(*g)) {
            return Err(Error::Invalid(format!(
                "shift by '{}': no {what} sample lies in group '{g}'; the groups there are: {}",
                shift.source,
                present.into_iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let idx: Vec<usize> = (0..labels.len()).filter(|&i| groups.contains(&&labels[i])).collect();
        let kept = idx.iter().map(|&i| labels[i].clone()).collect();
        Ok((split.select(&idx), kept))
    };
    let train_groups: Vec<&String> = shift.train.iter().collect();
    let all: Vec<&String> = shift.train.iter().chain(&shift.test).collect();
    let (train, _) = keep(&dataset.train, &train_groups, "training")?;
    let (val, _) = keep(&dataset.val, &train_groups, "validation")?;
    let (test, groups) = keep(&dataset.test, &all, "test")?;
    let subgroups = groups.iter().map(|g| if shift.train.contains(g) { IN_DISTRIBUTION } else { SHIFTED }.to_owned()).collect();
    Ok((Dataset { train, val, test, ..dataset.clone() }, subgroups))
}

/// The data an experiment runs on and the subgroup of each of its test samples: `dataset`
/// itself with `subgroups`, its shifted version with `shift`, and no subgroups otherwise.
pub fn prepare(dataset: Dataset, subgroups: Option<&SubgroupSpec>, shift: Option<&ShiftSpec>) -> Result<(Dataset, Option<Vec<String>>)> {
    match (subgroups, shift) {
        (_, Some(shift)) => shifted(&dataset, shift).map(|(d, groups)| (d, Some(groups))),
        (Some(spec), None) => {
            let groups = labels(&dataset, &dataset.test, spec)?;
            Ok((dataset, Some(groups)))
        }
        (None, None) => Ok((dataset, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::phantoms::{generate, PhantomConfig};

    fn by(source: &str, bins: Option<Vec<f64>>) -> SubgroupSpec {
        SubgroupSpec { source: source.into(), bins, names: None }
    }

    #[test]
    fn labels_from_classes_and_bins() {
        let d = generate(&PhantomConfig { size: 12, train: 64, val: 32, test: 32, seed: 1, noise: 0.2, relatedness: None }).unwrap();
        let shapes = labels(&d, &d.test, &by("shape", None)).unwrap();
        assert!(shapes.iter().all(|s| ["ellipse", "rectangle", "triangle"].contains(&s.as_str())));
        let areas = labels(&d, &d.test, &by("area", Some(vec![0.0, 0.1, 1.0]))).unwrap();
        assert!(areas.iter().all(|s| s == "0-0.1" || s == "0.1-1"), "{areas:?}");
        let named = SubgroupSpec { names: Some(vec!["small".into(), "large".into()]), ..by("area", Some(vec![0.0, 0.1, 1.0])) };
        let named = labels(&d, &d.test, &named).unwrap();
        assert!(named.iter().zip(&areas).all(|(n, a)| (n == "small") == (a == "0-0.1")));
        assert!(labels(&d, &d.test, &by("area", None)).unwrap_err().to_string().contains("needs `bins`"));
        assert!(labels(&d, &d.test, &by("area", Some(vec![0.5, 0.2]))).is_err());
        assert!(labels(&d, &d.test, &by("nothing", None)).unwrap_err().to_string().contains("it has:"));
        let wrong_names = SubgroupSpec { names: Some(vec!["one".into()]), ..by("area", Some(vec![0.0, 0.1, 1.0])) };
        assert!(wrong_names.check().unwrap_err().contains("2 bins but 1 names"));
    }

    #[test]
    fn a_shift_trains_on_its_groups_and_tests_on_both() {
        let d = generate(&PhantomConfig { size: 12, train: 64, val: 32, test: 32, seed: 1, noise: 0.2, relatedness: None }).unwrap();
        let shapes = labels(&d, &d.test, &by("shape", None)).unwrap();
        let shift = ShiftSpec {
            source: "shape".into(),
            bins: None,
            names: None,
            train: vec!["ellipse".into(), "rectangle".into()],
            test: vec!["triangle".into()],
        };
        let (s, groups) = shifted(&d, &shift).unwrap();
        assert!(labels(&s, &s.train, &by("shape", None)).unwrap().iter().all(|l| l != "triangle"));
        assert!(labels(&s, &s.val, &by("shape", None)).unwrap().iter().all(|l| l != "triangle"));
        assert_eq!(s.test.len(), d.test.len());
        let test_shapes = labels(&s, &s.test, &by("shape", None)).unwrap();
        assert_eq!(test_shapes, shapes);
        for (shape, group) in test_shapes.iter().zip(&groups) {
            assert_eq!(group == SHIFTED, shape == "triangle");
        }
        let empty = ShiftSpec { test: vec!["hexagon".into()], ..shift.clone() };
        assert!(shifted(&d, &empty).unwrap_err().to_string().contains("hexagon"));
        let overlap = ShiftSpec { test: vec!["ellipse".into()], ..shift };
        assert!(overlap.check().unwrap_err().contains("both"));
    }
}
