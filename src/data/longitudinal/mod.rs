//! Longitudinal data: a patient's images at two time points, paired slice by slice.
//!
//! A sample is a pair (baseline, follow-up) of 2-D slices at the same slice index of two
//! registered volumes, stored as a two-channel image (channel 0 = baseline), so every loader
//! downstream stays unchanged; designs that treat the channels as time points (the Siamese
//! encoders of [`crate::model::arch::pairs`]) read `Dataset::time_points`. Target sources:
//! - `mask_t0`, `mask_t1`: the lesion masks at each time point (binary segmentation);
//! - `change`: the change map (0 unchanged, 1 new lesion, 2 vanished lesion; 3-class
//!   segmentation);
//! - `area_change`: `ln((area_t1 + 1) / (area_t0 + 1))`, areas in pixels (regression);
//! - `grows`: 1 when the lesion area grows by more than [`change::GROWTH_FACTOR`] (binary);
//! - `patient` (real data): the patient, for per-patient results;
//! - `interval_days` (when dates are known): days between the examinations.
//!
//! Splits are by patient only ([`spec::PatientFolds`]); a test checks that no patient is in
//! two splits.

pub mod change;
pub mod phantoms;
pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fast_image_resize::{images::Image, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use self::change::{PairSplitBuilder, CHANGE_NAMES};
use self::spec::{LongitudinalSpec, PatientFolds};
use super::fetch::{md5_file, DataSources};
use super::folder::resize::resize;
use super::folder::spec::Fit;
use super::nifti::{check_same_grid, read_volume, Volume};
use super::png_io::Raster;
use super::{Dataset, ImageShape, Provenance, SplitName};
use crate::{Error, Result};

/// The mask sources of the two time points.
pub const MASK_SOURCES: [&str; 2] = ["mask_t0", "mask_t1"];
/// The change-map source (3 classes, [`change::CHANGE_NAMES`]).
pub const CHANGE_SOURCE: &str = "change";
/// The log area ratio source.
pub const AREA_CHANGE_SOURCE: &str = "area_change";
/// The "lesion grows" source.
pub const GROWS_SOURCE: &str = "grows";
/// The patient of each sample (real data).
pub const PATIENT_SOURCE: &str = "patient";
/// Days between the two examinations (when the spec has dates).
pub const INTERVAL_SOURCE: &str = "interval_days";

/// Class names shared by every longitudinal dataset.
fn class_names() -> BTreeMap<String, Vec<String>> {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    BTreeMap::from([
        (MASK_SOURCES[0].to_owned(), names(&["background", "lesion"])),
        (MASK_SOURCES[1].to_owned(), names(&["background", "lesion"])),
        (CHANGE_SOURCE.to_owned(), names(&CHANGE_NAMES)),
        (GROWS_SOURCE.to_owned(), names(&["stable or shrinks", "grows"])),
    ])
}

/// The patients of each split under `folds`: patients (sorted names) are shuffled with the
/// fold seed and dealt round-robin into `k` folds.
pub fn assign_patients(patients: &[String], folds: &PatientFolds) -> Result<BTreeMap<String, SplitName>> {
    folds.check().map_err(Error::Invalid)?;
    if patients.len() < folds.k {
        return Err(Error::Invalid(format!("{} patients cannot fill {} folds", patients.len(), folds.k)));
    }
    let mut order: Vec<&String> = patients.iter().collect();
    order.sort();
    order.dedup();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(folds.seed));
    let mut out = BTreeMap::new();
    let mut val_left = folds.val_patients;
    for (i, p) in order.iter().enumerate() {
        let split = if i % folds.k == folds.test {
            SplitName::Test
        } else if val_left > 0 {
            val_left -= 1;
            SplitName::Val
        } else {
            SplitName::Train
        };
        out.insert((*p).clone(), split);
    }
    if !out.values().any(|s| *s == SplitName::Train) {
        return Err(Error::Invalid(format!(
            "folds k = {}, val_patients = {} leave no training patient among {}",
            folds.k,
            folds.val_patients,
            patients.len()
        )));
    }
    Ok(out)
}

