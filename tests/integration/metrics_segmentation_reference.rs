//! Segmentation metrics against values computed with MONAI itself and with an independent
//! float64 scipy re-implementation of MONAI's definitions
//! (`fixtures/segmentation_reference.json`; its `generator` field names the versions), plus
//! hand-computed tiny cases and every empty-mask case.

use medmtl::metrics::segmentation::{self as s, Distance};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/segmentation_reference.json")).unwrap()
}

/// numpy.packbits hex (row-major, most significant bit first) back to a 0/1 mask.
fn unpack(hex: &str, len: usize) -> Vec<u8> {
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    (0..len).map(|i| (bytes[i / 8] >> (7 - i % 8)) & 1).collect()
}

fn number(v: &Value) -> f64 {
    match v.as_str() {
        Some("nan") => f64::NAN,
        Some("inf") => f64::INFINITY,
        _ => v.as_f64().unwrap(),
    }
}

/// MONAI computes distances in float32, hence the relative tolerance against it; the
/// float64 re-implementation is matched to 1e-9.
fn close(got: f64, want: f64, rel: f64, what: &str) {
    let ok = (got.is_nan() && want.is_nan()) || (got - want).abs() <= rel * want.abs().max(1.0);
    assert!(ok, "{what}: got {got}, reference {want}");
}

#[test]
fn binary_metrics_match_monai_and_the_float64_reimplementation() {
    for case in fixture()["binary"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (h, w) = (case["height"].as_u64().unwrap() as usize, case["width"].as_u64().unwrap() as usize);
        let sp = (case["spacing"][0].as_f64().unwrap(), case["spacing"][1].as_f64().unwrap());
        let tau = case["tau"].as_f64().unwrap();
        let r = unpack(case["reference"].as_str().unwrap(), h * w);
        let p = unpack(case["prediction"].as_str().unwrap(), h * w);
        let m = &case["monai"];
        let got = s::binary_metrics(&r, &p, h, w, sp, tau);
        let d = s::surface_distances(&r, &p, h, w, sp);
        let (ref_empty, pred_empty) = (!r.contains(&1), !p.contains(&1));
        // medmtl: both empty -> NaN (MONAI ignore_empty=True); empty reference with a
        // prediction -> 0 (MONAI ignore_empty=False; True would say NaN).
        let (dice_key, iou_key) =
            if ref_empty && !pred_empty { ("dice_not_ignore_empty", "iou_not_ignore_empty") } else { ("dice", "iou") };
        close(got.dice, number(&m[dice_key]), 1e-6, &format!("{name} dice"));
        close(got.iou, number(&m[iou_key]), 1e-6, &format!("{name} iou"));
        close(s::dice(&r, &p), got.dice, 0.0, name);
        close(s::iou(&r, &p), got.iou, 0.0, name);
        close(got.nsd, number(&m["nsd"]), 1e-6, &format!("{name} nsd"));
        if ref_empty != pred_empty {
            // MONAI: inf (HD, ASSD) or NaN (HD95: torch.quantile of infs); medmtl: flagged diagonal.
            let diagonal = ((h as f64 * sp.0).powi(2) + (w as f64 * sp.1).powi(2)).sqrt();
            assert!(number(&m["assd"]).is_infinite() && number(&m["hd"]).is_infinite(), "{name}");
            for v in [got.hd95, got.assd, d.hausdorff(100.0)] {
                assert_eq!(v, Distance { value: diagonal, fallback: true }, "{name}");
            }
            continue;
        }
        close(got.hd95.value, number(&m["hd95"]), 2e-6, &format!("{name} hd95 vs MONAI"));
        close(got.assd.value, number(&m["assd"]), 2e-6, &format!("{name} assd vs MONAI"));
        close(d.hausdorff(100.0).value, number(&m["hd"]), 2e-6, &format!("{name} hd vs MONAI"));
        assert!(!got.hd95.fallback && !got.assd.fallback);
        if let Some(f) = case.get("f64") {
            close(got.hd95.value, f["hd95"].as_f64().unwrap(), 1e-9, &format!("{name} hd95 vs f64"));
            close(got.assd.value, f["assd"].as_f64().unwrap(), 1e-9, &format!("{name} assd vs f64"));
            close(d.hausdorff(100.0).value, f["hd"].as_f64().unwrap(), 1e-9, &format!("{name} hd vs f64"));
            close(got.nsd, f["nsd"].as_f64().unwrap(), 1e-12, &format!("{name} nsd vs f64"));
        }
    }
}

