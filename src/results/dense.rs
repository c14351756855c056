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
                let predicted = crate::metrics::mask_labels(&p.scores);
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
/// `(N, C, H, W)`, see [`write_dense`]) and their shape; `None` when the file has none (a
/// packed copy keeps no images).
pub fn read_test_images(path: &Path) -> Result<Option<(Vec<u8>, [usize; 4])>> {
    let mut archive = NpzArchive::open(path)?;
    if !archive.keys().iter().any(|k| k == "test_images") {
        return Ok(None);
    }
    let images = archive.read_u8("test_images")?;
    let [n, c, h, w] = images.shape[..] else {
        return Err(Error::format(path, "test_images is not (N, C, H, W)".to_owned()));
    };
    Ok(Some((images.data, [n, c, h, w])))
}
