//! A suite's life on disk: regression checks against baselines, resuming after SIGKILL,
//! sharding and merging. Drives the real `bench-all` and `medmtl` binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn bin(name: &str) -> Command {
    Command::new(match name {
        "bench-all" => env!("CARGO_BIN_EXE_bench-all"),
        _ => env!("CARGO_BIN_EXE_medmtl"),
    })
}

fn suite(dir: &Path, name: &str, epochs: usize, designs: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\nseeds = [0, 1]\ndesigns = [{designs}]\nweightings = [\"ew\"]\n\
             [train]\nepochs = {epochs}\nbatch_size = 32\nlr = 0.005\n[model]\nbackbone = \"small-cnn\"\nwidth = 4\n\
             [[experiment]]\nname = \"ph\"\ndataset = \"phantoms\"\n\
             tasks = [{{ name = \"large\", kind = \"binary\", source = \"area\", positive_at_least = 0.1 }}, {{ name = \"area\", kind = \"regression\", source = \"area\" }}]\n\
             [experiment.phantoms]\nsize = 16\ntrain = 256\nval = 128\ntest = 128\nseed = 3\n"
        ),
    )
    .unwrap();
    path
}

fn run_suite(suite: &Path, out: &Path, extra: &[&str]) -> Output {
    let out = bin("bench-all")
        .arg("--suite")
        .arg(suite)
        .arg("--out")
        .arg(out.join("results"))
        .arg("--reports")
        .arg(out.join("reports"))
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "bench-all failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `bench-all` on `suite` into `out`, in the background (stderr discarded).
fn spawn_suite(suite: &Path, out: &Path) -> std::process::Child {
    bin("bench-all")
        .arg("--suite")
        .arg(suite)
        .arg("--out")
        .arg(out.join("results"))
        .arg("--reports")
        .arg(out.join("reports"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn medmtl(args: &[&str]) -> Output {
    bin("medmtl").args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn metrics_csv(results: &Path) -> Vec<String> {
    // Every value column, ordered, without the volatile nothing: metrics.csv holds only
    // deterministic values (timings live in run.json).
    let mut lines: Vec<String> = std::fs::read_to_string(results.join("metrics.csv")).unwrap().lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn regression_check_catches_degraded_runs_and_lost_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let good = suite(dir.path(), "reg", 6, "\"stl\", \"hps\"");
    run_suite(&good, &dir.path().join("good"), &[]);
    let results = dir.path().join("good/results/reg");
    let baseline = dir.path().join("baseline.csv");
    let b = medmtl(&["baseline", results.to_str().unwrap(), "--out", baseline.to_str().unwrap()]);
    assert!(b.status.success(), "{}", text(&b));

    // The baseline passes its own check.
    let json = dir.path().join("check.json");
    let c = medmtl(&["check", "--baseline", baseline.to_str().unwrap(), results.to_str().unwrap(), "--json", json.to_str().unwrap()]);
    assert!(c.status.success(), "{}", text(&c));
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(summary["passed"], true);

    // One epoch instead of six: quality falls outside the band, named in the message.
    let degraded = suite(dir.path(), "reg", 1, "\"stl\", \"hps\"");
    run_suite(&degraded, &dir.path().join("bad"), &[]);
    let c = medmtl(&["check", "--baseline", baseline.to_str().unwrap(), dir.path().join("bad/results/reg").to_str().unwrap()]);
    assert!(!c.status.success());
    let log = text(&c);
    assert!(log.contains("WORSE") && log.contains("ph/") && log.contains("FAILED"), "{log}");

    // A faster run (throughput doubled) passes.
    let fast = dir.path().join("fast");
    copy_tree(&results, &fast);
    for run in std::fs::read_dir(fast.join("runs")).unwrap() {
        let path = run.unwrap().path().join("run.json");
        let mut meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let ips = meta["train_images_per_sec"].as_f64().unwrap();
        meta["train_images_per_sec"] = serde_json::json!(ips * 2.0);
        std::fs::write(&path, serde_json::to_string(&meta).unwrap()).unwrap();
    }
    let c = medmtl(&["check", "--baseline", baseline.to_str().unwrap(), fast.to_str().unwrap()]);
    assert!(c.status.success(), "{}", text(&c));
    assert!(text(&c).contains("better"));

    // A missing design is lost coverage.
    for run in std::fs::read_dir(fast.join("runs")).unwrap() {
        let path = run.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().contains("__hps-") {
            std::fs::remove_dir_all(&path).unwrap();
        }
    }
    let c = medmtl(&["check", "--baseline", baseline.to_str().unwrap(), fast.to_str().unwrap()]);
    assert!(!c.status.success());
    assert!(text(&c).contains("LOST COVERAGE") && text(&c).contains("ph/hps/ew"), "{}", text(&c));

    // A baseline of another schema version is refused, naming the file.
    let other = dir.path().join("other.csv");
    let content = std::fs::read_to_string(&baseline).unwrap().replace(&format!("\n{},", medmtl::results::SCHEMA_VERSION), "\n99,");
    std::fs::write(&other, content).unwrap();
    let c = medmtl(&["check", "--baseline", other.to_str().unwrap(), results.to_str().unwrap()]);
    assert!(!c.status.success());
    assert!(text(&c).contains("other.csv") && text(&c).contains("schema version 99"), "{}", text(&c));
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let dest = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A suite killed with SIGKILL in the middle of a run and restarted finishes with the same
/// results as an uninterrupted one and redoes only what was not complete.
#[test]
fn a_killed_suite_resumes_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(dir.path(), "res", 25, "\"stl\", \"hps\"");
    run_suite(&s, &dir.path().join("whole"), &[]);

    let out = dir.path().join("killed");
    let mut child = spawn_suite(&s, &out);
    let runs = out.join("results/res/runs");
    let complete =
        || std::fs::read_dir(&runs).map(|d| d.filter_map(|e| e.ok()).filter(|e| e.path().join("run.json").is_file()).count()).unwrap_or(0);
    let start = Instant::now();
    while complete() < 1 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done_before = complete();
    assert!((1..4).contains(&done_before), "kill landed after {done_before} runs");

    let resumed = run_suite(&s, &out, &[]);
    let log = text(&resumed);
    assert!(log.contains(&format!("{} already complete", done_before)), "{log}");
    assert!(log.contains(&format!("{} run(s) trained", 4 - done_before)), "{log}");
    assert_eq!(metrics_csv(&out.join("results/res")), metrics_csv(&dir.path().join("whole/results/res")));
}

/// A run killed with SIGKILL in the middle of an epoch continues from its last checkpoint
/// (not from scratch) and ends with exactly the metrics of an uninterrupted run; the
/// checkpoint is removed once the run is complete.
#[test]
fn a_run_killed_mid_epoch_resumes_from_its_checkpoint_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mid.toml");
    std::fs::write(
        &path,
        "name = \"mid\"\nseeds = [0]\ndesigns = [\"hps\"]\nweightings = [\"rlw\"]\n\
         [train]\nepochs = 40\nbatch_size = 16\nlr = 0.003\nschedule = \"medmnist\"\n[model]\nbackbone = \"small-cnn\"\nwidth = 4\n\
         [[experiment]]\nname = \"ph\"\ndataset = \"phantoms\"\n\
         tasks = [{ name = \"large\", kind = \"binary\", source = \"area\", positive_at_least = 0.1 }, { name = \"area\", kind = \"regression\", source = \"area\" }]\n\
         [experiment.phantoms]\nsize = 16\ntrain = 200\nval = 64\ntest = 64\nseed = 5\n",
    )
    .unwrap();
    run_suite(&path, &dir.path().join("whole"), &[]);
    let out = dir.path().join("killed");
    let mut child = spawn_suite(&path, &out);
    let run_dir = out.join("results/mid/runs/ph__hps-rlw__seed0");
    let checkpoint = run_dir.join("checkpoint.safetensors");
    let start = Instant::now();
    while !checkpoint.is_file() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(10));
    }
    // A few epochs in, at no particular point of an epoch.
    std::thread::sleep(Duration::from_millis(700));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(checkpoint.is_file() && !run_dir.join("run.json").is_file(), "the kill must land mid-run");

    let resumed = run_suite(&path, &out, &[]);
    let log = text(&resumed);
    assert!(log.contains("resumed from its checkpoint after epoch"), "{log}");
    assert_eq!(metrics_csv(&out.join("results/mid")), metrics_csv(&dir.path().join("whole/results/mid")));
    let losses = |root: &Path| -> Vec<(usize, String, u64)> {
        medmtl::results::read_history(&root.join("results/mid/runs/ph__hps-rlw__seed0/history.csv"))
            .unwrap()
            .into_iter()
            .map(|h| (h.epoch, h.task, h.train_loss.to_bits()))
            .collect()
    };
    assert_eq!(losses(&out), losses(&dir.path().join("whole")), "every epoch's training loss, bit for bit");
    assert!(!checkpoint.exists(), "the checkpoint is removed once the run is complete");
}

/// A second `bench-all` writing into a results folder another one is writing is refused
/// before it touches anything, and the message names the first process.
#[test]
fn a_second_bench_all_on_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(dir.path(), "lock", 200, "\"hps\"");
    let out = dir.path().join("out");
    let mut first = spawn_suite(&s, &out);
    let lock = out.join("results/lock/.lock");
    let start = Instant::now();
    while std::fs::read_to_string(&lock).map_or(true, |t| t.is_empty()) && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = bin("bench-all")
        .arg("--suite")
        .arg(&s)
        .arg("--out")
        .arg(out.join("results"))
        .arg("--reports")
        .arg(out.join("reports"))
        .output()
        .unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(!second.status.success(), "the second writer must be refused");
    let log = text(&second);
    assert!(log.contains("is being written by process") && log.contains(&first.id().to_string()), "{log}");
}

/// Two shards run separately and merged give exactly the table of an unsharded run;
/// merging mixed suite versions is refused.
#[test]
fn merged_shards_equal_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(dir.path(), "sh", 2, "\"stl\", \"hps\"");
    run_suite(&s, &dir.path().join("whole"), &[]);
    run_suite(&s, &dir.path().join("a"), &["--shard", "0/2"]);
    run_suite(&s, &dir.path().join("b"), &["--shard", "1/2"]);
    let merged = dir.path().join("merged/sh");
    let m = medmtl(&[
        "merge",
        dir.path().join("a/results/sh").to_str().unwrap(),
        dir.path().join("b/results/sh").to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "--reports",
        dir.path().join("merged-reports").to_str().unwrap(),
    ]);
    assert!(m.status.success(), "{}", text(&m));
    assert_eq!(metrics_csv(&merged), metrics_csv(&dir.path().join("whole/results/sh")));
    assert!(dir.path().join("merged-reports/sh/report.md").is_file());

    // Seed by seed into one folder (the next invocation keeps the last one's runs) gives
    // the same results as the whole grid; a seed the suite does not have is refused.
    let one = run_suite(&s, &dir.path().join("seeds"), &["--seeds", "1"]);
    assert!(text(&one).contains("2 run(s) trained"), "{}", text(&one));
    let runs = std::fs::read_dir(dir.path().join("seeds/results/sh/runs")).unwrap().count();
    assert_eq!(runs, 2, "--seeds 1: the stl and hps runs of seed 1 only");
    run_suite(&s, &dir.path().join("seeds"), &["--seeds", "0"]);
    assert_eq!(metrics_csv(&dir.path().join("seeds/results/sh")), metrics_csv(&dir.path().join("whole/results/sh")));
    let o = bin("bench-all").arg("--suite").arg(&s).args(["--seeds", "0,5", "--out"]).arg(dir.path().join("bad-seed")).output().unwrap();
    assert!(!o.status.success() && text(&o).contains("seed 5") && text(&o).contains("[0, 1]"), "{}", text(&o));

    // A shard of a changed suite file is refused.
    let changed = suite(dir.path(), "sh", 3, "\"stl\", \"hps\"");
    run_suite(&changed, &dir.path().join("c"), &["--shard", "1/2"]);
    let m = medmtl(&[
        "merge",
        dir.path().join("a/results/sh").to_str().unwrap(),
        dir.path().join("c/results/sh").to_str().unwrap(),
        "--out",
        dir.path().join("bad/sh").to_str().unwrap(),
    ]);
    assert!(!m.status.success());
    assert!(text(&m).contains("another version of the suite"), "{}", text(&m));
}

