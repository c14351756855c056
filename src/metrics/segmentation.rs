//! Segmentation metrics of binary 2-D masks with MONAI's definitions (`monai.metrics` 1.5:
//! `DiceMetric`, `MeanIoU`, `HausdorffDistanceMetric`, `SurfaceDistanceMetric`,
//! `SurfaceDiceMetric`), which the tests check against values computed with MONAI itself.
//!
//! Masks are row-major `height x width` bytes, non-zero = foreground. `spacing` is the
//! physical pixel size `(sy, sx)` (rows, columns) in mm, or `(1.0, 1.0)` for pixel units.
//!
//! Edge cases, and where medmtl departs from MONAI:
//! - both masks empty: every metric is NaN (undefined; left out of means and counted), as
//!   MONAI's `ignore_empty=True` and its distance metrics;
//! - empty reference, non-empty prediction: Dice and IoU are 0 (MONAI with
//!   `ignore_empty=True` gives NaN, silently dropping false-positive images from the mean;
//!   with `ignore_empty=False` it gives 0, as here);
//! - exactly one mask empty: MONAI's HD and ASSD are `inf` (its HD95 is NaN, the
//!   `torch.quantile` of infinities), which makes any mean infinite or silently drops the
//!   image. medmtl returns the physical image diagonal `sqrt((H·sy)² + (W·sx)²)` instead, larger
//!   than any measurable distance, flagged in [`Distance::fallback`] so that reports can say
//!   how often it happened ([`summarize_distances`]); NSD is 0, as MONAI.
//!
//! Invalid input (a mask length other than `height * width`, a non-positive or non-finite
//! spacing) gives NaN rather than a panic.

/// Physical pixel size `(sy, sx)` in mm.
pub type Spacing = (f64, f64);

/// Foreground pixels, intersection and the two sizes of a mask pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overlap {
    /// Pixels foreground in both masks, `|A∩B|`.
    pub intersection: usize,
    /// Foreground pixels of the reference (ground truth), `|A|`.
    pub reference: usize,
    /// Foreground pixels of the prediction, `|B|`.
    pub prediction: usize,
}

impl Overlap {
    /// Counts of a mask pair; `None` when the lengths differ.
    pub fn of(reference: &[u8], prediction: &[u8]) -> Option<Overlap> {
        if reference.len() != prediction.len() {
            return None;
        }
        let mut o = Overlap::default();
        for (&r, &p) in reference.iter().zip(prediction) {
            let (r, p) = (r != 0, p != 0);
            o.reference += r as usize;
            o.prediction += p as usize;
            o.intersection += (r && p) as usize;
        }
        Some(o)
    }

    /// `2|A∩B| / (|A| + |B|)`; NaN when both are empty.
    pub fn dice(&self) -> f64 {
        let denom = self.reference + self.prediction;
        if denom == 0 {
            f64::NAN
        } else {
            2.0 * self.intersection as f64 / denom as f64
        }
    }

    /// `|A∩B| / |A∪B|`; NaN when both are empty.
    pub fn iou(&self) -> f64 {
        let union = self.reference + self.prediction - self.intersection;
        if union == 0 {
            f64::NAN
        } else {
            self.intersection as f64 / union as f64
        }
    }
}

/// Dice similarity coefficient of one image. Both masks empty: NaN (MONAI
/// `ignore_empty=True`); one empty: 0. Mismatched lengths: NaN.
pub fn dice(reference: &[u8], prediction: &[u8]) -> f64 {
    Overlap::of(reference, prediction).map_or(f64::NAN, |o| o.dice())
}

/// Intersection over union (Jaccard) of one image, with the same conventions as [`dice`].
pub fn iou(reference: &[u8], prediction: &[u8]) -> f64 {
    Overlap::of(reference, prediction).map_or(f64::NAN, |o| o.iou())
}

/// Dataset-level ("pooled", micro) Dice: `2 Σ|A∩B| / (Σ|A| + Σ|B|)` over all images. It
/// weights images by their foreground size and never leaves an image out, so it is larger
/// than the mean per-image Dice when small structures are segmented badly; report it under
/// its own name (`dice_pooled`), never as "Dice". NaN when every mask is empty or a pair's
/// lengths differ.
pub fn dice_pooled<'a>(pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> f64 {
    let mut total = Overlap::default();
    for (reference, prediction) in pairs {
        let Some(o) = Overlap::of(reference, prediction) else { return f64::NAN };
        total.intersection += o.intersection;
        total.reference += o.reference;
        total.prediction += o.prediction;
    }
    total.dice()
}

