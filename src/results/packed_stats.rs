//! What a packed results folder (`medmtl pack`) keeps of a dense task's test predictions:
//! one small CSV of per-image statistics, `predictions/<task>.stats.csv`, instead of the
//! masks or images, which are the dataset's content and not ours to commit.
//!
//! - segmentation: `image, dice, truth_sha256`: the Dice of each test image (empty where
//!   both masks are empty, as `NaN` in memory) and the SHA-256 of its reference mask, which
//!   is how the paired tests check that two runs were tested on the same images in the same
//!   order without keeping the masks;
//! - reconstruction: `image, sse, sum, sum_sq, pixels`: the per-image terms of the pooled R²,
//!   all the report's statistics need of the images.
//!
//! Floats are written in their shortest round-trip form, so a report rendered from the
//! packed copy has the same numbers as one rendered from the full folder.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::io::atomic_write;
use crate::metrics::TaskPredictions;
use crate::task::{Targets, TaskKind};
use crate::{Error, Result};

/// The per-image statistics of one dense task's test split.
#[derive(Debug, Clone, PartialEq)]
pub enum PackedStats {
    /// Segmentation.
    Dice {
        /// Dice per image ([`crate::metrics::segmentation::per_image_dice`], NaN where both
        /// masks are empty).
        per_image: Vec<f64>,
        /// [`mask_digests`] of the reference masks.
        truth_digests: Vec<String>,
    },
    /// Reconstruction: `[SSE, Σy, Σy², pixels]` per image
    /// ([`crate::metrics::regression::pooled_r2_terms`]).
    R2Terms(Vec<[f64; 4]>),
}

#[derive(Serialize, Deserialize)]
struct DiceRow {
    image: usize,
    dice: Option<f64>,
    truth_sha256: String,
}

#[derive(Serialize, Deserialize)]
struct R2Row {
    image: usize,
    sse: f64,
    sum: f64,
    sum_sq: f64,
    pixels: f64,
}

/// SHA-256 (lower-case hex) of each `height x width` mask of a stack, with its shape:
/// two stacks are equal exactly when their digest lists are.
pub fn mask_digests(values: &[u8], height: usize, width: usize) -> Vec<String> {
    values
        .chunks(height * width)
        .map(|mask| {
            let mut hash = Sha256::new();
            for d in [height, width] {
                hash.update((d as u64).to_le_bytes());
            }
            hash.update(mask);
            format!("{:x}", hash.finalize())
        })
        .collect()
}

impl PackedStats {
    /// The statistics of one dense task's test predictions.
    pub fn of(test: &TaskPredictions, kind: &TaskKind) -> Result<Self> {
        match (&test.targets, kind) {
            (Targets::Masks { height, width, values }, TaskKind::Segmentation { classes }) => {
                Ok(Self::dice(values, &crate::metrics::mask_labels(&test.scores), *height, *width, *classes))
            }
            (Targets::Images { values, .. }, TaskKind::Reconstruction { .. }) => Ok(Self::r2_terms(values, &test.scores, test.width)),
            _ => Err(Error::Invalid(format!("{} tasks have no packed per-image statistics", kind.name()))),
        }
    }

    /// The segmentation statistics of reference masks `truth` against `predicted` ones
    /// (class labels, `height x width` each).
    pub fn dice(truth: &[u8], predicted: &[u8], height: usize, width: usize, classes: usize) -> Self {
        PackedStats::Dice {
            per_image: crate::metrics::segmentation::per_image_dice(truth, predicted, height, width, classes.max(2)),
            truth_digests: mask_digests(truth, height, width),
        }
    }

    /// The reconstruction statistics of reference images `truth` against `predicted` ones,
    /// `pixels` values per image.
    pub fn r2_terms(truth: &[f32], predicted: &[f32], pixels: usize) -> Self {
        PackedStats::R2Terms(crate::metrics::regression::pooled_r2_terms(truth, predicted, pixels))
    }