/// Loads a longitudinal dataset: pairs of slices resized to `size x size`, split by patient.
pub fn load_longitudinal(spec: &LongitudinalSpec, size: u32, folds: &PatientFolds, sources: &DataSources) -> Result<Dataset> {
    let info = &spec.dataset;
    let probe = spec.files.keys().next().cloned().or_else(|| spec.dates.as_ref().map(|d| d.file.clone())).unwrap_or_else(|| ".".into());
    let root = sources.locate_folder(&info.name, &probe, &info.download, info.download_steps.as_deref())?;
    let patients = list_patients(&root, spec)?;
    let splits = assign_patients(&patients, folds)?;
    let mut provenance = Provenance { files: vec![], verified: true, citation: info.citation.clone(), license: info.license.clone() };
    let mut verify = |rel: &str| -> Result<PathBuf> {
        let path = root.join(rel);
        let actual = md5_file(&path)?;
        match spec.files.get(rel) {
            Some(expected) if !expected.eq_ignore_ascii_case(&actual) => {
                if !sources.allow_unverified {
                    return Err(Error::Checksum { file: path, expected: expected.clone(), actual });
                }
                provenance.verified = false;
            }
            None if !spec.files.is_empty() => provenance.verified = false,
            _ => {}
        }
        provenance.files.push((rel.to_owned(), actual));
        Ok(path)
    };
    let intervals = match &spec.dates {
        Some(d) => Some(read_intervals(&verify(&d.file)?, d)?),
        None => None,
    };
    let size = size as usize;
    let mut builders: BTreeMap<SplitName, PairSplitBuilder> =
        SplitName::ALL.iter().map(|&s| (s, PairSplitBuilder::new(size, size, true, intervals.is_some()))).collect();
    let times = &spec.pairs.time_points;
    for (index, patient) in patients.iter().enumerate() {
        let read = |pattern: &str, t: usize, verify: &mut dyn FnMut(&str) -> Result<PathBuf>| -> Result<(PathBuf, Volume)> {
            let path = verify(&LongitudinalSpec::path_of(pattern, patient, &times[t]))?;
            let volume = read_volume(&path)?;
            Ok((path, volume))
        };
        let (scan0_path, mut scan0) = read(&spec.pairs.scan, 0, &mut verify)?;
        let (scan1_path, mut scan1) = read(&spec.pairs.scan, 1, &mut verify)?;
        let (mask0_path, mask0) = read(&spec.pairs.mask, 0, &mut verify)?;
        let (mask1_path, mask1) = read(&spec.pairs.mask, 1, &mut verify)?;
        check_same_grid(&scan0, &scan0_path, &mask0, &mask0_path)?;
        check_same_grid(&scan1, &scan1_path, &mask1, &mask1_path)?;
        check_same_grid(&scan0, &scan0_path, &scan1, &scan1_path)?;
        normalise(&mut scan0, spec.normalize.low, spec.normalize.high);
        normalise(&mut scan1, spec.normalize.low, spec.normalize.high);
        let interval = match &intervals {
            Some(map) => Some(*map.get(patient).ok_or_else(|| {
                Error::Invalid(format!("{}: no dates for patient '{patient}'", spec.dates.as_ref().map_or("", |d| d.file.as_str())))
            })?),
            None => None,
        };
        let axis = spec.slices.axis;
        let slices = scan0.dims[axis];
        let has_lesion = |z: usize| -> Result<bool> {
            Ok([&mask0, &mask1].iter().any(|m| m.slice(axis, z).is_ok_and(|(_, _, v)| v.iter().any(|&x| x > 0.5))))
        };
        let mut keep = Vec::new();
        let mut empty = Vec::new();
        for z in 0..slices {
            if !spec.slices.lesion_only || has_lesion(z)? {
                keep.push(z);
            } else {
                empty.push(z);
            }
        }
        if spec.slices.lesion_only && spec.slices.empty_share > 0.0 {
            let mut rng = ChaCha8Rng::seed_from_u64(folds.seed);
            rng.set_stream(index as u64 + 1);
            empty.shuffle(&mut rng);
            let extra = ((keep.len() as f64 * spec.slices.empty_share).round() as usize).min(empty.len());
            keep.extend_from_slice(&empty[..extra]);
            keep.sort_unstable();
        }
        let builder = builders.get_mut(&splits[patient]).expect("every split has a builder");
        for z in keep {
            let image = |v: &Volume| -> Result<Vec<f32>> {
                let (rows, cols, values) = v.slice(axis, z)?;
                resize_f32(&values, cols, rows, size)
            };
            let mask = |v: &Volume| -> Result<Vec<u8>> {
                let (rows, cols, values) = v.slice(axis, z)?;
                let raster = Raster { width: cols, height: rows, channels: 1, data: values.iter().map(|&x| (x > 0.5) as u8).collect() };
                Ok(resize(&raster, size, Fit::Stretch, None, 0).0.data)
            };
            let (i0, i1, m0, m1) = (image(&scan0)?, image(&scan1)?, mask(&mask0)?, mask(&mask1)?);
            builder.push([&i0, &i1], [&m0, &m1], Some(index as u32), interval);
        }
    }
    let mut built: BTreeMap<SplitName, _> = builders.into_iter().map(|(s, b)| Ok((s, b.finish()?))).collect::<Result<BTreeMap<_, _>>>()?;
    for (split, data) in &built {
        if data.is_empty() {
            return Err(Error::Invalid(format!("{}: the {split} split has no slices (too few patients or slices kept)", info.name)));
        }
    }
    let mut class_names = class_names();
    class_names.insert(PATIENT_SOURCE.to_owned(), patients.clone());
    Ok(Dataset {
        name: info.name.clone(),
        shape: ImageShape { channels: 2, height: size, width: size },
        time_points: 2,
        train: built.remove(&SplitName::Train).expect("train"),
        val: built.remove(&SplitName::Val).expect("val"),
        test: built.remove(&SplitName::Test).expect("test"),
        provenance,
        class_names,
    })
}