/// A boundary distance in mm with the one-empty-mask fallback made explicit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distance {
    /// The distance; NaN when both masks are empty (undefined) or the input is invalid.
    pub value: f64,
    /// True when exactly one mask was empty and `value` is the image-diagonal fallback
    /// (MONAI: `inf`) rather than a measured distance.
    pub fallback: bool,
}

/// Boundary-to-boundary distances of a mask pair, both directions, in mm.
#[derive(Debug, Clone, PartialEq)]
pub enum SurfaceDistances {
    /// Invalid input (mask lengths, spacing).
    Invalid,
    /// Neither mask has foreground.
    BothEmpty,
    /// Exactly one mask has foreground; carries the image-diagonal fallback distance.
    OneEmpty {
        /// The physical image diagonal `sqrt((H·sy)² + (W·sx)²)`, mm.
        diagonal: f64,
    },
    /// For every prediction boundary pixel the distance to the nearest reference boundary
    /// pixel, and the reverse.
    Both {
        /// Per prediction boundary pixel: distance to the nearest reference boundary pixel, mm.
        pred_to_ref: Vec<f64>,
        /// Per reference boundary pixel: distance to the nearest prediction boundary pixel, mm.
        ref_to_pred: Vec<f64>,
    },
}

/// Boundary pixels as MONAI's `get_mask_edges` finds them: `mask XOR binary_erosion(mask)`
/// with scipy's default structuring element (the 4-neighbour cross) and background outside
/// the image. So a foreground pixel is on the boundary when one of its 4 neighbours is
/// background or lies outside the image. A mask of the wrong length has no boundary.
pub fn boundary(mask: &[u8], height: usize, width: usize) -> Vec<bool> {
    if mask.len() != height * width {
        return vec![false; mask.len()];
    }
    let fg = |y: isize, x: isize| {
        y >= 0 && x >= 0 && (y as usize) < height && (x as usize) < width && mask[y as usize * width + x as usize] != 0
    };
    let mut edge = vec![false; height * width];
    for y in 0..height as isize {
        for x in 0..width as isize {
            if fg(y, x) && !(fg(y - 1, x) && fg(y + 1, x) && fg(y, x - 1) && fg(y, x + 1)) {
                edge[y as usize * width + x as usize] = true;
            }
        }
    }
    edge
}

/// Squared Euclidean distance (mm²) from every pixel to the nearest `site` pixel, exact, by
/// Felzenszwalb & Huttenlocher's separable lower-envelope transform (O(n)), one pass per
/// axis with that axis's spacing. Infinite everywhere when there is no site.
fn squared_edt(sites: &[bool], height: usize, width: usize, (sy, sx): Spacing) -> Vec<f64> {
    let mut d: Vec<f64> = sites.iter().map(|&s| if s { 0.0 } else { f64::INFINITY }).collect();
    let mut column = vec![0.0; height];
    for x in 0..width {
        for y in 0..height {
            column[y] = d[y * width + x];
        }
        let out = envelope_1d(&column, sy);
        for y in 0..height {
            d[y * width + x] = out[y];
        }
    }
    for row in d.chunks_mut(width.max(1)) {
        let out = envelope_1d(row, sx);
        row.copy_from_slice(&out);
    }
    d
}

/// 1-D squared distance transform `out[p] = min_q (s(p − q))² + f[q]` over finite `f[q]`.
fn envelope_1d(f: &[f64], s: f64) -> Vec<f64> {
    let pos = |i: usize| i as f64 * s;
    // Parabola apexes of the lower envelope and the boundaries between them.
    let mut apex: Vec<usize> = Vec::with_capacity(f.len());
    let mut from: Vec<f64> = Vec::with_capacity(f.len());
    for q in (0..f.len()).filter(|&q| f[q].is_finite()) {
        let mut start = f64::NEG_INFINITY;
        while let Some(&v) = apex.last() {
            let (xq, xv) = (pos(q), pos(v));
            start = ((f[q] + xq * xq) - (f[v] + xv * xv)) / (2.0 * (xq - xv));
            if start <= *from.last().unwrap_or(&f64::NEG_INFINITY) {
                apex.pop();
                from.pop();
                start = f64::NEG_INFINITY;
            } else {
                break;
            }
        }
        apex.push(q);
        from.push(start);
    }
    if apex.is_empty() {
        return vec![f64::INFINITY; f.len()];
    }
    let mut k = 0;
    (0..f.len())
        .map(|p| {
            while k + 1 < apex.len() && from[k + 1] < pos(p) {
                k += 1;
            }
            let dx = pos(p) - pos(apex[k]);
            dx * dx + f[apex[k]]
        })
        .collect()
}

