//! Metrics of an ellipse task: the regressed ellipse against the one fitted to the
//! reference mask, as fetal-biometry papers measure heads (Sobhaninia et al. 2019 regress
//! the ellipse parameters and report the head circumference error in mm).
//!
//! Parameters come in the encoding of [`crate::task::ELLIPSE_PARAMS`] and are decoded to
//! pixels of the experiment's image size before any metric.

use crate::data::ellipse::Ellipse;
use crate::task::{decode_ellipse, ELLIPSE_PARAMS};

/// Fraction of pixels of the union that lie in both ellipses, rasterised at pixel centres
/// on a grid four times finer than the image; 1 for identical ellipses. Both empty: 1.
pub fn iou(a: &Ellipse, b: &Ellipse, height: usize, width: usize) -> f64 {
    const SUB: usize = 4;
    let (mut inter, mut union) = (0usize, 0usize);
    for y in 0..height * SUB {
        for x in 0..width * SUB {
            let (px, py) = ((x as f64 + 0.5) / SUB as f64 - 0.5, (y as f64 + 0.5) / SUB as f64 - 0.5);
            let (ia, ib) = (a.contains(px, py), b.contains(px, py));
            inter += (ia && ib) as usize;
            union += (ia || ib) as usize;
        }
    }
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// Smallest angle between two axis orientations (period pi), in degrees.
fn angle_difference_deg(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(std::f64::consts::PI);
    d.min(std::f64::consts::PI - d).to_degrees()
}

/// One sample's errors, the terms the metrics average (each computed once, so bootstrap
/// resamples and the report's paired tests only re-average them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleErrors {
    /// [`iou`] of the reference and the regressed ellipse.
    pub iou: f64,
    /// Distance between the centres, px.
    pub centre: f64,
    /// Mean absolute semi-axis error, px.
    pub axes: f64,
    /// Axis-angle error in degrees; `None` for a (near-)circular reference, which has no axis.
    pub angle: Option<f64>,
    /// Absolute circumference error, px.
    pub circumference_px: f64,
    /// The same in mm (0 without pixel sizes).
    pub circumference_mm: f64,
}

/// [`SampleErrors`] of every sample.
pub fn per_sample(targets: &[f32], scores: &[f32], height: usize, width: usize, spacing: Option<&[f32]>) -> Vec<SampleErrors> {
    targets
        .chunks_exact(ELLIPSE_PARAMS)
        .zip(scores.chunks_exact(ELLIPSE_PARAMS))
        .enumerate()
        .map(|(i, (t, p))| {
            let (t, p) = (decode_ellipse(t, height, width), decode_ellipse(p, height, width));
            let error = (t.circumference() - p.circumference()).abs();
            SampleErrors {
                iou: iou(&t, &p, height, width),
                centre: ((t.cx - p.cx).powi(2) + (t.cy - p.cy).powi(2)).sqrt(),
                axes: ((t.a - p.a).abs() + (t.b - p.b).abs()) / 2.0,
                angle: (t.a > 1.05 * t.b).then(|| angle_difference_deg(t.angle, p.angle)),
                circumference_px: error,
                circumference_mm: spacing.map_or(0.0, |s| error * s[i] as f64),
            }
        })
        .collect()
}

/// The ellipse task's metrics, in the order the metric table lists them: mean IoU of the
/// ellipses, centre distance (px), mean absolute semi-axis error (px), axis-angle error
/// (degrees; circles have no axis, so ellipses whose axes differ by under 5 % are left out),
/// circumference error (px, Ramanujan's formula) and, with pixel sizes (mm per pixel, per
/// sample), the circumference error in mm.
pub fn metrics(targets: &[f32], scores: &[f32], height: usize, width: usize, spacing: Option<&[f32]>) -> Vec<(&'static str, f64)> {
    aggregate(&per_sample(targets, scores, height, width, spacing), spacing.is_some())
}

/// [`metrics`] of the samples whose errors are `rows` (repeats allowed, as in a bootstrap
/// resample).
pub fn aggregate<'a>(rows: impl IntoIterator<Item = &'a SampleErrors>, with_spacing: bool) -> Vec<(&'static str, f64)> {
    let (mut n, mut iou_sum, mut centre, mut axes, mut circ_px, mut circ_mm) = (0usize, 0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut angle, mut angled) = (0.0, 0usize);
    for r in rows {
        n += 1;
        iou_sum += r.iou;
        centre += r.centre;
        axes += r.axes;
        if let Some(a) = r.angle {
            angle += a;
            angled += 1;
        }
        circ_px += r.circumference_px;
        circ_mm += r.circumference_mm;
    }
    let mean = |v: f64| if n == 0 { f64::NAN } else { v / n as f64 };
    let mut out = vec![
        ("ellipse_iou", mean(iou_sum)),
        ("center_error_px", mean(centre)),
        ("axes_mae_px", mean(axes)),
        ("angle_error_deg", if angled == 0 { f64::NAN } else { angle / angled as f64 }),
        ("circumference_mae_px", mean(circ_px)),
    ];
    if with_spacing {
        out.push(("circumference_mae_mm", mean(circ_mm)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::encode_ellipse;

    #[test]
    fn identical_ellipses_score_perfectly_and_errors_have_their_units() {
        let (h, w) = (32, 40);
        let e = Ellipse { cx: 20.0, cy: 15.0, a: 10.0, b: 6.0, angle: 0.4 };
        let t = encode_ellipse(&e, h, w);
        let m = metrics(&t, &t, h, w, Some(&[0.5]));
        let get = |name: &str| m.iter().find(|(n, _)| *n == name).unwrap().1;
        assert!((get("ellipse_iou") - 1.0).abs() < 1e-12);
        assert!(get("center_error_px") < 1e-5 && get("axes_mae_px") < 1e-4 && get("circumference_mae_mm") < 1e-4);
        assert!(get("angle_error_deg") < 1e-3);
        // A copy moved by (3, 4) px and grown by 2 px on both axes: centre error 5 px, axes 2 px,
        // circumference error 2 pi 2 px ~ 12.57 px = 6.28 mm at 0.5 mm/px.
        let moved = encode_ellipse(&Ellipse { cx: 23.0, cy: 19.0, a: 12.0, b: 8.0, angle: 0.4 }, h, w);
        let m = metrics(&t, &moved, h, w, Some(&[0.5]));
        let get = |name: &str| m.iter().find(|(n, _)| *n == name).unwrap().1;
        assert!((get("center_error_px") - 5.0).abs() < 1e-4);
        assert!((get("axes_mae_px") - 2.0).abs() < 1e-4);
        let dc = e.circumference() - Ellipse { a: 12.0, b: 8.0, ..e }.circumference();
        assert!((get("circumference_mae_px") - dc.abs()).abs() < 1e-3 && (get("circumference_mae_mm") - dc.abs() / 2.0).abs() < 1e-3);
        assert!(get("ellipse_iou") < 0.9 && get("ellipse_iou") > 0.3);
        // The axis angle has period pi and the encoding keeps a >= b.
        let turned =
            encode_ellipse(&Ellipse { a: 6.0, b: 10.0, angle: 0.4 + std::f64::consts::FRAC_PI_2 + std::f64::consts::PI, ..e }, h, w);
        let m = metrics(&t, &turned, h, w, None);
        assert!(m.iter().find(|(n, _)| *n == "angle_error_deg").unwrap().1 < 1e-3, "{m:?}");
        assert!(!m.iter().any(|(n, _)| *n == "circumference_mae_mm"));
    }
}
