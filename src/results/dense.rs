//! Predictions of dense tasks (segmentation masks, reconstructed images), stored compactly
//! as one `.npz` per task: `{split}_truth` and `{split}_predicted`, `uint8` label maps
//! `(N, H, W)` for segmentation (plus `{split}_spacing`, mm per pixel, when the dataset
//! gives pixel sizes), `float32` images `(N, C, H, W)` for reconstruction.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use npyz::WriterBuilder;

use super::io::atomic_write;
use crate::data::npz::NpzArchive;
use crate::data::{ImageShape, SplitName};
use crate::metrics::TaskPredictions;
use crate::task::{Targets, TaskKind};
use crate::{Error, Result};

fn npy<T: npyz::AutoSerialize + Copy>(shape: &[u64], data: &[T], path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let err = |e: std::io::Error| Error::format(path, format!("cannot encode predictions: {e}"));
    let mut w = npyz::WriteOptions::<T>::new().default_dtype().shape(shape).writer(&mut buf).begin_nd().map_err(err)?;
    w.extend(data.iter().copied()).map_err(err)?;
    w.finish().map_err(err)?;
    Ok(buf)
}

/// Writes one dense task's predictions. For segmentation, the test images themselves go
/// along as `test_images` (`uint8` `(N, C, H, W)`, `(x + 1) / 2 * 255` of the normalised
/// pixels) so reports can draw contours on them without the dataset.
pub fn write_dense(path: &Path, per_split: &[(SplitName, &TaskPredictions)], test_images: Option<(&[f32], ImageShape)>) -> Result<()> {
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for (split, p) in per_split {
        let n = p.targets.len() as u64;
        match &p.targets {
            Targets::Masks { height, width, values } => {
                let shape = [n, *height as u64, *width as u64];
                members.push((format!("{split}_truth"), npy(&shape, values, path)?));
                let predicted: Vec<u8> = p.scores.iter().map(|&v| v as u8).collect();
                members.push((format!("{split}_predicted"), npy(&shape, &predicted, path)?));
                if let Some(spacing) = &p.spacing {
                    members.push((format!("{split}_spacing"), npy(&[n], spacing, path)?));
                }
                if let (SplitName::Test, Some((pixels, shape))) = (split, test_images) {
                    let bytes: Vec<u8> = pixels.iter().map(|&v| ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8).collect();
                    let dims = [n, shape.channels as u64, shape.height as u64, shape.width as u64];
                    members.push(("test_images".to_owned(), npy(&dims, &bytes, path)?));
                }
            }
            Targets::Images { channels, height, width, values } => {
                let shape = [n, *channels as u64, *height as u64, *width as u64];
                members.push((format!("{split}_truth"), npy(&shape, values, path)?));
                members.push((format!("{split}_predicted"), npy(&shape, &p.scores, path)?));
            }
            _ => return Err(Error::Invalid("dense predictions need mask or image targets".into())),
        }
    }
    write_npz(path, &members)
}

fn write_npz(path: &Path, members: &[(String, Vec<u8>)]) -> Result<()> {
    atomic_write(path, |out| {
        let mut zip = zip::ZipWriter::new_stream(out);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in members {
            zip.start_file(format!("{name}.npy"), opts).map_err(|e| Error::format(path, e.to_string()))?;
            zip.write_all(bytes).map_err(|e| Error::io(path, e))?;
        }
        zip.finish().map_err(|e| Error::format(path, e.to_string()))?;
        Ok(())
    })
}

/// The folder of a packed suite holding each distinct set of test images once, as
/// `<id>.npz` with one member `images` (see [`write_packed_dense`]).
pub const TEST_IMAGES_DIR: &str = "test-images";

/// Member of a packed segmentation file: the ASCII id of its test images in the suite's
/// [`TEST_IMAGES_DIR`] (every run on one dataset split has the same images; stored with
/// each run they were 96% of a results folder).
const TEST_IMAGES_REF: &str = "test_images_ref";

/// Member of a packed reconstruction file: per test image `[SSE, Σy, Σy², pixels]`
/// (`float64`, `(N, 4)`), all the report's paired tests need of the images.
const R2_TERMS: &str = "test_r2_terms";

