//! Predictions of dense tasks (segmentation masks, reconstructed images), stored compactly
//! as one `.npz` per task: `{split}_truth` and `{split}_predicted`, `uint8` label maps
//! `(N, H, W)` for segmentation (plus `{split}_spacing`, mm per pixel, when the dataset
//! gives pixel sizes), `float32` images `(N, C, H, W)` for reconstruction.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use npyz::WriterBuilder;
use sha2::{Digest, Sha256};

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

/// Members of a packed segmentation file: the per-image Dice of the test split (`float64`,
/// `(N,)`, NaN where both masks are empty) and the SHA-256 of its reference masks (`uint8`,
/// `(32,)`), which tells two runs tested on the same images apart from others without
/// keeping the masks: a packed copy holds no dataset content (images, annotations).
const DICE: &str = "test_dice";
const TRUTH_DIGEST: &str = "test_truth_sha256";

/// Member of a packed reconstruction file: per test image `[SSE, Σy, Σy², pixels]`
/// (`float64`, `(N, 4)`), all the report's paired tests need of the images.
const R2_TERMS: &str = "test_r2_terms";

/// SHA-256 of a stack of reference masks and its shape: equal for two runs exactly when
/// they were tested on the same masks in the same order.
pub fn mask_digest(values: &[u8], height: usize, width: usize) -> [u8; 32] {
    let mut hash = Sha256::new();
    for d in [values.len() / (height * width).max(1), height, width] {
        hash.update((d as u64).to_le_bytes());
    }
    hash.update(values);
    hash.finalize().into()
}

/// What a packed segmentation file keeps of the test split.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedDice {
    /// Dice of each test image ([`crate::metrics::segmentation::multiclass_dice`]).
    pub per_image: Vec<f64>,
    /// [`mask_digest`] of the reference masks.
    pub truth_digest: [u8; 32],
}

/// Writes the packed form of one dense task's predictions (`medmtl pack`): the test split
/// only, reduced to what the report's statistics need: per-image Dice and the digest of the
/// reference masks for segmentation, per-image pooled-R² terms for reconstruction.
pub fn write_packed_dense(path: &Path, test: &TaskPredictions, kind: &TaskKind) -> Result<()> {
    let n = test.targets.len() as u64;
    let members = match (&test.targets, kind) {
        (Targets::Masks { height, width, values }, TaskKind::Segmentation { classes }) => {
            let predicted: Vec<u8> = test.scores.iter().map(|&v| v as u8).collect();
            let dice = crate::metrics::segmentation::per_image_dice(values, &predicted, *height, *width, (*classes).max(2));
            vec![
                (DICE.to_owned(), npy(&[n], &dice, path)?),
                (TRUTH_DIGEST.to_owned(), npy(&[32], &mask_digest(values, *height, *width), path)?),
            ]
        }
        (Targets::Images { values, .. }, TaskKind::Reconstruction { .. }) => {
            let terms: Vec<f64> = crate::metrics::regression::pooled_r2_terms(values, &test.scores, test.width).concat();
            vec![(R2_TERMS.to_owned(), npy(&[n, 4], &terms, path)?)]
        }
        _ => return Err(Error::Invalid(format!("{} tasks have no packed dense predictions", kind.name()))),
    };
    write_npz(path, &members)
}

/// The per-image Dice and mask digest of a packed segmentation file; `None` for a full one.
pub fn read_packed_dice(path: &Path) -> Result<Option<PackedDice>> {
    let mut archive = NpzArchive::open(path)?;
    if !archive.keys().iter().any(|k| k == DICE) {
        return Ok(None);
    }
    let per_image = archive.read_f64(DICE)?.data;
    let digest = archive.read_u8(TRUTH_DIGEST)?.data;
    let truth_digest: [u8; 32] =
        digest.try_into().map_err(|_| Error::format(path, format!("{TRUTH_DIGEST} is not 32 bytes; pack the suite again")))?;
    Ok(Some(PackedDice { per_image, truth_digest }))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed file keeps, of the test split, per-image Dice and the digest of the masks
    /// (segmentation) or the per-image R² terms (images), and no masks or images.
    #[test]
    fn packed_files_keep_per_image_statistics_and_no_dataset_content() {
        let dir = tempfile::tempdir().unwrap();
        let masks = TaskPredictions {
            targets: Targets::Masks { height: 2, width: 3, values: vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0] },
            scores: vec![0., 1., 0., 0., 0., 1., 1., 1., 1., 0., 0., 0.],
            width: 6,
            spacing: Some(vec![0.5, 0.25]),
        };
        let seg = dir.path().join("seg.npz");
        let kind = TaskKind::Segmentation { classes: 2 };
        write_packed_dense(&seg, &masks, &kind).unwrap();
        assert_eq!(NpzArchive::open(&seg).unwrap().keys(), [DICE, TRUTH_DIGEST]);
        let packed = read_packed_dice(&seg).unwrap().unwrap();
        assert_eq!(packed.per_image[0], 2.0 * 2.0 / (3.0 + 2.0));
        assert_eq!(packed.per_image[1], 0.0, "an empty reference with a predicted mask scores 0");
        let Targets::Masks { values, .. } = &masks.targets else { unreachable!() };
        assert_eq!(packed.truth_digest, mask_digest(values, 2, 3));
        let mut other = values.clone();
        other[11] = 1;
        assert_ne!(packed.truth_digest, mask_digest(&other, 2, 3), "different masks, different digest");
        assert_ne!(packed.truth_digest, mask_digest(values, 3, 2), "the shape is part of the digest");
        assert_eq!(read_test_images(&seg).unwrap(), None);
        assert_eq!(read_packed_r2_terms(&seg).unwrap(), None, "a mask file has no R² terms");

        let truth: Vec<f32> = (0..8).map(|i| i as f32 / 8.0).collect();
        let predicted: Vec<f32> = truth.iter().map(|v| v * 0.9 + 0.05).collect();
        let recon = TaskPredictions {
            targets: Targets::Images { channels: 1, height: 2, width: 2, values: truth.clone() },
            scores: predicted.clone(),
            width: 4,
            spacing: None,
        };
        let path = dir.path().join("image.npz");
        write_packed_dense(&path, &recon, &TaskKind::Reconstruction { channels: 1, generative: crate::task::Generative::Plain }).unwrap();
        let terms = read_packed_r2_terms(&path).unwrap().unwrap();
        assert_eq!(terms, crate::metrics::regression::pooled_r2_terms(&truth, &predicted, 4));
        let [sse, s, s2, n] = terms.iter().fold([0.0; 4], |a, t| [a[0] + t[0], a[1] + t[1], a[2] + t[2], a[3] + t[3]]);
        let pooled = 1.0 - sse / (s2 - s * s / n);
        assert!((pooled - crate::metrics::regression::r2(&truth, &predicted)).abs() < 1e-12);
        assert_eq!(read_packed_dice(&path).unwrap(), None, "an image file has no Dice");
    }
}
