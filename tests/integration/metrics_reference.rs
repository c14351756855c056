//! Metrics against independent reference values computed once with scikit-learn
//! (`tests/fixtures/classification_regression_reference.json`; its `generator` field names
//! the versions). Metrics added later are checked against the same file.

use medmtl::metrics::{classification as c, regression as r};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/classification_regression_reference.json")).unwrap()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn close(got: f64, want: &Value, what: &str) {
    let want = want.as_f64().unwrap();
    assert!((got - want).abs() <= 1e-9, "{what}: got {got}, scikit-learn {want}");
}

#[test]
fn binary_acc_auc_f1_match_scikit_learn() {
    for (i, case) in fixture()["binary"].as_array().unwrap().iter().enumerate() {
        let t = u32s(&case["targets"]);
        let s = f32s(&case["scores"]);
        let p = c::binary_predictions(&s);
        close(c::accuracy(&t, &p), &case["acc"], &format!("binary case {i} acc"));
        close(c::binary_auc(&t, &s).unwrap(), &case["auc"], &format!("binary case {i} auc"));
        close(c::macro_f1(&t, &p, 2), &case["f1_macro"], &format!("binary case {i} f1"));
    }
}

#[test]
fn multiclass_acc_ovr_auc_f1_match_scikit_learn() {
    for (i, case) in fixture()["multiclass"].as_array().unwrap().iter().enumerate() {
        let k = case["classes"].as_u64().unwrap() as usize;
        let t = u32s(&case["targets"]);
        let s = f32s(&case["scores"]);
        let p = c::argmax_predictions(&s, k);
        close(c::accuracy(&t, &p), &case["acc"], &format!("multiclass case {i} acc"));
        let (auc, undefined) = c::ovr_macro_auc(&t, &s, k);
        assert_eq!(undefined, 0);
        close(auc.unwrap(), &case["auc"], &format!("multiclass case {i} auc"));
        close(c::macro_f1(&t, &p, k), &case["f1_macro"], &format!("multiclass case {i} f1"));
    }
}

#[test]
fn regression_metrics_match_scikit_learn() {
    for (i, case) in fixture()["regression"].as_array().unwrap().iter().enumerate() {
        let t = f32s(&case["targets"]);
        let p = f32s(&case["predicted"]);
        close(r::mae(&t, &p), &case["mae"], &format!("regression case {i} mae"));
        close(r::rmse(&t, &p), &case["rmse"], &format!("regression case {i} rmse"));
        close(r::r2(&t, &p), &case["r2"], &format!("regression case {i} r2"));
    }
}

#[test]
fn auc_is_undefined_without_both_classes_and_excluded_from_the_macro_mean() {
    assert_eq!(c::binary_auc(&[1, 1, 1], &[0.2, 0.5, 0.9]), None);
    // class 2 never occurs: its one-vs-rest AUC is undefined and left out.
    let scores = [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.6, 0.3, 0.1, 0.3, 0.6, 0.1];
    let (auc, undefined) = c::ovr_macro_auc(&[0, 1, 0, 1], &scores, 3);
    assert_eq!(undefined, 1);
    assert_eq!(auc, Some(1.0));
}