/// Writes the packed form of one dense task's predictions (`medmtl pack`): the test split
/// only; masks as they are, with a reference to the test images instead of the images;
/// reconstructed images reduced to their per-image pooled-R² terms.
pub fn write_packed_dense(path: &Path, test: &TaskPredictions, images_ref: Option<&str>) -> Result<()> {
    let n = test.targets.len() as u64;
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    match &test.targets {
        Targets::Masks { height, width, values } => {
            let shape = [n, *height as u64, *width as u64];
            members.push(("test_truth".to_owned(), npy(&shape, values, path)?));
            let predicted: Vec<u8> = test.scores.iter().map(|&v| v as u8).collect();
            members.push(("test_predicted".to_owned(), npy(&shape, &predicted, path)?));
            if let Some(spacing) = &test.spacing {
                members.push(("test_spacing".to_owned(), npy(&[n], spacing, path)?));
            }
            if let Some(id) = images_ref {
                members.push((TEST_IMAGES_REF.to_owned(), npy(&[id.len() as u64], id.as_bytes(), path)?));
            }
        }
        Targets::Images { values, .. } => {
            let terms: Vec<f64> = crate::metrics::regression::pooled_r2_terms(values, &test.scores, test.width).concat();
            members.push((R2_TERMS.to_owned(), npy(&[n, 4], &terms, path)?));
        }
        _ => return Err(Error::Invalid("dense predictions need mask or image targets".into())),
    }
    write_npz(path, &members)
}

/// Writes one set of test images into a packed suite's [`TEST_IMAGES_DIR`].
pub fn write_test_images(path: &Path, images: &[u8], dims: [usize; 4]) -> Result<()> {
    let shape = dims.map(|d| d as u64);
    write_npz(path, &[("images".to_owned(), npy(&shape, images, path)?)])
}

/// The per-image pooled-R² terms of a packed reconstruction file; `None` for a full one.
pub fn read_packed_r2_terms(path: &Path) -> Result<Option<Vec<[f64; 4]>>> {
    let mut archive = NpzArchive::open(path)?;
    if !archive.keys().iter().any(|k| k == R2_TERMS) {
        return Ok(None);
    }
    let terms = archive.read_f64(R2_TERMS)?;
    if terms.shape.len() != 2 || terms.shape[1] != 4 {
        return Err(Error::format(path, format!("{R2_TERMS} is not (N, 4)")));
    }
    Ok(Some(terms.data.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect()))
}

/// Reads one dense task's predictions back, per split.
pub fn read_dense(path: &Path, kind: &TaskKind) -> Result<BTreeMap<SplitName, TaskPredictions>> {
    let mut archive = NpzArchive::open(path)?;
    let keys = archive.keys();
    let mut out = BTreeMap::new();
    for split in SplitName::ALL {
        let truth_key = format!("{split}_truth");
        if !keys.contains(&truth_key) {
            continue;
        }
        let predicted_key = format!("{split}_predicted");
        let p = match kind {
            TaskKind::Segmentation { .. } => {
                let truth = archive.read_u8(&truth_key)?;
                let predicted = archive.read_u8(&predicted_key)?;
                let [_, h, w] = truth.shape[..] else {
                    return Err(Error::format(path, format!("{truth_key} is not (N, H, W)")));
                };
                let spacing_key = format!("{split}_spacing");
                let spacing = if keys.contains(&spacing_key) { Some(archive.read_f32(&spacing_key)?.data) } else { None };
                TaskPredictions {
                    targets: Targets::Masks { height: h, width: w, values: truth.data },
                    scores: predicted.data.iter().map(|&v| v as f32).collect(),
                    width: h * w,
                    spacing,
                }
            }
            TaskKind::Reconstruction { .. } => {
                let truth = archive.read_f32(&truth_key)?;
                let predicted = archive.read_f32(&predicted_key)?;
                let [_, c, h, w] = truth.shape[..] else {
                    return Err(Error::format(path, format!("{truth_key} is not (N, C, H, W)")));
                };
                TaskPredictions {
                    targets: Targets::Images { channels: c, height: h, width: w, values: truth.data },
                    scores: predicted.data,
                    width: c * h * w,
                    spacing: None,
                }
            }
            other => return Err(Error::Invalid(format!("{} tasks have no dense predictions", other.name()))),
        };
        out.insert(split, p);
    }
    Ok(out)
}

