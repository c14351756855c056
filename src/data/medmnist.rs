//! MedMNIST `.npz` files (Yang et al., Scientific Data 2023) as [`Dataset`]s.
//!
//! The official layout is `{train,val,test}_{images,labels}`; images are `uint8` of shape
//! `(N, H, W)` (grey) or `(N, H, W, 3)` (RGB, channels last); labels are `(N, 1)` in the
//! official files and `(N,)` in some re-saved copies, or `(N, L)` for multi-label ChestMNIST.
//! Pixels are normalised exactly as MedMNIST's experiments do (`Normalize(mean=.5, std=.5)`),
//! so intensities lie in [-1, 1]. Labels become the target source `label`.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::Path;

use super::catalog::CatalogEntry;
use super::dataset::{Dataset, ImageShape, Provenance, SourceValues, Split};
use super::fetch::DataSources;
use super::npz::NpzArchive;
use crate::{Error, Result};

/// The target source MedMNIST labels are stored under.
pub const LABEL_SOURCE: &str = "label";

/// Locates (or downloads) and loads the `size`-pixel file of a MedMNIST dataset.
pub fn load(entry: &CatalogEntry, size: u32, sources: &DataSources) -> Result<Dataset> {
    let file = entry.file(size)?;
    let located = sources.locate(&entry.dataset.name, &file.file, &file.url, &file.md5)?;
    let mut archive = NpzArchive::open(&located.path)?;
    let mut dataset = read_archive(&mut archive, &located.path, entry)?;
    dataset.provenance = Provenance {
        files: vec![(located.path.display().to_string(), located.md5)],
        verified: located.verified,
        citation: entry.citation(),
        license: entry.dataset.license.clone(),
    };
    Ok(dataset)
}

/// Reads the three splits of an open archive, validating shapes and label ranges against
/// the catalog entry.
pub fn read_archive<R: Read + Seek>(archive: &mut NpzArchive<R>, path: &Path, entry: &CatalogEntry) -> Result<Dataset> {
    let multi_label = entry.dataset.task.starts_with("multi-label");
    let n_labels = entry.dataset.labels.len();
    let mut shape: Option<ImageShape> = None;
    let mut splits = Vec::with_capacity(3);
    for split in ["train", "val", "test"] {
        let images = archive.read_u8(&format!("{split}_images"))?;
        let this_shape = image_shape(&images.shape, path, split)?;
        if this_shape.channels != entry.dataset.channels {
            return Err(Error::format(
                path,
                format!(
                    "{split}_images have {} channel(s) but the catalog says {} for {}",
                    this_shape.channels, entry.dataset.channels, entry.dataset.name
                ),
            ));
        }
        match shape {
            Some(s) if s != this_shape => {
                return Err(Error::format(path, format!("{split}_images are {this_shape}, other splits are {s}")))
            }
            _ => shape = Some(this_shape),
        }
        let n = images.shape[0];
        let labels = archive.read_int(&format!("{split}_labels"))?;
        let label_values = labels_to_source(&labels.shape, labels.data, n, n_labels, multi_label)
            .map_err(|msg| Error::format(path, format!("{split}_labels {msg}")))?;
        let pixels = to_nchw_normalised(&images.data, this_shape);
        let mut sources = BTreeMap::new();
        sources.insert(LABEL_SOURCE.to_owned(), label_values);
        splits.push(Split::new(pixels, this_shape, sources)?);
    }
    let test = splits.pop().expect("three splits");
    let val = splits.pop().expect("three splits");
    let train = splits.pop().expect("three splits");
    Ok(Dataset {
        name: entry.dataset.name.clone(),
        shape: shape.expect("three splits"),
        time_points: 1,
        train,
        val,
        test,
        provenance: Provenance::default(),
        class_names: BTreeMap::from([(LABEL_SOURCE.to_owned(), entry.dataset.labels.clone())]),
    })
}

fn image_shape(shape: &[usize], path: &Path, split: &str) -> Result<ImageShape> {
    let bad = |what: &str| Error::format(path, format!("{split}_images have shape {shape:?}: {what}"));
    match *shape {
        [_, h, w] if h > 0 && w > 0 => Ok(ImageShape { channels: 1, height: h, width: w }),
        [_, h, w, c] if h > 0 && w > 0 && (c == 1 || c == 3) => Ok(ImageShape { channels: c, height: h, width: w }),
        [_, _, _, _] => Err(bad("expected 1 or 3 channels last")),
        _ => Err(bad("expected (N, H, W) or (N, H, W, C)")),
    }
}

fn labels_to_source(
    shape: &[usize],
    data: Vec<i64>,
    n: usize,
    n_labels: usize,
    multi_label: bool,
) -> std::result::Result<SourceValues, String> {
    if shape.first() != Some(&n) {
        return Err(format!("have shape {shape:?} but there are {n} images"));
    }
    if multi_label {
        if shape != [n, n_labels] {
            return Err(format!("have shape {shape:?}, expected ({n}, {n_labels})"));
        }
        if let Some(v) = data.iter().find(|&&v| v != 0 && v != 1) {
            return Err(format!("contain {v}; multi-label values must be 0 or 1"));
        }
        let values = data.into_iter().map(|v| v as u8).collect();
        return Ok(SourceValues::MultiLabels { width: n_labels, values });
    }
    if !(shape.len() == 1 || (shape.len() == 2 && shape[1] == 1)) {
        return Err(format!("have shape {shape:?}, expected ({n},) or ({n}, 1)"));
    }
    if let Some(v) = data.iter().find(|&&v| v < 0 || v >= n_labels as i64) {
        return Err(format!("contain {v}, outside the {n_labels} classes 0..{}", n_labels - 1));
    }
    Ok(SourceValues::Labels(data.into_iter().map(|v| v as u32).collect()))
}

/// NHWC `u8` to NCHW `f32` in [-1, 1].
fn to_nchw_normalised(data: &[u8], shape: ImageShape) -> Vec<f32> {
    let ImageShape { channels: c, height: h, width: w } = shape;
    let per = c * h * w;
    let n = data.len() / per;
    let mut out = vec![0f32; data.len()];
    for i in 0..n {
        let src = &data[i * per..(i + 1) * per];
        let dst = &mut out[i * per..(i + 1) * per];
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    let v = src[(y * w + x) * c + ch] as f32 / 255.0;
                    dst[ch * h * w + y * w + x] = (v - 0.5) / 0.5;
                }
            }
        }
    }
    out
}
