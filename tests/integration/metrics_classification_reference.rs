//! The counting, ranking, calibration and multi-label classification metrics against
//! scikit-learn reference values (`fixtures/classification_regression_reference.json`,
//! `fixtures/multilabel_reference.json`; their `generator` fields name the versions), plus
//! hand-checked edge cases.

use medmtl::metrics::classification::{self as c, KappaWeights};
use serde_json::Value;

fn load(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// Counting metrics are exact; `brier` and `ece` in the fixture were accumulated in float32
/// by numpy, hence their looser (still < 1e-6) tolerance.
fn close(got: f64, want: &Value, tol: f64, what: &str) {
    let want = want.as_f64().unwrap();
    assert!((got - want).abs() <= tol, "{what}: got {got}, reference {want}");
}

#[test]
fn binary_counting_ranking_and_calibration_metrics_match_scikit_learn() {
    let fx = load(include_str!("fixtures/classification_regression_reference.json"));
    for (i, case) in fx["binary"].as_array().unwrap().iter().enumerate() {
        let t = u32s(&case["targets"]);
        let s = f32s(&case["scores"]);
        let p = c::binary_predictions(&s);
        let w = |m: &str| format!("binary case {i} {m}");
        close(c::balanced_accuracy(&t, &p, 2), &case["balanced_acc"], 1e-12, &w("balanced_acc"));
        close(c::sensitivity(&t, &p, 2), &case["sensitivity"], 1e-12, &w("sensitivity"));
        close(c::specificity(&t, &p, 2), &case["specificity"], 1e-12, &w("specificity"));
        close(c::mcc(&t, &p, 2), &case["mcc"], 1e-12, &w("mcc"));
        close(c::cohen_kappa(&t, &p, 2, KappaWeights::None), &case["kappa"], 1e-12, &w("kappa"));
        close(c::binary_average_precision(&t, &s).unwrap(), &case["ap"], 1e-12, &w("ap"));
        close(c::brier(&t, &s, 2), &case["brier"], 1e-7, &w("brier"));
        close(c::ece(&t, &s, 2), &case["ece"], 1e-7, &w("ece"));
    }
}

#[test]
fn multiclass_counting_ranking_and_calibration_metrics_match_scikit_learn() {
    let fx = load(include_str!("fixtures/classification_regression_reference.json"));
    for (i, case) in fx["multiclass"].as_array().unwrap().iter().enumerate() {
        let k = case["classes"].as_u64().unwrap() as usize;
        let t = u32s(&case["targets"]);
        let s = f32s(&case["scores"]);
        let p = c::argmax_predictions(&s, k);
        let w = |m: &str| format!("multiclass case {i} {m}");
        close(c::balanced_accuracy(&t, &p, k), &case["balanced_acc"], 1e-12, &w("balanced_acc"));
        close(c::sensitivity(&t, &p, k), &case["sensitivity"], 1e-12, &w("sensitivity"));
        close(c::specificity(&t, &p, k), &case["specificity"], 1e-12, &w("specificity"));
        close(c::mcc(&t, &p, k), &case["mcc"], 1e-12, &w("mcc"));
        close(c::cohen_kappa(&t, &p, k, KappaWeights::None), &case["kappa"], 1e-12, &w("kappa"));
        close(c::cohen_kappa(&t, &p, k, KappaWeights::Quadratic), &case["kappa_quadratic"], 1e-12, &w("kappa_q"));
        let (ap, undefined) = c::ovr_macro_average_precision(&t, &s, k);
        assert_eq!(undefined, 0);
        close(ap.unwrap(), &case["ap"], 1e-12, &w("ap"));
        close(c::brier(&t, &s, k), &case["brier"], 1e-7, &w("brier"));
        close(c::ece(&t, &s, k), &case["ece"], 1e-7, &w("ece"));
        close(c::grade_mae(&t, &p), &case["mae_grades"], 1e-12, &w("mae_grades"));
    }
}

#[test]
fn multilabel_mean_accuracy_and_auc_match_medmnist_semantics() {
    let fx = load(include_str!("fixtures/multilabel_reference.json"));
    for (i, case) in fx["cases"].as_array().unwrap().iter().enumerate() {
        let l = case["labels"].as_u64().unwrap() as usize;
        let t = u32s(&case["targets"]);
        let s = f32s(&case["scores"]);
        close(c::multilabel_mean_accuracy(&t, &s, l), &case["mean_acc"], 1e-12, &format!("case {i} acc"));
        let (auc, undefined) = c::multilabel_mean_auc(&t, &s, l);
        assert_eq!(undefined as u64, case["undefined_auc"].as_u64().unwrap(), "case {i}");
        close(auc.unwrap(), &case["mean_auc"], 1e-12, &format!("case {i} auc"));
    }
}

#[test]
fn hand_cases_weighted_kappa_and_average_precision() {
    // Targets [0,1,2], predictions [0,2,2]: one (1 -> 2) miss, so Σ w·O = 1 for both linear
    // and quadratic weights; marginals t = (1,1,1), p = (1,0,2), E = t p^T / 3.
    let (t, p) = ([0, 1, 2], [0, 2, 2]);
    let e = |i: usize, j: usize| [1.0, 1.0, 1.0][i] * [1.0, 0.0, 2.0][j] / 3.0;
    let (mut lin, mut quad) = (0.0, 0.0);
    for i in 0..3 {
        for j in 0..3 {
            let d = (i as f64 - j as f64).abs();
            lin += d * e(i, j);
            quad += d * d * e(i, j);
        }
    }
    assert!((c::cohen_kappa(&t, &p, 3, KappaWeights::Linear) - (1.0 - 1.0 / lin)).abs() < 1e-12);
    assert!((c::cohen_kappa(&t, &p, 3, KappaWeights::Quadratic) - (1.0 - 1.0 / quad)).abs() < 1e-12);
    // Ranking [+, -, +] with distinct scores: AP = 1/2·1 + 1/2·2/3.
    let ap = c::average_precision(&[true, false, true], &[0.9, 0.8, 0.7]).unwrap();
    assert!((ap - (0.5 + 1.0 / 3.0)).abs() < 1e-12);
    // All three tied: one threshold, AP = precision there = 2/3.
    let ap = c::average_precision(&[true, false, true], &[0.5, 0.5, 0.5]).unwrap();
    assert!((ap - 2.0 / 3.0).abs() < 1e-12);
}

#[test]
fn degenerate_inputs_give_documented_values_and_never_panic() {
    let nan = |v: f64| v.is_nan();
    // Empty input.
    assert!(nan(c::balanced_accuracy(&[], &[], 2)));
    assert!(nan(c::mcc(&[], &[], 3)));
    assert!(nan(c::cohen_kappa(&[], &[], 3, KappaWeights::Quadratic)));
    assert!(nan(c::ece(&[], &[], 2)));
    assert!(nan(c::brier(&[], &[], 3)));
    assert!(nan(c::grade_mae(&[], &[])));
    assert!(nan(c::multilabel_mean_accuracy(&[], &[], 3)));
    assert_eq!(c::multilabel_mean_auc(&[], &[], 3), (None, 3));
    assert_eq!(c::ovr_macro_average_precision(&[], &[], 3).0, None);
    // Labels out of range and mismatched lengths.
    assert!(nan(c::sensitivity(&[0, 5], &[0, 1], 2)));
    assert!(nan(c::specificity(&[0, 1], &[0], 2)));
    assert!(nan(c::brier(&[0, 1], &[0.2, 0.3, 0.4], 2)));
    // One class only: sensitivity is undefined without positives, specificity without
    // negatives; MCC is 0 (no skill), kappa undefined when both raters agree on one class.
    assert!(nan(c::sensitivity(&[0, 0], &[0, 1], 2)));
    assert_eq!(c::specificity(&[0, 0], &[0, 1], 2), 0.5);
    assert!(nan(c::specificity(&[1, 1], &[1, 1], 2)));
    assert_eq!(c::mcc(&[1, 1, 1], &[1, 1, 1], 2), 0.0);
    assert_eq!(c::mcc(&[0, 1, 1], &[1, 1, 1], 2), 0.0);
    assert!(nan(c::cohen_kappa(&[1, 1], &[1, 1], 2, KappaWeights::None)));
    assert_eq!(c::binary_average_precision(&[0, 0], &[0.1, 0.9]), None);
    // NaN scores: no ranking, NaN calibration.
    assert_eq!(c::binary_average_precision(&[0, 1], &[f32::NAN, 0.9]), None);
    assert!(nan(c::ece(&[0, 1], &[f32::NAN, 0.9], 2)));
    assert!(nan(c::brier(&[0, 1], &[f32::NAN, 0.9], 2)));
    // A class absent from the targets is left out of the macro AP and counted.
    let scores = [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.6, 0.3, 0.1, 0.3, 0.6, 0.1];
    assert_eq!(c::ovr_macro_average_precision(&[0, 1, 0, 1], &scores, 3), (Some(1.0), 1));
}

#[test]
fn ece_bins_are_lower_open_upper_closed() {
    // p = 0.75 twice, one right and one wrong: one bin, |0.5 - 0.75|.
    assert!((c::ece(&[1, 0], &[0.75, 0.75], 2) - 0.25).abs() < 1e-12);
    // p = 0.5: confidence 0.5, predicted class 0 (first maximum), correct for target 0.
    assert!((c::ece(&[0], &[0.5], 2) - 0.5).abs() < 1e-12);
    // Multi-class confidence 1.0 belongs to the last bin (14/15, 1].
    assert_eq!(c::ece(&[2], &[0.0, 0.0, 1.0], 3), 0.0);
}
