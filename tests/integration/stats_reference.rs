//! Rank statistics and Δm against scipy and the published Δm functions
//! (`fixtures/stats_reference.json`; its `generator` field names the versions), and the
//! bootstrap's determinism, calibration and documented p-value.

use medmtl::stats::{self, bootstrap_ci, paired_bootstrap, paired_bootstrap_p};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/stats_reference.json")).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn nested(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(f64s).collect()
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol, "{what}: got {got}, reference {want}");
}

#[test]
fn kendall_tau_b_matches_scipy_with_ties() {
    for (i, case) in fixture()["kendall"].as_array().unwrap().iter().enumerate() {
        let got = stats::kendall_tau_b(&f64s(&case["a"]), &f64s(&case["b"]));
        close(got, case["tau_b"].as_f64().unwrap(), 1e-12, &format!("kendall case {i}"));
    }
}

#[test]
fn kendall_tau_b_hand_cases() {
    assert_eq!(stats::kendall_tau_b(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
    assert_eq!(stats::kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
    // Pairs: (1,2) tied in a; (1,3), (2,3) concordant. tau_b = 2 / sqrt((3-1)(3-0)).
    close(stats::kendall_tau_b(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]), 2.0 / 6f64.sqrt(), 1e-15, "ties");
    assert!(stats::kendall_tau_b(&[1.0, 1.0], &[1.0, 2.0]).is_nan(), "constant argument");
    assert!(stats::kendall_tau_b(&[1.0], &[1.0]).is_nan());
    assert!(stats::kendall_tau_b(&[1.0, 2.0], &[1.0]).is_nan());
    assert!(stats::kendall_tau_b(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 3.0]).is_nan());
}

#[test]
fn ranks_match_scipy_rankdata_average() {
    for case in fixture()["ranks"].as_array().unwrap() {
        let got = stats::ranks(&f64s(&case["values"]), case["higher_is_better"].as_bool().unwrap());
        assert_eq!(got, f64s(&case["ranks"]));
    }
    let r = stats::ranks(&[0.5, f64::NAN, 0.9], true);
    assert_eq!((r[0], r[2]), (2.0, 1.0));
    assert!(r[1].is_nan());
    // Three datasets, three methods; method 2 is missing on the last dataset.
    let scores = vec![vec![0.9, 0.8, 0.7], vec![0.7, 0.8, 0.9], vec![0.9, 0.9, f64::NAN]];
    assert_eq!(stats::mean_ranks(&scores, true), vec![(1.0 + 3.0 + 1.5) / 3.0, 2.0 * 2.0 / 3.0 + 1.5 / 3.0, 2.0]);
    assert!(stats::mean_ranks(&[], true).is_empty());
}

#[test]
fn delta_m_and_its_published_variants() {
    for (i, case) in fixture()["delta_m"].as_array().unwrap().iter().enumerate() {
        let base = nested(&case["base"]);
        let new = nested(&case["new"]);
        let hib: Vec<Vec<bool>> = case["higher_is_better"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect())
            .collect();
        let what = |m: &str| format!("delta case {i} {m}");
        close(stats::delta_m(&new, &base, &hib), case["medmtl"].as_f64().unwrap(), 1e-10, &what("medmtl"));
        close(stats::delta_m_libmtl(&new, &base, &hib), case["libmtl"].as_f64().unwrap(), 1e-12, &what("libmtl"));
        let flat = |v: &[Vec<f64>]| v.concat();
        let nash = stats::delta_m_nashmtl(&flat(&new), &flat(&base), &hib.concat());
        close(nash, case["nashmtl"].as_f64().unwrap(), 1e-10, &what("nashmtl"));
    }
    // Hand case: one task, accuracy 0.8 -> 0.88 (+10 %), error 2.0 -> 2.2 (lower is better, -10 %).
    let hib = vec![vec![true], vec![false]];
    close(stats::delta_m(&[vec![0.88], vec![2.2]], &[vec![0.8], vec![2.0]], &hib), 0.0, 1e-12, "hand");
    close(stats::delta_m(&[vec![0.88]], &[vec![0.8]], &[vec![true]]), 10.0, 1e-12, "hand +10");
    // A negative baseline (R² = -0.5 -> -0.25 is better): medmtl stays positive.
    assert!(stats::delta_m(&[vec![-0.25]], &[vec![-0.5]], &[vec![true]]) > 0.0);
    assert!(stats::delta_m_libmtl(&[vec![-0.25]], &[vec![-0.5]], &[vec![true]]) < 0.0);
    // Undefined inputs.
    assert!(stats::delta_m(&[vec![1.0]], &[vec![0.0]], &[vec![true]]).is_nan(), "zero baseline");
    assert!(stats::delta_m(&[vec![1.0]], &[vec![1.0, 2.0]], &[vec![true]]).is_nan(), "shapes");
    assert!(stats::delta_m(&[vec![]], &[vec![]], &[vec![]]).is_nan(), "empty task");
    assert!(stats::delta_m(&[], &[], &[]).is_nan());
    assert!(stats::delta_m(&[vec![f64::NAN]], &[vec![1.0]], &[vec![true]]).is_nan());
    assert!(stats::delta_m_nashmtl(&[], &[], &[]).is_nan());
}

/// A fixed pseudo-random sample (no dependency on the bootstrap's own stream).
fn sample(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

fn mean_at(x: &[f64], idx: &[usize]) -> f64 {
    idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64
}

#[test]
fn bootstrap_ci_is_deterministic_and_close_to_the_normal_interval_for_a_mean() {
    let x = sample(400, 1);
    let ci = bootstrap_ci(|idx| mean_at(&x, idx), x.len(), 2000, 42, 0.95);
    assert_eq!(ci, bootstrap_ci(|idx| mean_at(&x, idx), x.len(), 2000, 42, 0.95));
    assert_ne!(ci, bootstrap_ci(|idx| mean_at(&x, idx), x.len(), 2000, 43, 0.95));
    let s = stats::summarize(&x);
    let half = 1.96 * s.std * ((x.len() - 1) as f64 / x.len() as f64).sqrt() / (x.len() as f64).sqrt();
    close(ci.0, s.mean - half, 0.15 * half, "lower end");
    close(ci.1, s.mean + half, 0.15 * half, "upper end");
    // A statistic that ignores the resample has a zero-width interval.
    assert_eq!(bootstrap_ci(|_| 0.7, 10, 1000, 0, 0.95), (0.7, 0.7));
    // Fewer than MIN_RESAMPLES are raised to it: the same as asking for 1000.
    assert_eq!(bootstrap_ci(|i| mean_at(&x, i), 400, 10, 5, 0.9), bootstrap_ci(|i| mean_at(&x, i), 400, 1000, 5, 0.9));
    // Undefined resamples are dropped; nothing defined or no samples gives NaN.
    let (lo, hi) = bootstrap_ci(|_| f64::NAN, 10, 1000, 0, 0.95);
    assert!(lo.is_nan() && hi.is_nan());
    assert!(bootstrap_ci(|_| 1.0, 0, 1000, 0, 0.95).0.is_nan());
    assert!(bootstrap_ci(|_| 1.0, 5, 1000, 0, 1.0).0.is_nan());
}

#[test]
fn paired_bootstrap_p_follows_the_documented_procedure() {
    let a = sample(200, 2);
    // Identical models: every difference is 0, p = 1.
    let same = paired_bootstrap(|i| mean_at(&a, i), |i| mean_at(&a, i), a.len(), 1000, 7);
    assert_eq!((same.difference, same.p_value, same.resamples), (0.0, 1.0, 1000));
    // Model b is a uniformly worse copy: every resampled difference is positive, so p hits
    // its floor 2 / (B + 1).
    let b: Vec<f64> = a.iter().map(|v| v - 0.05).collect();
    let r = paired_bootstrap(|i| mean_at(&a, i), |i| mean_at(&b, i), a.len(), 1999, 7);
    close(r.difference, 0.05, 1e-12, "difference");
    close(r.p_value, 2.0 / 2000.0, 1e-15, "p floor");
    assert!(r.ci.0 > 0.0);
    // Noisy, unrelated models: p in (0, 1], the same for the same seed, and p < 0.05 agrees
    // with the 95 % interval excluding 0 (both read the same tail).
    let c = sample(200, 3);
    let pa = |i: &[usize]| mean_at(&a, i);
    let pc = |i: &[usize]| mean_at(&c, i);
    let r = paired_bootstrap(pa, pc, a.len(), 1000, 11);
    assert!(r.p_value > 0.0 && r.p_value <= 1.0);
    assert_eq!(r.p_value, paired_bootstrap_p(pa, pc, a.len(), 1000, 11));
    assert_eq!(r.p_value < 0.05, r.ci.0 > 0.0 || r.ci.1 < 0.0);
    assert!(paired_bootstrap_p(|_| 1.0, |_| 1.0, 0, 1000, 0).is_nan());
}