fn valid(mask_len: usize, height: usize, width: usize, (sy, sx): Spacing) -> bool {
    mask_len == height * width && height > 0 && sy.is_finite() && sx.is_finite() && sy > 0.0 && sx > 0.0
}

/// Distances between the two masks' boundaries in both directions (MONAI's
/// `get_edge_surface_distance(symmetric=True)` with Euclidean distance and `spacing`), the
/// shared input of [`hausdorff`], [`assd`] and [`nsd`].
pub fn surface_distances(reference: &[u8], prediction: &[u8], height: usize, width: usize, spacing: Spacing) -> SurfaceDistances {
    if !valid(reference.len(), height, width, spacing) || prediction.len() != reference.len() {
        return SurfaceDistances::Invalid;
    }
    let edge_ref = boundary(reference, height, width);
    let edge_pred = boundary(prediction, height, width);
    let (has_ref, has_pred) = (edge_ref.contains(&true), edge_pred.contains(&true));
    if !has_ref && !has_pred {
        return SurfaceDistances::BothEmpty;
    }
    if !has_ref || !has_pred {
        let diagonal = ((height as f64 * spacing.0).powi(2) + (width as f64 * spacing.1).powi(2)).sqrt();
        return SurfaceDistances::OneEmpty { diagonal };
    }
    let to_ref = squared_edt(&edge_ref, height, width, spacing);
    let to_pred = squared_edt(&edge_pred, height, width, spacing);
    let sample =
        |edges: &[bool], field: &[f64]| -> Vec<f64> { edges.iter().zip(field).filter(|(&e, _)| e).map(|(_, &d2)| d2.sqrt()).collect() };
    SurfaceDistances::Both { pred_to_ref: sample(&edge_pred, &to_ref), ref_to_pred: sample(&edge_ref, &to_pred) }
}

/// Percentiles of distances: linear interpolation between order statistics, as
/// `torch.quantile`, which MONAI uses.
pub use crate::stats::quantile;

impl SurfaceDistances {
    /// Applies `measured` to the distances, or the edge-case convention.
    fn distance(&self, measured: impl Fn(&[f64], &[f64]) -> f64) -> Distance {
        match self {
            SurfaceDistances::Invalid | SurfaceDistances::BothEmpty => Distance { value: f64::NAN, fallback: false },
            SurfaceDistances::OneEmpty { diagonal } => Distance { value: *diagonal, fallback: true },
            SurfaceDistances::Both { pred_to_ref, ref_to_pred } => Distance { value: measured(pred_to_ref, ref_to_pred), fallback: false },
        }
    }

    /// Symmetric Hausdorff distance at `percentile` (100 = the classic maximum, 95 = HD95):
    /// the percentile of each direction's distances, then the larger of the two (MONAI's
    /// `HausdorffDistanceMetric(percentile=p, directed=False)`; not the percentile of the
    /// pooled distances).
    pub fn hausdorff(&self, percentile: f64) -> Distance {
        self.distance(|a, b| quantile(a, percentile / 100.0).max(quantile(b, percentile / 100.0)))
    }

    /// Average symmetric surface distance: the mean of both directions' distances
    /// concatenated (MONAI `SurfaceDistanceMetric(symmetric=True)`), so each boundary pixel
    /// weighs equally; not the mean of the two directed means.
    pub fn assd(&self) -> Distance {
        self.distance(|a, b| (a.iter().sum::<f64>() + b.iter().sum::<f64>()) / (a.len() + b.len()) as f64)
    }

    /// Normalised surface Dice at tolerance `tau` mm: the fraction of both masks' boundary
    /// pixels within `tau` of the other boundary (MONAI `SurfaceDiceMetric`,
    /// `use_subvoxels=False`). Both empty: NaN; one empty: 0 (as MONAI).
    pub fn nsd(&self, tau: f64) -> f64 {
        match self {
            SurfaceDistances::Invalid | SurfaceDistances::BothEmpty => f64::NAN,
            SurfaceDistances::OneEmpty { .. } => 0.0,
            SurfaceDistances::Both { pred_to_ref, ref_to_pred } => {
                let within = pred_to_ref.iter().chain(ref_to_pred).filter(|&&d| d <= tau).count();
                within as f64 / (pred_to_ref.len() + ref_to_pred.len()) as f64
            }
        }
    }
}

