//! Change targets of a pair of lesion masks, and the split builder both longitudinal sources
//! (NIfTI volumes and phantoms) share, so that the targets are defined in one place.
//!
//! The targets are computed from the masks at the size the network sees (after resizing),
//! so that a perfect segmentation at both time points implies a perfect change prediction.

use std::collections::BTreeMap;

use super::{AREA_CHANGE_SOURCE, CHANGE_SOURCE, GROWS_SOURCE, INTERVAL_SOURCE, MASK_SOURCES, PATIENT_SOURCE};
use crate::data::{ImageShape, SourceValues, Split};
use crate::Result;

/// Class of a pixel of the change map: lesion at neither or both time points.
pub const UNCHANGED: u8 = 0;
/// Class of a pixel of the change map: lesion at the follow-up only (new tumour).
pub const NEW: u8 = 1;
/// Class of a pixel of the change map: lesion at the baseline only (vanished tumour).
pub const VANISHED: u8 = 2;

/// A lesion "grows" when its area rises by more than this factor: a slice's area changes by
/// a few pixels from rasterisation and registration alone, and a sign of change that flips
/// on those would be noise, not a label (RANO-style response criteria use a threshold too).
pub const GROWTH_FACTOR: f64 = 1.1;

/// Class names of the change map, in index order.
pub const CHANGE_NAMES: [&str; 3] = ["unchanged", "new", "vanished"];

/// The change map of two binary masks (0/1, same size): [`NEW`] where only `after` has
/// lesion, [`VANISHED`] where only `before` has, [`UNCHANGED`] elsewhere.
pub fn change_map(before: &[u8], after: &[u8]) -> Vec<u8> {
    before
        .iter()
        .zip(after)
        .map(|(&b, &a)| match (b > 0, a > 0) {
            (false, true) => NEW,
            (true, false) => VANISHED,
            _ => UNCHANGED,
        })
        .collect()
}

/// The change of lesion area as `ln((after + 1) / (before + 1))` (areas in pixels): a
/// symmetric, scale-free measure (doubling and halving are +-ln 2) that stays finite when a
/// lesion appears or vanishes; 0 for two lesion-free slices.
pub fn area_log_ratio(before: usize, after: usize) -> f32 {
    ((after as f64 + 1.0) / (before as f64 + 1.0)).ln() as f32
}

/// Whether a lesion of `before` pixels grows to `after` by more than [`GROWTH_FACTOR`].
pub fn grows(before: usize, after: usize) -> bool {
    after as f64 > before as f64 * GROWTH_FACTOR
}

/// Accumulates pairs of 1-channel images with their masks into a [`Split`] whose images
/// have two channels (baseline, follow-up) and whose sources are the masks and every
/// change target.
pub struct PairSplitBuilder {
    height: usize,
    width: usize,
    images: Vec<f32>,
    masks: [Vec<u8>; 2],
    change: Vec<u8>,
    area_change: Vec<f32>,
    grows: Vec<u32>,
    patients: Option<Vec<u32>>,
    intervals: Option<Vec<f32>>,
}

impl PairSplitBuilder {
    /// An empty builder for `height x width` images; `with_patients` records a `patient`
    /// source, `with_intervals` an `interval_days` one.
    pub fn new(height: usize, width: usize, with_patients: bool, with_intervals: bool) -> Self {
        PairSplitBuilder {
            height,
            width,
            images: Vec::new(),
            masks: [Vec::new(), Vec::new()],
            change: Vec::new(),
            area_change: Vec::new(),
            grows: Vec::new(),
            patients: with_patients.then(Vec::new),
            intervals: with_intervals.then(Vec::new),
        }
    }