#[test]
fn multiclass_label_maps_match_monai_per_foreground_class() {
    for (i, case) in fixture()["multiclass"].as_array().unwrap().iter().enumerate() {
        let (h, w) = (case["height"].as_u64().unwrap() as usize, case["width"].as_u64().unwrap() as usize);
        let classes = case["classes"].as_u64().unwrap() as usize;
        let sp = (case["spacing"][0].as_f64().unwrap(), case["spacing"][1].as_f64().unwrap());
        let labels = |k: &str| -> Vec<u8> { case[k].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect() };
        let got = s::multiclass_metrics(&labels("reference"), &labels("prediction"), h, w, sp, classes, case["tau"].as_f64().unwrap());
        assert_eq!(got.per_class.len(), classes - 1);
        let dice_alone = s::multiclass_dice(&labels("reference"), &labels("prediction"), classes);
        assert!(dice_alone.to_bits() == got.dice.to_bits(), "case {i}: Dice alone {dice_alone} vs with distances {}", got.dice);
        let m = &case["monai"];
        let mut fallbacks = 0;
        for (c, g) in got.per_class.iter().enumerate() {
            let what = |k: &str| format!("case {i} class {} {k}", c + 1);
            close(g.nsd, number(&m["nsd"][c]), 1e-6, &what("nsd"));
            if number(&m["assd"][c]).is_infinite() {
                // Only in the prediction: MONAI Dice NaN (ignore_empty), medmtl 0; distances fall back.
                assert_eq!((g.dice, g.iou), (0.0, 0.0), "{}", what("dice"));
                assert!(g.hd95.fallback && g.assd.fallback);
                fallbacks += 1;
                continue;
            }
            close(g.dice, number(&m["dice"][c]), 1e-6, &what("dice"));
            close(g.iou, number(&m["iou"][c]), 1e-6, &what("iou"));
            close(g.hd95.value, number(&m["hd95"][c]), 2e-6, &what("hd95"));
            close(g.assd.value, number(&m["assd"][c]), 2e-6, &what("assd"));
        }
        assert_eq!(got.distance_fallbacks, fallbacks);
        // Means over the classes where each metric is defined.
        let mean = |f: &dyn Fn(&s::BinaryMetrics) -> f64| {
            let v: Vec<f64> = got.per_class.iter().map(f).filter(|x| x.is_finite()).collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        close(got.dice, mean(&|m| m.dice), 1e-12, "mean dice");
        close(got.hd95, mean(&|m| m.hd95.value), 1e-12, "mean hd95");
        close(got.nsd, mean(&|m| m.nsd), 1e-12, "mean nsd");
    }
}

#[test]
fn hand_computed_tiny_cases() {
    // 1x4 image: reference {(0,0)}, prediction {(0,0), (0,3)}. Boundaries are the masks.
    // pred->ref distances [0, 3], ref->pred [0].
    let (r, p) = ([1, 0, 0, 0], [1, 0, 0, 1]);
    let m = s::binary_metrics(&r, &p, 1, 4, (1.0, 1.0), 1.0);
    close(m.dice, 2.0 / 3.0, 1e-15, "dice");
    close(m.iou, 0.5, 1e-15, "iou");
    close(m.hd95.value, 2.85, 1e-12, "hd95 = quantile([0, 3], 0.95)"); // max(2.85, 0)
    close(m.assd.value, 1.0, 1e-15, "assd = (0 + 3 + 0) / 3");
    close(m.nsd, 2.0 / 3.0, 1e-15, "nsd");
    close(s::hausdorff(&r, &p, 1, 4, (1.0, 1.0), 100.0).value, 3.0, 1e-15, "hd");
    // Anisotropic spacing: two 1x2 bars two rows apart, rows 2 mm high: every distance 4 mm.
    let r = [1, 1, 0, 0, 0, 0];
    let p = [0, 0, 0, 0, 1, 1];
    let m = s::binary_metrics(&r, &p, 3, 2, (2.0, 1.0), 3.9);
    close(m.hd95.value, 4.0, 1e-15, "hd95");
    close(m.assd.value, 4.0, 1e-15, "assd");
    assert_eq!(m.nsd, 0.0);
    close(s::nsd(&r, &p, 3, 2, (2.0, 1.0), 4.0), 1.0, 0.0, "nsd at tau = distance (<=)");
    // Diagonal offset with spacing: (3 * 0.5, 4 * 0.75) mm.
    let mut r = vec![0u8; 25];
    let mut p = vec![0u8; 25];
    r[0] = 1;
    p[3 * 5 + 4] = 1;
    close(s::hd95(&r, &p, 5, 5, (0.5, 0.75)).value, (1.5f64.powi(2) + 3.0f64.powi(2)).sqrt(), 1e-15, "diag");
}

#[test]
fn empty_masks_follow_the_stated_conventions() {
    let empty = [0u8; 12];
    let mut some = [0u8; 12];
    some[5] = 1;
    let (h, w, sp) = (3, 4, (2.0, 1.0));
    let both = s::binary_metrics(&empty, &empty, h, w, sp, 1.0);
    assert!(both.dice.is_nan() && both.iou.is_nan() && both.nsd.is_nan());
    assert!(both.hd95.value.is_nan() && !both.hd95.fallback && both.assd.value.is_nan());
    let diagonal = (36.0f64 + 16.0).sqrt();
    for (r, p) in [(&empty, &some), (&some, &empty)] {
        let m = s::binary_metrics(r, p, h, w, sp, 1.0);
        assert_eq!((m.dice, m.iou, m.nsd), (0.0, 0.0, 0.0));
        assert_eq!(m.hd95, Distance { value: diagonal, fallback: true });
        assert_eq!(m.assd, Distance { value: diagonal, fallback: true });
    }
    let summary = s::summarize_distances(&[
        Distance { value: 1.0, fallback: false },
        Distance { value: 7.0, fallback: true },
        Distance { value: f64::NAN, fallback: false },
    ]);
    assert_eq!(summary, s::DistanceSummary { mean: 4.0, n: 2, fallbacks: 1, undefined: 1 });
    assert!(s::summarize_distances(&[]).mean.is_nan());
}

#[test]
fn pooled_dice_sums_counts_over_images() {
    let a: (&[u8], &[u8]) = (&[1, 1, 0, 0], &[1, 0, 0, 0]); // TP 1, |A| 2, |B| 1
    let b: (&[u8], &[u8]) = (&[0, 0, 0, 0], &[0, 0, 1, 1]); // TP 0, |A| 0, |B| 2
    let c: (&[u8], &[u8]) = (&[0, 0, 0, 0], &[0, 0, 0, 0]); // contributes nothing
    close(s::dice_pooled([a, b, c]), 2.0 / 5.0, 1e-15, "pooled");
    assert!(s::dice_pooled([c]).is_nan());
    assert!(s::dice_pooled(std::iter::empty()).is_nan());
}

#[test]
fn invalid_input_gives_nan_not_a_panic() {
    assert!(s::dice(&[1, 0], &[1]).is_nan());
    assert!(s::hd95(&[1, 0, 0], &[1, 0, 0], 2, 2, (1.0, 1.0)).value.is_nan());
    assert!(s::assd(&[1, 0, 0, 0], &[1, 0, 0, 0], 2, 2, (0.0, 1.0)).value.is_nan());
    assert!(s::nsd(&[1, 0, 0, 0], &[1, 0, 0, 0], 2, 2, (f64::NAN, 1.0), 1.0).is_nan());
    assert!(s::binary_metrics(&[1], &[1, 1], 1, 1, (1.0, 1.0), 1.0).dice.is_nan());
    assert!(s::binary_metrics(&[], &[], 0, 0, (1.0, 1.0), 1.0).dice.is_nan());
    assert_eq!(s::boundary(&[1, 1], 3, 3), vec![false, false]);
    let m = s::multiclass_metrics(&[0, 1], &[0, 1], 1, 2, (1.0, 1.0), 0, 1.0);
    assert!(m.per_class.is_empty() && m.dice.is_nan());
}