/// Symmetric Hausdorff distance at `percentile` in mm; see [`SurfaceDistances::hausdorff`].
pub fn hausdorff(reference: &[u8], prediction: &[u8], height: usize, width: usize, spacing: Spacing, percentile: f64) -> Distance {
    surface_distances(reference, prediction, height, width, spacing).hausdorff(percentile)
}

/// HD95 in mm: [`hausdorff`] at the 95th percentile.
pub fn hd95(reference: &[u8], prediction: &[u8], height: usize, width: usize, spacing: Spacing) -> Distance {
    hausdorff(reference, prediction, height, width, spacing, 95.0)
}

/// Average symmetric surface distance in mm; see [`SurfaceDistances::assd`].
pub fn assd(reference: &[u8], prediction: &[u8], height: usize, width: usize, spacing: Spacing) -> Distance {
    surface_distances(reference, prediction, height, width, spacing).assd()
}

/// Normalised surface Dice at tolerance `tau` mm; see [`SurfaceDistances::nsd`].
pub fn nsd(reference: &[u8], prediction: &[u8], height: usize, width: usize, spacing: Spacing, tau: f64) -> f64 {
    surface_distances(reference, prediction, height, width, spacing).nsd(tau)
}

/// Mean of distances over images, with the counts a report needs to be honest about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DistanceSummary {
    /// Mean over the defined values, fallbacks included (NaN when none is defined).
    pub mean: f64,
    /// Values in the mean (measured plus fallbacks).
    pub n: usize,
    /// How many of them are the one-empty-mask fallback.
    pub fallbacks: usize,
    /// Values left out as undefined (both masks empty, or invalid input).
    pub undefined: usize,
}

/// Summarises per-image distances: NaN values are left out and counted, fallbacks are kept
/// (a missed or hallucinated structure must cost something) and counted.
pub fn summarize_distances(values: &[Distance]) -> DistanceSummary {
    let defined: Vec<&Distance> = values.iter().filter(|d| d.value.is_finite()).collect();
    let n = defined.len();
    let mean = if n == 0 { f64::NAN } else { defined.iter().map(|d| d.value).sum::<f64>() / n as f64 };
    DistanceSummary { mean, n, fallbacks: defined.iter().filter(|d| d.fallback).count(), undefined: values.len() - n }
}

/// Every binary metric of one mask pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BinaryMetrics {
    /// Dice coefficient; NaN when both masks are empty.
    pub dice: f64,
    /// Intersection over union; NaN when both masks are empty.
    pub iou: f64,
    /// 95th-percentile symmetric Hausdorff distance, mm.
    pub hd95: Distance,
    /// Average symmetric surface distance, mm.
    pub assd: Distance,
    /// Normalised surface Dice at the tolerance `tau`.
    pub nsd: f64,
}

/// Dice, IoU, HD95, ASSD and NSD at `tau` mm of one binary mask pair, sharing one distance
/// computation.
pub fn binary_metrics(reference: &[u8], prediction: &[u8], height: usize, width: usize, spacing: Spacing, tau: f64) -> BinaryMetrics {
    let overlap = Overlap::of(reference, prediction).filter(|_| valid(reference.len(), height, width, spacing));
    let distances = surface_distances(reference, prediction, height, width, spacing);
    BinaryMetrics {
        dice: overlap.map_or(f64::NAN, |o| o.dice()),
        iou: overlap.map_or(f64::NAN, |o| o.iou()),
        hd95: distances.hausdorff(95.0),
        assd: distances.assd(),
        nsd: distances.nsd(tau),
    }
}

/// Dice of a label map: the mean of the defined per-class Dice over the foreground classes
/// `1..classes`, exactly [`multiclass_metrics`]'s `dice` without its surface distances
/// (the report's per-image statistics need only Dice, and the distances cost 100x more).
pub fn multiclass_dice(reference: &[u8], prediction: &[u8], classes: usize) -> f64 {
    let (mut sum, mut defined) = (0.0, 0usize);
    for k in 1..classes {
        let of = |m: &[u8]| m.iter().map(|&v| (v as usize == k) as u8).collect::<Vec<u8>>();
        let d = dice(&of(reference), &of(prediction));
        if d.is_finite() {
            sum += d;
            defined += 1;
        }
    }
    if defined == 0 {
        f64::NAN
    } else {
        sum / defined as f64
    }
}

/// [`multiclass_dice`] of each of a stack of `height x width` label maps.
pub fn per_image_dice(reference: &[u8], prediction: &[u8], height: usize, width: usize, classes: usize) -> Vec<f64> {
    let plane = (height * width).max(1);
    reference.chunks(plane).zip(prediction.chunks(plane)).map(|(r, p)| multiclass_dice(r, p, classes)).collect()
}