    /// Adds one pair: images and 0/1 masks of `height x width`, row-major.
    pub fn push(&mut self, images: [&[f32]; 2], masks: [&[u8]; 2], patient: Option<u32>, interval_days: Option<f32>) {
        let per = self.height * self.width;
        debug_assert!(images.iter().all(|i| i.len() == per) && masks.iter().all(|m| m.len() == per));
        for image in images {
            self.images.extend_from_slice(image);
        }
        for (all, mask) in self.masks.iter_mut().zip(masks) {
            all.extend(mask.iter().map(|&v| (v > 0) as u8));
        }
        self.change.extend(change_map(masks[0], masks[1]));
        let (before, after) = (area(masks[0]), area(masks[1]));
        self.area_change.push(area_log_ratio(before, after));
        self.grows.push(grows(before, after) as u32);
        if let (Some(all), Some(p)) = (&mut self.patients, patient) {
            all.push(p);
        }
        if let (Some(all), Some(d)) = (&mut self.intervals, interval_days) {
            all.push(d);
        }
    }

    /// The split (fails when a patient or interval was missing for some pair).
    pub fn finish(self) -> Result<Split> {
        let (h, w) = (self.height, self.width);
        let mask = |values: Vec<u8>| SourceValues::Masks { height: h, width: w, values };
        let [m0, m1] = self.masks;
        let mut sources = BTreeMap::from([
            (MASK_SOURCES[0].to_owned(), mask(m0)),
            (MASK_SOURCES[1].to_owned(), mask(m1)),
            (CHANGE_SOURCE.to_owned(), mask(self.change)),
            (AREA_CHANGE_SOURCE.to_owned(), SourceValues::Values(self.area_change)),
            (GROWS_SOURCE.to_owned(), SourceValues::Labels(self.grows)),
        ]);
        if let Some(p) = self.patients {
            sources.insert(PATIENT_SOURCE.to_owned(), SourceValues::Labels(p));
        }
        if let Some(d) = self.intervals {
            sources.insert(INTERVAL_SOURCE.to_owned(), SourceValues::Values(d));
        }
        Split::new(self.images, ImageShape { channels: 2, height: h, width: w }, sources)
    }
}

fn area(mask: &[u8]) -> usize {
    mask.iter().filter(|&&v| v > 0).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_targets_equal_a_hand_count() {
        // 3x4 masks. Baseline lesion: the 2x2 block at rows 0-1, cols 0-1 (4 px). Follow-up:
        // rows 0-1, cols 1-3 (6 px). New: (0,2) (0,3) (1,2) (1,3) = 4 px; vanished: (0,0)
        // (1,0) = 2 px; unchanged lesion: (0,1) (1,1).
        #[rustfmt::skip]
        let before = [1, 1, 0, 0,
                      1, 1, 0, 0,
                      0, 0, 0, 0];
        #[rustfmt::skip]
        let after = [0, 1, 1, 1,
                     0, 1, 1, 1,
                     0, 0, 0, 0];
        #[rustfmt::skip]
        let expected = [2, 0, 1, 1,
                        2, 0, 1, 1,
                        0, 0, 0, 0];
        assert_eq!(change_map(&before, &after), expected);
        let mut b = PairSplitBuilder::new(3, 4, true, false);
        let img = [0.0f32; 12];
        b.push([&img, &img], [&before, &after], Some(7), None);
        b.push([&img, &img], [&after, &before], Some(7), None);
        let split = b.finish().unwrap();
        assert_eq!(split.shape().channels, 2);
        let Some(SourceValues::Values(ratio)) = split.source(AREA_CHANGE_SOURCE) else { panic!() };
        assert!((ratio[0] - (7.0f32 / 5.0).ln()).abs() < 1e-6, "{ratio:?}");
        assert!((ratio[1] + ratio[0]).abs() < 1e-6, "swapping the time points negates the change");
        assert_eq!(split.source(GROWS_SOURCE), Some(&SourceValues::Labels(vec![1, 0])));
        assert_eq!(split.source(PATIENT_SOURCE), Some(&SourceValues::Labels(vec![7, 7])));
        let Some(SourceValues::Masks { values, .. }) = split.source(CHANGE_SOURCE) else { panic!() };
        assert_eq!(values.iter().filter(|&&v| v == NEW).count(), 4 + 2, "4 new in the first pair, 2 in the swapped one");
        assert_eq!(area_log_ratio(0, 0), 0.0);
        assert!(grows(0, 1) && grows(10, 12) && !grows(10, 11) && !grows(0, 0));
    }
}