/// The patients of the dataset folder: sub-folders holding the baseline scan, sorted.
fn list_patients(root: &Path, spec: &LongitudinalSpec) -> Result<Vec<String>> {
    let mut patients = Vec::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1).max_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Invalid(format!("{}: {e}", root.display())))?;
        if !entry.file_type().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if root.join(LongitudinalSpec::path_of(&spec.pairs.scan, &name, &spec.pairs.time_points[0])).is_file() {
            patients.push(name);
        }
    }
    if patients.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no patient folder holds a scan like '{}'; check pairs.scan in the dataset spec",
            root.display(),
            LongitudinalSpec::path_of(&spec.pairs.scan, "<patient>", &spec.pairs.time_points[0])
        )));
    }
    Ok(patients)
}

/// Maps the `low` and `high` percentiles of the non-zero voxels to -1 and 1, clipping.
fn normalise(volume: &mut Volume, low: f64, high: f64) {
    let mut values: Vec<f32> = volume.data.iter().copied().filter(|v| *v != 0.0 && v.is_finite()).collect();
    if values.is_empty() {
        return;
    }
    values.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| values[((q / 100.0) * (values.len() - 1) as f64).round() as usize];
    let (lo, hi) = (at(low), at(high));
    let span = (hi - lo).max(f32::EPSILON);
    for v in &mut volume.data {
        *v = (((*v - lo) / span) * 2.0 - 1.0).clamp(-1.0, 1.0);
    }
}