/// The test images stored with a segmentation task's predictions (`test_images`, `uint8`
/// `(N, C, H, W)`, see [`write_dense`]), or in a packed suite those its reference names,
/// and their shape; `None` when the file has neither.
pub fn read_test_images(path: &Path) -> Result<Option<(Vec<u8>, [usize; 4])>> {
    let mut archive = NpzArchive::open(path)?;
    let keys = archive.keys();
    let (images, source) = if keys.iter().any(|k| k == "test_images") {
        (archive.read_u8("test_images")?, path.to_path_buf())
    } else if keys.iter().any(|k| k == TEST_IMAGES_REF) {
        let id = String::from_utf8(archive.read_u8(TEST_IMAGES_REF)?.data).unwrap_or_default();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::format(path, format!("{TEST_IMAGES_REF} is not a hexadecimal id")));
        }
        // <suite>/runs/<run>/predictions/<task>.npz
        let suite = path.ancestors().nth(4).unwrap_or(Path::new("."));
        let file = suite.join(TEST_IMAGES_DIR).join(format!("{id}.npz"));
        if !file.is_file() {
            return Err(Error::format(path, format!("refers to test images {}, which are missing; pack the suite again", file.display())));
        }
        (NpzArchive::open(&file)?.read_u8("images")?, file)
    } else {
        return Ok(None);
    };
    let [n, c, h, w] = images.shape[..] else {
        return Err(Error::format(&source, "the test images are not (N, C, H, W)".to_owned()));
    };
    Ok(Some((images.data, [n, c, h, w])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed file keeps the test split exactly (masks) or its per-image R² terms
    /// (images), and a packed mask file finds its images in the suite's test-images folder.
    #[test]
    fn packed_files_keep_what_reports_read_of_the_test_split() {
        let dir = tempfile::tempdir().unwrap();
        let predictions = dir.path().join("suite/runs/run/predictions");
        std::fs::create_dir_all(&predictions).unwrap();
        let masks = TaskPredictions {
            targets: Targets::Masks { height: 2, width: 3, values: vec![0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0] },
            scores: vec![0., 1., 0., 0., 0., 1., 1., 1., 1., 0., 0., 0.],
            width: 6,
            spacing: Some(vec![0.5, 0.25]),
        };
        let seg = predictions.join("seg.npz");
        write_packed_dense(&seg, &masks, Some("00ff")).unwrap();
        let kind = TaskKind::Segmentation { classes: 2 };
        let back = read_dense(&seg, &kind).unwrap();
        assert_eq!(back.keys().copied().collect::<Vec<_>>(), vec![SplitName::Test]);
        assert_eq!(back[&SplitName::Test], masks);
        let err = read_test_images(&seg).unwrap_err().to_string();
        assert!(err.contains("00ff.npz") && err.contains("missing"), "{err}");
        let images: Vec<u8> = (0..12).collect();
        std::fs::create_dir_all(dir.path().join("suite").join(TEST_IMAGES_DIR)).unwrap();
        write_test_images(&dir.path().join("suite").join(TEST_IMAGES_DIR).join("00ff.npz"), &images, [2, 1, 2, 3]).unwrap();
        assert_eq!(read_test_images(&seg).unwrap(), Some((images, [2, 1, 2, 3])));

        let truth: Vec<f32> = (0..8).map(|i| i as f32 / 8.0).collect();
        let predicted: Vec<f32> = truth.iter().map(|v| v * 0.9 + 0.05).collect();
        let recon = TaskPredictions {
            targets: Targets::Images { channels: 1, height: 2, width: 2, values: truth.clone() },
            scores: predicted.clone(),
            width: 4,
            spacing: None,
        };
        let path = predictions.join("image.npz");
        write_packed_dense(&path, &recon, None).unwrap();
        let terms = read_packed_r2_terms(&path).unwrap().unwrap();
        assert_eq!(terms, crate::metrics::regression::pooled_r2_terms(&truth, &predicted, 4));
        let [sse, s, s2, n] = terms.iter().fold([0.0; 4], |a, t| [a[0] + t[0], a[1] + t[1], a[2] + t[2], a[3] + t[3]]);
        let pooled = 1.0 - sse / (s2 - s * s / n);
        assert!((pooled - crate::metrics::regression::r2(&truth, &predicted)).abs() < 1e-12);
        assert_eq!(read_packed_r2_terms(&seg).unwrap(), None, "a mask file has no R² terms");
    }
}