    /// Writes the statistics as CSV, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        atomic_write(path, |out| {
            let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
            let err = |e: csv::Error| Error::format(path, format!("cannot be written: {e}"));
            match self {
                PackedStats::Dice { per_image, truth_digests } => {
                    for (image, (dice, digest)) in per_image.iter().zip(truth_digests).enumerate() {
                        let dice = dice.is_finite().then_some(*dice);
                        writer.serialize(DiceRow { image, dice, truth_sha256: digest.clone() }).map_err(err)?;
                    }
                }
                PackedStats::R2Terms(terms) => {
                    for (image, &[sse, sum, sum_sq, pixels]) in terms.iter().enumerate() {
                        writer.serialize(R2Row { image, sse, sum, sum_sq, pixels }).map_err(err)?;
                    }
                }
            }
            writer.flush().map_err(|e| Error::io(path, e))
        })
    }

    /// Reads the statistics a [`PackedStats::write`] of a `kind` task wrote.
    pub fn read(path: &Path, kind: &TaskKind) -> Result<Self> {
        let mut reader = csv::Reader::from_path(path).map_err(|e| Error::format(path, format!("cannot be read: {e}")))?;
        let bad = |e: csv::Error| Error::format(path, format!("is not a packed statistics table ({e}); pack the suite again"));
        let check_order = |row: usize, image: usize| {
            if row == image {
                Ok(())
            } else {
                Err(Error::format(path, format!("row {} is image {image}, expected {row}; pack the suite again", row + 1)))
            }
        };
        match kind {
            TaskKind::Segmentation { .. } => {
                let (mut per_image, mut truth_digests) = (Vec::new(), Vec::new());
                for (i, row) in reader.deserialize::<DiceRow>().enumerate() {
                    let row = row.map_err(bad)?;
                    check_order(i, row.image)?;
                    per_image.push(row.dice.unwrap_or(f64::NAN));
                    truth_digests.push(row.truth_sha256);
                }
                Ok(PackedStats::Dice { per_image, truth_digests })
            }
            TaskKind::Reconstruction { .. } => {
                let mut terms = Vec::new();
                for (i, row) in reader.deserialize::<R2Row>().enumerate() {
                    let row = row.map_err(bad)?;
                    check_order(i, row.image)?;
                    terms.push([row.sse, row.sum, row.sum_sq, row.pixels]);
                }
                Ok(PackedStats::R2Terms(terms))
            }
            other => Err(Error::Invalid(format!("{} tasks have no packed per-image statistics", other.name()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed table keeps, of the test split, per-image Dice and the digests of the masks
    /// (segmentation) or the per-image R² terms (images), bit for bit, and no masks or images.
    #[test]
    fn packed_files_keep_per_image_statistics_and_no_dataset_content() {
        let dir = tempfile::tempdir().unwrap();
        let masks = TaskPredictions {
            targets: Targets::Masks { height: 2, width: 3, values: vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0] },
            scores: vec![0., 1., 0., 0., 0., 1., 1., 1., 1., 0., 0., 0.],
            width: 6,
            spacing: Some(vec![0.5, 0.25]),
        };
        let seg = dir.path().join("seg.stats.csv");
        let kind = TaskKind::Segmentation { classes: 2 };
        PackedStats::of(&masks, &kind).unwrap().write(&seg).unwrap();
        let text = std::fs::read_to_string(&seg).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "image,dice,truth_sha256", "one header, no mask values");
        assert_eq!(lines.len(), 3, "one row per image");
        let PackedStats::Dice { per_image, truth_digests } = PackedStats::read(&seg, &kind).unwrap() else { panic!("not Dice") };
        assert_eq!(per_image[0], 2.0 * 2.0 / (3.0 + 2.0));
        assert_eq!(per_image[1], 0.0, "an empty reference with a predicted mask scores 0");
        let Targets::Masks { values, .. } = &masks.targets else { unreachable!() };
        assert_eq!(truth_digests, mask_digests(values, 2, 3));
        assert_ne!(truth_digests[0], truth_digests[1]);
        let mut other = values.clone();
        other[11] = 1;
        assert_ne!(truth_digests, mask_digests(&other, 2, 3), "different masks, different digest");
        assert_ne!(truth_digests, mask_digests(values, 3, 2), "the shape is part of the digest");

        // Both masks empty: no Dice, an empty cell that reads back as NaN.
        let empty = TaskPredictions {
            targets: Targets::Masks { height: 1, width: 2, values: vec![0, 0] },
            scores: vec![0., 0.],
            width: 2,
            spacing: None,
        };
        PackedStats::of(&empty, &kind).unwrap().write(&seg).unwrap();
        let PackedStats::Dice { per_image, .. } = PackedStats::read(&seg, &kind).unwrap() else { panic!("not Dice") };
        assert!(per_image[0].is_nan());

        // Values that need all 17 significant digits survive the text round trip.
        let truth: Vec<f32> = (0..8).map(|i| (i as f32 / 7.0).sin()).collect();
        let predicted: Vec<f32> = truth.iter().map(|v| v * 0.9 + 0.05 / 3.0).collect();
        let recon = TaskPredictions {
            targets: Targets::Images { channels: 1, height: 2, width: 2, values: truth.clone() },
            scores: predicted.clone(),
            width: 4,
            spacing: None,
        };
        let path = dir.path().join("image.stats.csv");
        let kind = TaskKind::Reconstruction { channels: 1, generative: crate::task::Generative::Plain };
        PackedStats::of(&recon, &kind).unwrap().write(&path).unwrap();
        let PackedStats::R2Terms(terms) = PackedStats::read(&path, &kind).unwrap() else { panic!("not R² terms") };
        assert_eq!(terms, crate::metrics::regression::pooled_r2_terms(&truth, &predicted, 4));
        let [sse, s, s2, n] = terms.iter().fold([0.0; 4], |a, t| [a[0] + t[0], a[1] + t[1], a[2] + t[2], a[3] + t[3]]);
        let pooled = 1.0 - sse / (s2 - s * s / n);
        assert!((pooled - crate::metrics::regression::r2(&truth, &predicted)).abs() < 1e-12);

        let wrong = PackedStats::read(&path, &TaskKind::Segmentation { classes: 2 }).unwrap_err().to_string();
        assert!(wrong.contains("image.stats.csv") && wrong.contains("pack the suite again"), "{wrong}");
    }
}