/// Runs trained two at a time (`--jobs 2`, one thread each) give exactly the table of
/// runs trained one after the other on two threads: a run's numbers do not depend on the
/// threads it had.
#[test]
fn concurrent_jobs_give_the_table_of_one_run_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(dir.path(), "jobs", 2, "\"stl\", \"hps\"");
    run_suite(&s, &dir.path().join("one"), &["--threads", "2"]);
    run_suite(&s, &dir.path().join("two"), &["--threads", "2", "--jobs", "2"]);
    let one = metrics_csv(&dir.path().join("one/results/jobs"));
    assert!(one.len() > 10, "too few metric rows: {}", one.len());
    assert_eq!(metrics_csv(&dir.path().join("two/results/jobs")), one);
    let refused = bin("bench-all").args(["--suite", s.to_str().unwrap(), "--jobs", "0"]).output().unwrap();
    assert!(!refused.status.success() && text(&refused).contains("--jobs"), "{}", text(&refused));
}

/// A run whose loss becomes NaN stops with status `diverged` (epoch, task, last finite loss)
/// and contributes no numbers to the tables; the other runs are unaffected.
#[test]
fn diverged_runs_are_recorded_as_failed_not_as_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("div.toml");
    // An absurd learning rate makes the regression loss overflow within a few steps.
    std::fs::write(
        &path,
        "name = \"div\"\nseeds = [0]\ndesigns = [\"stl\", \"hps\"]\n[train]\nepochs = 3\nbatch_size = 32\nlr = 1e30\n\
         [model]\nbackbone = \"small-cnn\"\nwidth = 4\n[[experiment]]\nname = \"ph\"\ndataset = \"phantoms\"\n\
         tasks = [{ name = \"area\", kind = \"regression\", source = \"area\" }]\n\
         [experiment.phantoms]\nsize = 12\ntrain = 64\nval = 32\ntest = 32\n",
    )
    .unwrap();
    let out = run_suite(&path, dir.path(), &[]);
    let log = text(&out);
    assert!(log.contains("diverged"), "{log}");
    let runs = dir.path().join("results/div/runs");
    let mut diverged = 0;
    for entry in std::fs::read_dir(&runs).unwrap() {
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path().join("run.json")).unwrap()).unwrap();
        if meta["status"] == "diverged" {
            diverged += 1;
            assert!(meta["epoch"].as_u64().unwrap() >= 1);
            assert_eq!(meta["task"], "area");
        }
    }
    assert!(diverged >= 1, "no run diverged with lr 1e30");
    let metrics = std::fs::read_to_string(dir.path().join("results/div/metrics.csv")).unwrap();
    assert!(!metrics.contains("NaN") && !metrics.contains("inf"), "no NaN may reach the tables:\n{metrics}");
}

/// Learning to Branch writes the tree it learned next to its results: every task's path of
/// nodes through the encoder's layers.
#[test]
fn learning_to_branch_records_its_learned_tree() {
    let dir = std::env::temp_dir().join(format!("medmtl-ltb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = suite(&dir, "ltb", 2, "\"ltb\"");
    let text = std::fs::read_to_string(&path).unwrap().replace("[[experiment]]", "[design.ltb]\nsearch_epochs = 1\n\n[[experiment]]");
    std::fs::write(&path, text).unwrap();
    run_suite(&path, &dir, &[]);
    let tree: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results/ltb/runs/ph__ltb-ew__seed0/structure.json")).unwrap()).unwrap();
    let paths = tree["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 2, "one path per task: {tree}");
    assert_eq!(paths[0].as_array().unwrap().last().unwrap(), 0, "task 0 ends at its own node");
    assert_eq!(paths[1].as_array().unwrap().last().unwrap(), 1, "task 1 ends at its own node");
    let _ = std::fs::remove_dir_all(&dir);
}