/// Resizes a `width x height` float image to `size x size` (box filter when shrinking,
/// bilinear when enlarging).
fn resize_f32(values: &[f32], width: usize, height: usize, size: usize) -> Result<Vec<f32>> {
    if width == size && height == size {
        return Ok(values.to_vec());
    }
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let fail = |e: &dyn std::fmt::Display| Error::Invalid(format!("resizing a {width}x{height} slice to {size}x{size}: {e}"));
    let source = Image::from_vec_u8(width as u32, height as u32, bytes, PixelType::F32).map_err(|e| fail(&e))?;
    let mut dst = Image::new(size as u32, size as u32, PixelType::F32);
    let filter = if width > size || height > size { FilterType::Box } else { FilterType::Bilinear };
    Resizer::new().resize(&source, &mut dst, &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter))).map_err(|e| fail(&e))?;
    Ok(dst.buffer().chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// Days between the first and last date column of every patient's row.
fn read_intervals(path: &Path, dates: &spec::DatesSpec) -> Result<BTreeMap<String, f32>> {
    // `flexible`: Brain-Tumor-Progression's table escapes commas inside fields as `\,`, which
    // CSV does not know, so later columns split into more fields; the id and date columns
    // come first and are read correctly.
    let mut reader =
        csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_path(path).map_err(|e| Error::format(path, e.to_string()))?;
    let headers = reader.headers().map_err(|e| Error::format(path, e.to_string()))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::format(path, format!("no column '{name}' (columns: {})", headers.iter().collect::<Vec<_>>().join(", "))))
    };
    let id = column(&dates.id_column)?;
    let (first, last) = (column(&dates.columns[0])?, column(&dates.columns[dates.columns.len() - 1])?);
    let mut out = BTreeMap::new();
    for (line, row) in reader.records().enumerate() {
        let row = row.map_err(|e| Error::format(path, e.to_string()))?;
        let date = |c: usize| -> Result<chrono::NaiveDate> {
            let text = row.get(c).unwrap_or("");
            text.parse().map_err(|e| Error::format(path, format!("row {}: '{text}' is not a YYYY-MM-DD date: {e}", line + 2)))
        };
        let days = (date(last)? - date(first)?).num_days();
        out.insert(row.get(id).unwrap_or("").to_owned(), days as f32);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_folds_never_share_a_patient_and_cover_everyone() {
        let patients: Vec<String> = (1..=11).map(|i| format!("{i:02}")).collect();
        let mut tested = Vec::new();
        for test in 0..4 {
            let folds = PatientFolds { k: 4, test, val_patients: 2, seed: 3 };
            let a = assign_patients(&patients, &folds).unwrap();
            assert_eq!(a, assign_patients(&patients, &folds).unwrap(), "deterministic");
            assert_eq!(a.len(), 11, "every patient in exactly one split");
            assert_eq!(a.values().filter(|s| **s == SplitName::Val).count(), 2);
            tested.extend(a.iter().filter(|(_, s)| **s == SplitName::Test).map(|(p, _)| p.clone()));
        }
        tested.sort();
        assert_eq!(tested, patients, "over the k folds every patient is tested exactly once");
        let other = assign_patients(&patients, &PatientFolds { k: 4, test: 0, val_patients: 2, seed: 4 }).unwrap();
        assert_ne!(other, assign_patients(&patients, &PatientFolds { k: 4, test: 0, val_patients: 2, seed: 3 }).unwrap());
        assert!(assign_patients(&patients[..3], &PatientFolds { k: 3, test: 0, val_patients: 2, seed: 0 }).is_err());
    }

    #[test]
    fn percentile_normalisation_maps_to_minus_one_one() {
        let mut v = Volume { dims: [101, 1, 1], voxel_size: [1.0; 3], data: (0..=100).map(|i| i as f32).collect() };
        normalise(&mut v, 1.0, 99.0);
        // Percentiles of the non-zero voxels 1..=100: p1 = 2, p99 = 99; the zero background
        // and everything below p1 clip to -1.
        assert_eq!(v.data[0], -1.0);
        assert_eq!(v.data[2], -1.0);
        assert_eq!(v.data[100], 1.0);
        assert!((v.data[50] - ((48.0 / 97.0) * 2.0 - 1.0)).abs() < 1e-6, "{}", v.data[50]);
    }
}
