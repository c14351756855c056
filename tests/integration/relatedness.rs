//! Task relatedness: CKA and Spearman's ρ against independently computed values (numpy /
//! scipy, committed in fixtures/relatedness_reference.json), and the relatedness dial end to
//! end through `bench-all`: identical tasks (ρ = 1) have more aligned gradients than unrelated
//! ones (ρ = 0), every history carries the relatedness and weight columns, STL runs record
//! CKA, and the report shows the section, the dial and the gain figure.

use std::path::Path;
use std::process::Command;

use medmtl::results::{read_history, read_suite_table};
use medmtl::stats::{linear_cka, spearman_rho};

fn reference() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/relatedness_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn cka_and_spearman_match_numpy_and_scipy() {
    let r = reference();
    let n = 12;
    let x: Vec<f32> = (0..n).flat_map(|i| (0..5).map(move |k| ((0.7 * i as f64 + 1.3 * k as f64).sin() + 0.1 * k as f64) as f32)).collect();
    let y: Vec<f32> = (0..n)
        .flat_map(|i| {
            (0..4).map(move |k| {
                let xk = (0.7 * i as f64 + 1.3 * (k % 3) as f64).sin() + 0.1 * (k % 3) as f64;
                ((0.4 * i as f64 * (k + 1) as f64).cos() + 0.5 * xk) as f32
            })
        })
        .collect();
    let expected = r["cka"]["cka_xy"].as_f64().unwrap();
    let got = linear_cka(&x, &y, n);
    // f32 features: agreement to single precision.
    assert!((got - expected).abs() < 1e-5, "CKA {got} vs numpy {expected}");
    assert!((linear_cka(&x, &x, n) - 1.0).abs() < 1e-9);

    let floats = |v: &serde_json::Value| -> Vec<f64> { v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect() };
    let (a, b) = (floats(&r["spearman"]["a"]), floats(&r["spearman"]["b"]));
    let expected = r["spearman"]["rho"].as_f64().unwrap();
    assert!((spearman_rho(&a, &b) - expected).abs() < 1e-12, "{} vs scipy {expected}", spearman_rho(&a, &b));
}

const SUITE: &str = r#"
name = "dial"
seeds = [0]
designs = ["stl", "hps"]
weightings = ["ew", "uw"]
weighting_designs = ["hps"]
[train]
epochs = 3
batch_size = 32
lr = 0.005
affinity = true
[model]
backbone = "small-cnn"
width = 4

[[experiment]]
name = "unrelated"
dataset = "phantoms"
tasks = [{ name = "a", kind = "binary", source = "dial_a" }, { name = "b", kind = "binary", source = "dial_b" }]
[experiment.phantoms]
size = 16
train = 256
val = 64
test = 128
seed = 3
relatedness = 0.0

[[experiment]]
name = "identical"
dataset = "phantoms"
tasks = [{ name = "a", kind = "binary", source = "dial_a" }, { name = "b", kind = "binary", source = "dial_b" }]
[experiment.phantoms]
size = 16
train = 256
val = 64
test = 128
seed = 3
relatedness = 1.0
"#;

#[test]
fn the_dial_aligns_gradients_and_every_run_records_relatedness() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("dial.toml");
    std::fs::write(&suite, SUITE).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_bench-all"))
        .arg("--suite")
        .arg(&suite)
        .arg("--out")
        .arg(dir.path().join("results"))
        .arg("--reports")
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    assert!(o.status.success(), "bench-all failed: {}", String::from_utf8_lossy(&o.stderr));
    let table = read_suite_table(&dir.path().join("results").join("dial")).unwrap();
    let mut cosine = std::collections::BTreeMap::new();
    for (meta, run_dir) in table.runs.iter().zip(&table.run_dirs) {
        let history = read_history(&run_dir.join("history.csv")).unwrap();
        assert_eq!(history.len(), 3 * 2, "{}: one row per epoch and task", meta.run_id);
        assert!(history.iter().all(|h| h.weight.0.is_finite()), "{}: weights recorded", meta.run_id);
        if meta.design == "stl" {
            assert!(history.iter().all(|h| h.relatedness.is_empty()), "STL shares nothing");
            let cka = std::fs::read_to_string(run_dir.join("cka.json")).unwrap();
            let cka: serde_json::Value = serde_json::from_str(&cka).unwrap();
            let stages = cka["pairs"][0]["per_stage"].as_array().unwrap();
            assert!(!stages.is_empty() && stages.iter().all(|v| (-1e-9..=1.0 + 1e-9).contains(&v.as_f64().unwrap())), "{cka}");
            continue;
        }
        // Equal and uncertainty weighting need no per-task gradients: measured every 16th step,
        // so on 8 steps per epoch every other epoch.
        let a = history.iter().filter(|h| h.task == "a" && !h.relatedness.is_empty()).collect::<Vec<_>>();
        assert!(!a.is_empty() && a.iter().all(|h| h.relatedness.len() == 1 && h.relatedness[0].partner == "b"), "{}", meta.run_id);
        assert!(a.iter().all(|h| h.relatedness[0].affinity.is_finite()), "{}: affinity measured", meta.run_id);
        let steps: f64 = a.iter().map(|h| h.relatedness[0].steps).sum();
        let mean = a.iter().map(|h| h.relatedness[0].cos[0] * h.relatedness[0].steps).sum::<f64>() / steps;
        cosine.insert((meta.experiment.clone(), meta.weighting.clone()), mean);
    }
    for w in ["ew", "uw"] {
        let (same, unrelated) = (cosine[&("identical".to_owned(), w.to_owned())], cosine[&("unrelated".to_owned(), w.to_owned())]);
        assert!(same > unrelated + 0.1, "hps+{w}: cosine {same} at rho = 1 vs {unrelated} at rho = 0");
    }

    let reports = dir.path().join("reports").join("dial");
    let md = std::fs::read_to_string(reports.join("report.md")).unwrap();
    for needle in ["### Task relatedness", "## Relatedness and MTL gain", "The relatedness dial", "Spearman", "stage 1"] {
        assert!(md.contains(needle), "report lacks {needle:?}");
    }
    for figure in ["relatedness_dial.svg", "relatedness_gain.png", "identical__weights.svg"] {
        assert!(reports.join("figures").join(figure).is_file(), "no figure {figure}");
    }
    let gains = std::fs::read_to_string(reports.join("tables").join("relatedness_gain.csv")).unwrap();
    assert!(gains.lines().any(|l| l.starts_with("identical,1,hps,uw,")), "{gains}");
}
