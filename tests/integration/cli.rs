//! The `bench-all` command line: help, bad configuration rejected before any training, and a
//! skipped experiment when data cannot be had.

use std::process::Command;

fn bench_all() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bench-all"))
}

#[test]
fn help_explains_the_options() {
    let out = bench_all().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--suite", "--data-dir", "--out", "--strict", "--allow-unverified", "MEDMTL_DATA_DIR"] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn a_bad_suite_fails_before_training_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "name = \"bad\"\nseeds = [0]\ndesigns = [\"hps\", \"mtan2\"]\n[train]\nepochs = 1\n\
         [[experiment]]\nname = \"x\"\ndataset = \"phantoms\"\ntasks = [{ name = \"s\", kind = \"multiclass\", source = \"shape\" }]\n",
    )
    .unwrap();
    let out = bench_all()
        .args(["--suite", path.to_str().unwrap(), "--out"])
        .arg(dir.path().join("results"))
        .arg("--reports")
        .arg(dir.path().join("reports"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("mtan2") && err.contains("hps"), "{err}");
    assert!(!dir.path().join("results").exists(), "nothing may be written for a bad suite");
}

#[test]
fn unavailable_data_skips_the_experiment_and_strict_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(
        &path,
        "name = \"s\"\nseeds = [0]\ndesigns = [\"hps\"]\n[train]\nepochs = 1\nbatch_size = 32\n[model]\nbackbone = \"small-cnn\"\nwidth = 4\n\
         [[experiment]]\nname = \"retina\"\ndataset = \"retinamnist\"\ntasks = [{ name = \"g\", kind = \"ordinal\" }]\n\
         [[experiment]]\nname = \"ph\"\ndataset = \"phantoms\"\ntasks = [{ name = \"s\", kind = \"multiclass\", source = \"shape\" }]\n\
         [experiment.phantoms]\nsize = 8\ntrain = 32\nval = 16\ntest = 16\n",
    )
    .unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = |strict: bool| {
        let mut cmd = bench_all();
        cmd.current_dir(dir.path())
            .env_remove("MEDMTL_DATA_DIR")
            .args(["--suite", path.to_str().unwrap(), "--offline", "--data-dir"])
            .arg(&empty);
        if strict {
            cmd.arg("--strict");
        }
        cmd.output().unwrap()
    };
    let out = run(false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = std::fs::read_to_string(dir.path().join("reports/s/report.md")).unwrap();
    assert!(report.contains("Skipped experiments") && report.contains("retinamnist.npz"), "{report}");
    assert!(report.contains("Experiment `ph`"));
    let strict = run(true);
    assert!(!strict.status.success());
    assert!(String::from_utf8_lossy(&strict.stderr).contains("retinamnist.npz"));
}

/// `medmtl speed --weighting gradnorm` times GradNorm itself, not the plain EW steps of its
/// first epoch.
#[test]
fn speed_times_a_weighting_method_past_its_warm_up() {
    for method in ["gradnorm", "dwa", "pcgrad"] {
        let out = Command::new(env!("CARGO_BIN_EXE_medmtl"))
            .args(["speed", "--model", "small-cnn", "--mode", "train", "--batch", "4", "--steps", "1", "--warmup", "0", "--threads", "1"])
            .args(["--weighting", method])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(result["weighting"], method);
        assert_eq!(result["past_warm_up"], true, "{method}: {result}");
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_medmtl")).args(["speed", "--weighting", "gradnrom"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("gradnorm"), "the error lists the methods");
}

/// `medmtl compare A B | head` must not panic when the reader closes the pipe.
#[test]
fn a_closed_stdout_pipe_is_not_an_error() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_medmtl")).arg("list").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is written
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
