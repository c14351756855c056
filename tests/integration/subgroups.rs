//! Results per subgroup and shift experiments, end to end through `bench-all`: every
//! subgroup row equals the metrics recomputed on that subgroup's samples alone (found here
//! from the regenerated data, not from what the run stored), the rows are in the metrics
//! tables with their subgroup and n, a shift trains without its held-out groups, and the
//! report shows it all in Markdown, HTML, LaTeX and CSV.

use std::path::Path;
use std::process::Command;

use medmtl::data::phantoms::{generate, PhantomConfig};
use medmtl::data::{SourceValues, SplitName};
use medmtl::results::{read_predictions, read_suite_table, MetricRow};
use medmtl::task::TaskKind;

const SUITE: &str = r#"
name = "groups"
seeds = [0]
designs = ["stl", "hps"]
weightings = ["ew"]
[train]
epochs = 2
batch_size = 32
lr = 0.005
[model]
backbone = "small-cnn"
width = 4

[[experiment]]
name = "by-shape"
dataset = "phantoms"
subgroups = { source = "shape" }
tasks = [{ name = "large", kind = "binary", source = "area", positive_at_least = 0.1 }, { name = "area", kind = "regression", source = "area" }]
[experiment.phantoms]
size = 16
train = 192
val = 96
test = 160
seed = 5

[[experiment]]
name = "shift"
dataset = "phantoms"
shift = { source = "shape", train = ["ellipse", "rectangle"], test = ["triangle"] }
tasks = [{ name = "large", kind = "binary", source = "area", positive_at_least = 0.1 }, { name = "area", kind = "regression", source = "area" }]
[experiment.phantoms]
size = 16
train = 192
val = 96
test = 160
seed = 5
"#;

fn bench_all(suite: &Path, out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_bench-all"))
        .arg("--suite")
        .arg(suite)
        .arg("--out")
        .arg(out.join("results"))
        .arg("--reports")
        .arg(out.join("reports"))
        .output()
        .unwrap();
    assert!(o.status.success(), "bench-all failed: {}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn subgroup_rows_equal_metrics_on_the_subgroup_alone_and_reach_every_report_format() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("groups.toml");
    std::fs::write(&suite, SUITE).unwrap();
    bench_all(&suite, dir.path());
    let results = dir.path().join("results").join("groups");
    let table = read_suite_table(&results).unwrap();
    assert!(table.rows.iter().all(MetricRow::is_pooled), "pooled rows are kept apart from the subgroup rows");

    // The shapes of the test samples, from the regenerated data.
    let data = generate(&PhantomConfig { size: 16, train: 192, val: 96, test: 160, seed: 5, noise: 0.25, relatedness: None }).unwrap();
    let Some(SourceValues::Labels(shape)) = data.test.source("shape") else { panic!("phantoms have shapes") };
    let names = &data.class_names["shape"];
    let shape_of = |i: usize| names[shape[i] as usize].as_str();

    let mut checked = 0;
    for (meta, run_dir) in table.runs.iter().zip(&table.run_dirs) {
        for task in &meta.tasks {
            let kind: TaskKind = task.task_kind().unwrap();
            let stored = read_predictions(&run_dir.join("predictions").join(format!("{}.parquet", task.name)), &kind).unwrap();
            let test = &stored[&SplitName::Test];
            assert_eq!(test.len(), data.test.len(), "a shift tests on the test samples of every group");
            let groups: Vec<(&str, Vec<usize>)> = if meta.experiment == "shift" {
                let inside: Vec<usize> = (0..test.len()).filter(|&i| shape_of(i) != "triangle").collect();
                let outside: Vec<usize> = (0..test.len()).filter(|&i| shape_of(i) == "triangle").collect();
                vec![("in-distribution", inside), ("shifted", outside)]
            } else {
                names.iter().map(|n| (n.as_str(), (0..test.len()).filter(|&i| shape_of(i) == n).collect())).collect()
            };
            for (group, idx) in groups {
                assert!(!idx.is_empty());
                let expected = medmtl::metrics::evaluate(&kind, &test.subset(&idx));
                let rows: Vec<&MetricRow> = table
                    .subgroup_rows
                    .iter()
                    .filter(|r| r.run_id == meta.run_id && r.task == task.name && r.subgroup == group && r.split == "test")
                    .collect();
                assert_eq!(rows.len(), expected.len(), "{} {} [{group}]: one row per metric", meta.run_id, task.name);
                for m in &expected {
                    let row = rows.iter().find(|r| r.metric == m.name).unwrap();
                    assert!(
                        row.value == m.value || (row.value.is_nan() && m.value.is_nan()),
                        "{} {} [{group}] {}: stored {} vs recomputed {}",
                        meta.run_id,
                        task.name,
                        m.name,
                        row.value,
                        m.value
                    );
                    assert_eq!(row.n, idx.len() as u64);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 40, "{checked} subgroup values checked");

    // The suite table on disk carries the subgroup and n columns.
    let csv = std::fs::read_to_string(results.join("metrics.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.contains("subgroup") && header.contains(",n"), "{header}");
    assert!(csv.lines().any(|l| l.contains(",triangle,")) && csv.lines().any(|l| l.contains(",shifted,")));
    // Stored predictions and the stored subgroups reproduce every row.
    let check = Command::new(env!("CARGO_BIN_EXE_medmtl")).arg("metrics").arg(&results).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    let reports = dir.path().join("reports").join("groups");
    let md = std::fs::read_to_string(reports.join("report.md")).unwrap();
    assert!(md.contains("Results per subgroup") && md.contains("triangle (") && md.contains("Distribution shift by shape"), "{md}");
    assert!(md.contains("| change |") || md.contains("change |"), "a shift shows the change column");
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(html.contains("Results per subgroup") && html.contains("in-distribution"));
    let tex = std::fs::read_to_string(reports.join("tables").join("shift__large__subgroups.tex")).unwrap();
    assert!(tex.contains("shifted") && tex.contains("Change"), "{tex}");
    assert!(reports.join("tables").join("by-shape__area__subgroups.tex").is_file());
    let groups_csv = std::fs::read_to_string(reports.join("tables").join("subgroups.csv")).unwrap();
    assert!(groups_csv.lines().any(|l| l.starts_with("shift,large,auc,true,change,")), "{groups_csv}");
    assert!(reports.join("figures").join("by-shape__subgroups_large.svg").is_file());
    assert!(reports.join("figures").join("shift__subgroups_area.png").is_file());
}