/// Per-class metrics of a label map and their means over the foreground classes.
#[derive(Debug, Clone, PartialEq)]
pub struct MulticlassMetrics {
    /// Classes `1..classes` in order (class 0 is background and not scored, as MONAI's
    /// `include_background=False`).
    pub per_class: Vec<BinaryMetrics>,
    /// Means over the classes where the metric is defined (NaN classes are left out, as
    /// MONAI's `do_metric_reduction`); distance means include fallbacks.
    pub dice: f64,
    /// Mean IoU over the classes where it is defined.
    pub iou: f64,
    /// Mean HD95 over the classes where it is defined, mm (fallbacks included).
    pub hd95: f64,
    /// Mean ASSD over the classes where it is defined, mm (fallbacks included).
    pub assd: f64,
    /// Mean NSD over the classes where it is defined.
    pub nsd: f64,
    /// Classes whose HD95/ASSD is the one-empty-mask fallback.
    pub distance_fallbacks: usize,
}

/// Per-class binary metrics of label maps (pixel value = class, `0..classes`), each class
/// `k >= 1` scored as the binary masks `label == k`, then averaged over the foreground
/// classes. Labels `>= classes` belong to no scored class.
pub fn multiclass_metrics(
    reference: &[u8],
    prediction: &[u8],
    height: usize,
    width: usize,
    spacing: Spacing,
    classes: usize,
    tau: f64,
) -> MulticlassMetrics {
    let per_class: Vec<BinaryMetrics> = (1..classes)
        .map(|k| {
            let of = |m: &[u8]| m.iter().map(|&v| (v as usize == k) as u8).collect::<Vec<u8>>();
            binary_metrics(&of(reference), &of(prediction), height, width, spacing, tau)
        })
        .collect();
    let mean = |f: &dyn Fn(&BinaryMetrics) -> f64| {
        let defined: Vec<f64> = per_class.iter().map(f).filter(|v| v.is_finite()).collect();
        if defined.is_empty() {
            f64::NAN
        } else {
            defined.iter().sum::<f64>() / defined.len() as f64
        }
    };
    MulticlassMetrics {
        dice: mean(&|m| m.dice),
        iou: mean(&|m| m.iou),
        hd95: mean(&|m| m.hd95.value),
        assd: mean(&|m| m.assd.value),
        nsd: mean(&|m| m.nsd),
        distance_fallbacks: per_class.iter().filter(|m| m.hd95.fallback).count(),
        per_class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over all site pairs, the definition the transform must reproduce.
    fn brute(sites: &[bool], h: usize, w: usize, (sy, sx): Spacing) -> Vec<f64> {
        (0..h * w)
            .map(|p| {
                (0..h * w)
                    .filter(|&q| sites[q])
                    .map(|q| {
                        let dy = (p / w) as f64 - (q / w) as f64;
                        let dx = (p % w) as f64 - (q % w) as f64;
                        (dy * sy).powi(2) + (dx * sx).powi(2)
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .collect()
    }

    #[test]
    fn exact_edt_matches_brute_force_with_anisotropic_spacing() {
        let mut state = 12345u64;
        for (h, w, spacing) in [(1, 1, (1.0, 1.0)), (5, 7, (1.0, 1.0)), (9, 4, (0.7, 2.3)), (13, 11, (3.0, 0.5))] {
            for density in [1, 5, 30] {
                let sites: Vec<bool> = (0..h * w)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        (state >> 33) % 100 < density
                    })
                    .collect();
                let got = squared_edt(&sites, h, w, spacing);
                let want = brute(&sites, h, w, spacing);
                for (g, e) in got.iter().zip(&want) {
                    assert!(g == e || (g - e).abs() <= 1e-9 * e.max(1.0), "{h}x{w} {spacing:?}: {g} vs {e}");
                }
            }
        }
    }

    #[test]
    fn boundary_uses_the_four_neighbour_cross_and_the_image_border() {
        // A full 3x3 square inside a 5x5 image: only its centre is interior.
        let mut m = vec![0u8; 25];
        for y in 1..4 {
            for x in 1..4 {
                m[y * 5 + x] = 1;
            }
        }
        let e = boundary(&m, 5, 5);
        assert_eq!(e.iter().filter(|&&b| b).count(), 8);
        assert!(!e[12]);
        // A full image: everything on the border is boundary (outside counts as background).
        let e = boundary(&[1; 9], 3, 3);
        assert_eq!(e.iter().filter(|&&b| b).count(), 8);
    }
}
