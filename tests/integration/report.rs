//! Reports built from a small fixed results table (no training): a fake suite of three
//! designs x two seeds with a classification, a regression and a segmentation task, whose
//! metric rows hold known numbers and whose predictions make one design clearly better
//! than STL. Checks that the right numbers land in the right cells of the Markdown and CSV,
//! that Δm matches a hand computation, that every figure exists and is a valid PNG/SVG,
//! that the HTML loads nothing from elsewhere, that the LaTeX compiles where pdflatex is
//! installed, and that `compare` flags only real differences.

use std::path::{Path, PathBuf};

use medmtl::data::{ImageShape, SplitName};
use medmtl::metrics::TaskPredictions;
use medmtl::report::{self, markdown};
use medmtl::results::{self, MetricRow, RunFiles, RunMeta, RunStatus, TaskMeta};
use medmtl::task::{Targets, TaskKind};
use medmtl::train::EpochRecord;

const N: usize = 60;
const SIDE: usize = 8;
const SEEDS: [u64; 2] = [0, 1];

/// Known test metrics per (design, seed): (task, metric, value, ci_low, ci_high).
fn known(design: &str, seed: u64) -> Vec<(&'static str, &'static str, f64, f64, f64)> {
    let s = seed as f64;
    match design {
        "stl" => vec![
            ("cls", "acc", 0.70 + 0.04 * s, 0.60, 0.80),
            ("cls", "auc", 0.75 + 0.02 * s, 0.65, 0.85),
            ("reg", "mae", 0.20 + 0.02 * s, 0.15, 0.25),
            ("reg", "rmse", 0.30, 0.25, 0.35),
            ("reg", "r2", 0.50, 0.40, 0.60),
            ("seg", "dice", 0.60 + 0.10 * s, 0.55, 0.75),
            ("seg", "hd95", 3.0, 2.0, 4.0),
            ("seg", "n_dice_undefined", 0.0, f64::NAN, f64::NAN),
        ],
        "hps" => vec![
            ("cls", "acc", 0.80 + 0.10 * s, 0.75 + 0.10 * s, 0.85 + 0.10 * s),
            ("cls", "auc", 0.90, 0.85, 0.95),
            ("reg", "mae", 0.15, 0.10, 0.20),
            ("reg", "rmse", 0.24, 0.20, 0.28),
            ("reg", "r2", 0.70, 0.60, 0.80),
            ("seg", "dice", 0.80, 0.70, 0.90),
            ("seg", "hd95", 2.0, 1.5, 2.5),
            ("seg", "n_dice_undefined", 1.0, f64::NAN, f64::NAN),
        ],
        _ => vec![
            ("cls", "acc", 0.72, 0.62, 0.82),
            ("cls", "auc", 0.76, 0.66, 0.86),
            ("reg", "mae", 0.25, 0.20, 0.30),
            ("reg", "rmse", 0.33, 0.28, 0.38),
            ("reg", "r2", 0.45, 0.35, 0.55),
            ("seg", "dice", 0.62, 0.55, 0.70),
            ("seg", "hd95", 3.5, 3.0, 4.0),
            ("seg", "n_dice_undefined", 0.0, f64::NAN, f64::NAN),
        ],
    }
}

fn tasks() -> Vec<(String, TaskKind)> {
    vec![("cls".into(), TaskKind::Binary), ("reg".into(), TaskKind::Regression), ("seg".into(), TaskKind::Segmentation { classes: 2 })]
}

/// A square lesion of side `k` at offset (2, 2) in an 8x8 mask.
fn square(k: usize) -> Vec<u8> {
    let mut m = vec![0u8; SIDE * SIDE];
    for y in 2..2 + k {
        for x in 2..2 + k {
            m[y * SIDE + x] = 1;
        }
    }
    m
}

/// Test predictions: `good` (hps) separates the classes and segments exactly; the others
/// are noisy in the same way (so STL and mtan do not differ).
fn predictions(good: bool, seed: u64) -> Vec<TaskPredictions> {
    let classes: Vec<u32> = (0..N).map(|i| (i % 2) as u32).collect();
    let cls_scores: Vec<f32> = (0..N)
        .map(|i| {
            let y = (i % 2) as f32;
            if good {
                0.2 + 0.6 * y + 0.001 * i as f32
            } else {
                ((i * 37 + seed as usize * 11) % 100) as f32 / 100.0 * 0.8 + 0.1 * y
            }
        })
        .collect();
    let values: Vec<f32> = (0..N).map(|i| i as f32 / N as f32).collect();
    let reg_scores: Vec<f32> =
        values.iter().enumerate().map(|(i, v)| if good { v + 0.01 } else { v + if i % 3 == 0 { 0.3 } else { -0.2 } }).collect();
    let truth: Vec<u8> = (0..N).flat_map(|i| square(2 + i % 4)).collect();
    let predicted: Vec<f32> = (0..N).flat_map(|i| square(if good { 2 + i % 4 } else { 1 + (i + 1) % 5 })).map(f32::from).collect();
    vec![
        TaskPredictions { targets: Targets::Classes(classes), scores: cls_scores, width: 1, spacing: None },
        TaskPredictions { targets: Targets::Values(values), scores: reg_scores, width: 1, spacing: None },
        TaskPredictions {
            targets: Targets::Masks { height: SIDE, width: SIDE, values: truth },
            scores: predicted,
            width: SIDE * SIDE,
            spacing: None,
        },
    ]
}

fn write_fake_suite(root: &Path) -> PathBuf {
    let results_dir = root.join("results").join("toy");
    let images: Vec<f32> = (0..N * SIDE * SIDE).map(|i| ((i * 7) % 13) as f32 / 6.5 - 1.0).collect();
    for (design, weighting) in [("stl", "none"), ("hps", "ew"), ("mtan", "ew")] {
        for seed in SEEDS {
            let run_id = format!("toy__{design}-{weighting}__seed{seed}");
            let meta = RunMeta {
                schema_version: results::SCHEMA_VERSION,
                run_id: run_id.clone(),
                suite: "toy".into(),
                experiment: "toy".into(),
                datasets: "phantoms".into(),
                design: design.into(),
                weighting: weighting.into(),
                backbone: "small-cnn".into(),
                width: 8,
                seed,
                tasks: tasks().iter().map(|(n, k)| TaskMeta::of(n, k)).collect(),
                epochs_run: 3,
                selected_epoch: vec![3, 3, 2],
                train_seconds: 10.0 + seed as f64,
                train_images_per_sec: match design {
                    "stl" => 100.0,
                    "hps" => 300.0,
                    _ => 200.0,
                } + seed as f64,
                inference_images_per_sec: 1000.0,
                peak_rss_bytes: Some(100 << 20),
                param_count: 1234,
                medmtl_version: "0.1.0".into(),
                git_revision: "abc123".into(),
                config_hash: format!("{design}{seed}").repeat(8),
                timestamp: "2026-01-01T00:00:00Z".into(),
                data_verified: true,
                data_files: vec![],
                threads: 2,
                device: "Cpu".into(),
                hardware: "Test CPU".into(),
                status: RunStatus::Complete,
                suite_hash: "f".repeat(64),
                reference_images_per_sec: Some(50.0),
                hyper_params: Default::default(),
                subgroups: None,
                shift: None,
            };
            let rows: Vec<MetricRow> = known(design, seed)
                .into_iter()
                .map(|(task, metric, value, lo, hi)| MetricRow {
                    run_id: run_id.clone(),
                    suite: "toy".into(),
                    experiment: "toy".into(),
                    datasets: "phantoms".into(),
                    design: design.into(),
                    weighting: weighting.into(),
                    backbone: "small-cnn".into(),
                    seed,
                    task: task.into(),
                    task_kind: tasks().iter().find(|(n, _)| n == task).unwrap().1.name().into(),
                    split: "test".into(),
                    metric: metric.into(),
                    value,
                    ci_low: lo,
                    ci_high: hi,
                    subgroup: String::new(),
                    n: N as u64,
                })
                .collect();
            let history: Vec<EpochRecord> = (1..=3)
                .map(|e| EpochRecord {
                    epoch: e,
                    lr: 1e-3,
                    train_loss: vec![1.0 / e as f64, 0.5 / e as f64, 0.8 / e as f64],
                    val_primary: vec![0.5 + 0.1 * e as f64, 0.2 * e as f64, 0.3 + 0.1 * e as f64],
                    seconds: 1.0,
                    weights: vec![],
                    relatedness: vec![],
                })
                .collect();
            let preds = predictions(design == "hps", seed);
            let per_task: Vec<(String, Vec<(SplitName, &TaskPredictions)>)> =
                tasks().iter().zip(&preds).map(|((name, _), p)| (name.clone(), vec![(SplitName::Test, p)])).collect();
            let shape = ImageShape { channels: 1, height: SIDE, width: SIDE };
            let files = RunFiles::new(results_dir.join("runs").join(&run_id));
            results::write_run(&files, &meta, &rows, &history, &per_task, Some((&images, shape))).unwrap();
        }
    }
    results_dir
}

struct Built {
    _dir: tempfile::TempDir,
    results: PathBuf,
    report: PathBuf,
}

fn build() -> Built {
    let dir = tempfile::tempdir().unwrap();
    let results = write_fake_suite(dir.path());
    let table = medmtl::results::collect_suite_table(&results).unwrap();
    let report_dir = dir.path().join("reports").join("toy");
    report::write_report(&results, &report_dir, &table).unwrap();
    Built { results, report: report_dir, _dir: dir }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The task table whose header has `metric` columns, as rows of cells (header first).
fn task_table(md: &str, first_metric: &str) -> Vec<Vec<String>> {
    markdown::parse_tables(md)
        .into_iter()
        .find(|t| t[0].len() > 3 && t[0][0] == "design" && t[0][2] == "seeds" && t[0][3].starts_with(first_metric))
        .unwrap_or_else(|| panic!("no task table starting with {first_metric}"))
}

fn cell<'a>(table: &'a [Vec<String>], design: &str, column: &str) -> &'a str {
    let c = table[0].iter().position(|h| h.split(' ').next() == Some(column)).unwrap_or_else(|| panic!("no column {column}"));
    let row = table.iter().find(|r| r[0] == design).unwrap_or_else(|| panic!("no row {design}"));
    &row[c]
}

#[test]
fn markdown_cells_hold_the_known_numbers() {
    let b = build();
    let md = read(&b.report.join("report.md"));
    let cls = task_table(&md, "acc");
    // hps acc over seeds: 0.80, 0.90 -> mean 0.850, sample std 0.0707; CI bounds: means
    // of [0.75, 0.85] and [0.85, 0.95]. Best of the column, so bold.
    assert_eq!(cell(&cls, "hps", "acc"), "**0.850 ± 0.071** [0.800, 0.900]");
    assert_eq!(cell(&cls, "stl", "acc"), "0.720 ± 0.028 [0.600, 0.800]");
    // hps separates the classes perfectly on the stored predictions: its AUC differs from
    // STL's beyond doubt (Holm over hps and mtan), mtan does not.
    assert_eq!(cell(&cls, "hps", "auc"), "**0.900 ± 0.000**** [0.850, 0.950]");
    assert!(!cell(&cls, "mtan", "auc").contains('*'), "{}", cell(&cls, "mtan", "auc"));
    let reg = task_table(&md, "mae");
    // Lower is better for MAE: hps's 0.15 is the best.
    assert_eq!(cell(&reg, "hps", "mae"), "**0.150 ± 0.000** [0.100, 0.200]");
    assert_eq!(cell(&reg, "stl", "mae"), "0.210 ± 0.014 [0.150, 0.250]");
    let seg = task_table(&md, "dice");
    // Counts are never bold.
    assert_eq!(cell(&seg, "hps", "n_dice_undefined"), "1");
    assert!(md.contains("no suite file") || md.contains("No suite file"));
    // A gallery and every other figure kind are laid out.
    for stem in ["toy__delta_m", "toy__pareto", "toy__curves", "toy__rank_agreement", "toy__gallery_seg"] {
        assert!(md.contains(&format!("figures/{stem}.png")), "report.md lacks {stem}");
    }
}

#[test]
fn markdown_parse_unescapes_cells() {
    let rows = markdown::parse_tables("| a | b\\|c |\n|---|---:|\n| **1** | 2\\* |\n");
    assert_eq!(rows, vec![vec![vec!["a".to_owned(), "b|c".to_owned()], vec!["**1**".to_owned(), "2*".to_owned()]]]);
}

/// Minimal CSV reader for the report's files (quoted fields allowed).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(ch) = chars.next() {
            match (ch, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                _ => field.push(ch),
            }
        }
        fields.push(field);
        rows.push(fields);
    }
    rows
}

fn csv_value(rows: &[Vec<String>], filters: &[(&str, &str)], column: &str) -> f64 {
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let row = rows[1..].iter().find(|r| filters.iter().all(|(k, v)| r[col(k)] == *v)).unwrap_or_else(|| panic!("no row {filters:?}"));
    row[col(column)].parse().unwrap()
}

#[test]
fn csv_tables_hold_full_precision_and_delta_m_matches_a_hand_computation() {
    let b = build();
    let metrics = parse_csv(&read(&b.report.join("tables/metrics.csv")));
    let at = [("task", "cls"), ("metric", "acc"), ("design", "hps")];
    assert!((csv_value(&metrics, &at, "mean") - 0.85).abs() < 1e-12);
    assert!((csv_value(&metrics, &at, "std") - 0.1 / 2f64.sqrt()).abs() < 1e-12);
    assert!((csv_value(&metrics, &at, "ci_low") - 0.8).abs() < 1e-12);

    // Δm of hps, seed 0, against the STL seed means, by hand (binary: acc, auc; regression:
    // mae, rmse; segmentation: dice, hd95), in %.
    let stl =
        |t: &str, m: &str| known("stl", 0).iter().chain(&known("stl", 1)).filter(|r| r.0 == t && r.1 == m).map(|r| r.2).sum::<f64>() / 2.0;
    let hps = |s: u64, t: &str, m: &str| known("hps", s).iter().find(|r| r.0 == t && r.1 == m).unwrap().2;
    let up = |s: u64, t: &str, m: &str| (hps(s, t, m) - stl(t, m)) / stl(t, m);
    let down = |s: u64, t: &str, m: &str| -(hps(s, t, m) - stl(t, m)) / stl(t, m);
    let by_hand = |s: u64| {
        100.0
            * ((up(s, "cls", "acc") + up(s, "cls", "auc")) / 2.0
                + (down(s, "reg", "mae") + down(s, "reg", "rmse")) / 2.0
                + (up(s, "seg", "dice") + down(s, "seg", "hd95")) / 2.0)
            / 3.0
    };
    let delta = parse_csv(&read(&b.report.join("tables/delta_m.csv")));
    let got = csv_value(&delta, &[("design", "hps")], "delta_m_pct");
    let want = (by_hand(0) + by_hand(1)) / 2.0;
    assert!((got - want).abs() < 1e-9, "Δm {got} vs by hand {want}");
    // nash-mtl's sign is the opposite; with one metric per direction it differs in weighting only.
    assert!(csv_value(&delta, &[("design", "hps")], "delta_m_nashmtl_pct") < 0.0);

    let tests = parse_csv(&read(&b.report.join("tables/paired_tests.csv")));
    let p = csv_value(&tests, &[("task", "cls"), ("design", "hps")], "p_holm");
    assert!(p < 0.01, "hps vs STL AUC: Holm p {p}");
    let p = csv_value(&tests, &[("task", "reg"), ("design", "mtan")], "p_value");
    assert!(p > 0.5, "mtan predicts exactly like STL: p {p}");
}

fn is_well_formed_svg(text: &str) -> bool {
    let body = text.trim_start();
    let body = if body.starts_with("<?xml") { body[body.find("?>").map_or(0, |i| i + 2)..].trim_start() } else { body };
    if !body.starts_with("<svg") || !body.trim_end().ends_with("</svg>") {
        return false;
    }
    // Tags balance (no comments or CDATA in plotters' output).
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else { return false };
        let tag = &rest[start + 1..start + end];
        rest = &rest[start + end + 1..];
        if tag.starts_with('?') || tag.ends_with('/') {
            continue;
        }
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| !c.is_whitespace()).collect();
        if tag.starts_with('/') {
            if stack.pop().as_deref() != Some(name.as_str()) {
                return false;
            }
        } else {
            stack.push(name);
        }
    }
    stack.is_empty()
}

#[test]
fn every_referenced_figure_exists_and_is_valid() {
    let b = build();
    let md = read(&b.report.join("report.md"));
    let mut referenced = Vec::new();
    for part in md.split("](").skip(1) {
        let path = &part[..part.find(')').unwrap()];
        referenced.push(path.to_owned());
    }
    assert!(referenced.len() >= 10, "{referenced:?}");
    for path in referenced {
        let file = b.report.join(&path);
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
        if path.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{path} is not a PNG");
        } else if path.ends_with(".svg") {
            assert!(is_well_formed_svg(&String::from_utf8(bytes).unwrap()), "{path} is not a well-formed SVG");
        } else {
            panic!("unexpected link {path}");
        }
    }
}

#[test]
fn html_is_self_contained() {
    let b = build();
    let html = read(&b.report.join("report.html"));
    for external in ["src=\"http", "href=\"http", "@import", "url(http", "<script", "<link"] {
        assert!(!html.contains(external), "report.html contains {external}");
    }
    let images = html.matches("<img ").count();
    assert!(images >= 5, "{images} images");
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), images, "every image is inlined");
    assert!(html.contains("0.850 ± 0.071"));
}

#[test]
fn latex_tables_compile_where_pdflatex_is_installed() {
    let b = build();
    let tables = b.report.join("tables");
    let preview = read(&tables.join("preview.tex"));
    for line in preview.lines().filter(|l| l.starts_with("\\input{")) {
        let file = &line[7..line.len() - 1];
        let text = read(&tables.join(file));
        assert!(text.contains("\\toprule") && text.contains("\\bottomrule"), "{file}");
        assert!(text.is_ascii(), "{file} has non-ASCII characters");
    }
    assert!(read(&tables.join("toy__cls.tex")).contains("$\\mathbf{0.850 \\pm 0.071}$"));
    let Ok(status) = std::process::Command::new("pdflatex")
        .args(["-interaction=nonstopmode", "-halt-on-error", "preview.tex"])
        .current_dir(&tables)
        .stdout(std::process::Stdio::null())
        .status()
    else {
        println!("SKIPPED the LaTeX compile check: pdflatex is not installed (apt-get install texlive-latex-recommended)");
        return;
    };
    assert!(status.success(), "pdflatex failed on {}; see preview.log there", tables.display());
    assert!(tables.join("preview.pdf").is_file());
}

#[test]
fn compare_flags_only_differences_beyond_seed_noise() {
    let b = build();
    let table = medmtl::results::read_suite_table(&b.results).unwrap();
    let same = report::compare::compare(&table, &table);
    assert!(!same.rows.is_empty());
    assert!(same.rows.iter().all(|r| r.exceeds_noise == Some(false) || r.exceeds_noise.is_none()));
    let mut shifted = table.clone();
    for r in shifted.rows.iter_mut().filter(|r| r.design == "stl" && r.metric == "acc") {
        r.value += 0.5;
    }
    let c = report::compare::compare(&table, &shifted);
    let flagged: Vec<_> = c.rows.iter().filter(|r| r.exceeds_noise == Some(true)).collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!((flagged[0].key.design.as_str(), flagged[0].key.metric.as_str()), ("stl", "acc"));
    assert!(flagged[0].better && (flagged[0].difference - 0.5).abs() < 1e-12);
    let md = report::compare::render_markdown(&c, "A", "B");
    assert!(md.contains("1 differ beyond seed noise"));
}

#[test]
fn the_cli_renders_without_writing_to_results_and_compares() {
    let dir = tempfile::tempdir().unwrap();
    let results = write_fake_suite(dir.path());
    let reports = dir.path().join("reports");
    let medmtl = env!("CARGO_BIN_EXE_medmtl");
    let out = std::process::Command::new(medmtl).arg("report").arg(&results).arg("--reports").arg(&reports).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for file in ["report.md", "report.html", "tables/preview.tex", "tables/metrics.csv", "figures/toy__delta_m.svg"] {
        assert!(reports.join("toy").join(file).is_file(), "{file} missing");
    }
    assert!(!results.join("metrics.csv").exists(), "medmtl report must not write into the results folder");
    let csv = dir.path().join("compare.csv");
    let out = std::process::Command::new(medmtl)
        .arg("compare")
        .arg(&results)
        .arg(&results)
        .arg("--csv")
        .arg(&csv)
        .arg("--fail-on-difference")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 differ beyond seed noise"));
    assert!(read(&csv).starts_with("experiment,task,metric,design,weighting,a_mean"));
}

#[test]
fn a_suite_whose_every_experiment_was_skipped_still_gets_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results").join("retina");
    std::fs::create_dir_all(&results).unwrap();
    let skipped = vec![medmtl::results::Skipped {
        experiment: "retina".into(),
        dataset: "retinamnist".into(),
        reason: "retinamnist.npz is not available offline".into(),
    }];
    std::fs::write(results.join("skipped.json"), serde_json::to_string(&skipped).unwrap()).unwrap();
    let table = medmtl::results::collect_suite_table(&results).unwrap();
    let report_dir = dir.path().join("reports").join("retina");
    report::write_report(&results, &report_dir, &table).unwrap();
    let md = read(&report_dir.join("report.md"));
    assert!(md.starts_with("# medmtl report: suite `retina`"), "{md}");
    assert!(md.contains("Skipped experiments") && md.contains("retinamnist.npz is not available offline"));
    assert!(report_dir.join("report.html").is_file());
}

/// A literature entry whose design ran in an experiment gets the Literature section in
/// every format: the paper's own number beside medmtl's value of the same metric, the
/// design's standing, and the rankings by the paper's headline metric.
#[test]
fn the_literature_section_puts_papers_beside_medmtl_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let results = write_fake_suite(dir.path());
    let table = medmtl::results::collect_suite_table(&results).unwrap();
    let mut built = report::build_report(&table).unwrap();
    let map = r#"
[[paper]]
id = "P98"
key = "doe2020toy"
citation = "Doe, Roe. A toy multi-task network. 2020."
url = "https://example.org/toy"
year = 2020
modality = "ultrasound"
organ = "breast"
combination = "heterogeneous"
sharing = "hard"
heads = "shared encoder, task heads"
loss_weighting = "sum"
gaps = ["task-relatedness"]
support = "B"
sources = []
metrics_reported = ["auc", "dice"]

[[paper.tasks]]
name = "diagnosis"
kind = "classification"

[[paper.tasks]]
name = "lesion"
kind = "segmentation"

[[paper.datasets]]
name = "private ultrasound"
public = false
licence = "unknown"

[[paper.reported]]
task = "diagnosis"
metric = "auc"
value = 0.93
unit = ""
on = "its private test set"
comparator = "="

[[paper.reported]]
task = "lesion"
metric = "dice"
value = 0.88
unit = ""
on = "its private test set"
comparator = ">"

[paper.verified]
design = true
weighting = true
data = false
numbers = true

[paper.reproduced_by]
suite = "toy"
experiment = "toy"
design = "hps"
host = "toy data"
"#;
    let lit = medmtl::literature::Literature::parse(map, Path::new("toy-literature.toml")).unwrap();
    let exp = &built.experiments[0];
    let section = report::literature::experiment_literature(&lit, "toy", exp);
    assert_eq!(section.papers.len(), 1);
    let paper = &section.papers[0];
    let auc = paper.rows.iter().find(|r| r.paper_metric == "auc").unwrap();
    assert_eq!(auc.medmtl, Some(("cls".into(), "auc".into())));
    assert!((auc.value.as_ref().unwrap().mean - 0.90).abs() < 1e-12, "hps's known AUC");
    assert_eq!(paper.rows[1].paper_value, "> 0.88");
    assert_eq!(section.variability.labels.len(), 2, "the paper's headline metric and Δm");
    built.experiments[0].literature = section;
    built.literature = Some(report::literature::suite_literature(&lit));
    let out = dir.path().join("reports/toy");
    report::render_report(&built, &out).unwrap();
    let md = read(&out.join("report.md"));
    assert!(md.contains("Literature: the papers' designs, re-measured"), "{md}");
    assert!(md.contains("P98 Doe et al. 2020") && md.contains("0.93 on its private test set") && md.contains("cls: auc"), "{md}");
    assert!(md.contains("Literature map: metrics and task combinations"));
    let html = read(&out.join("report.html"));
    assert!(html.contains("P98") && html.contains("re-measured"));
    let tex = read(&out.join("tables/toy__literature.tex"));
    assert!(tex.contains("P98") && tex.contains("0.93"), "{tex}");
    assert!(read(&out.join("tables/literature.csv")).contains("P98"));
    assert!(out.join("figures/toy__literature_ranks.svg").is_file());
}

/// `medmtl pack` keeps what reports read in a copy small enough to commit: the report
/// rendered from the packed copy equals the one from the full results folder file for file
/// (less the gallery, which needs the test images), dense predictions become per-image
/// statistics tables with no image or mask in them, checkpoints are left out, and `medmtl metrics` refuses the copy, which lacks validation predictions.
#[test]
fn a_packed_copy_renders_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let results = write_fake_suite(dir.path());
    std::fs::write(results.join("runs/toy__hps-ew__seed0/checkpoint.safetensors"), b"training state").unwrap();
    let packed = dir.path().join("published").join("toy");
    let medmtl = |args: &[&Path]| std::process::Command::new(env!("CARGO_BIN_EXE_medmtl")).args(args).output().unwrap();
    let out = medmtl(&[Path::new("pack"), &results, Path::new("--out"), &packed]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{said}");
    assert!(said.contains("packed 6 run(s)") && said.contains("no images or masks"), "{said}");
    assert!(!packed.join("runs/toy__hps-ew__seed0/checkpoint.safetensors").exists() && !packed.join("test-images").exists());
    let predictions = |run: &Path| -> Vec<String> {
        let dir = run.join("runs/toy__stl-none__seed1/predictions");
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    assert!(predictions(&results).contains(&"seg.npz".to_owned()));
    let npz = medmtl::data::npz::NpzArchive::open(&results.join("runs/toy__stl-none__seed1/predictions/seg.npz")).unwrap().keys();
    assert_eq!(npz, ["test_images", "test_predicted", "test_truth"]);
    let kept = predictions(&packed);
    assert!(kept.contains(&"seg.stats.csv".to_owned()), "{kept:?}");
    assert!(!kept.iter().any(|f| f.ends_with(".npz") || f.ends_with(".npy")), "no images or masks in a packed copy: {kept:?}");
    let header = read(&packed.join("runs/toy__stl-none__seed1/predictions/seg.stats.csv"));
    assert!(header.starts_with("image,dice,truth_sha256\n"), "{header}");

    for (from, name) in [(&results, "full"), (&packed, "packed")] {
        let out = medmtl(&[Path::new("report"), from, Path::new("--reports"), &dir.path().join(name)]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let files = |root: &Path| -> Vec<PathBuf> {
        walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().strip_prefix(root).unwrap().to_path_buf())
            .collect()
    };
    let (full, from_packed) = (dir.path().join("full/toy"), dir.path().join("packed/toy"));
    let gallery = |f: &PathBuf| f.to_string_lossy().contains("gallery");
    assert!(files(&full).iter().any(gallery), "the full results draw a gallery");
    let without_gallery: Vec<PathBuf> = files(&full).into_iter().filter(|f| !gallery(f)).collect();
    assert_eq!(files(&from_packed), without_gallery, "the same files, less the gallery");
    for file in without_gallery.iter().filter(|f| !f.to_string_lossy().starts_with("report.")) {
        assert!(std::fs::read(full.join(file)).unwrap() == std::fs::read(from_packed.join(file)).unwrap(), "{} differs", file.display());
    }
    // The documents differ by the gallery section and the sentence that says why it is missing.
    let (full_md, packed_md) = (read(&full.join("report.md")), read(&from_packed.join("report.md")));
    let note = "Rendered from a packed copy of the results";
    assert!(packed_md.contains(note) && !full_md.contains(note));
    let kept = |md: &str| -> Vec<String> {
        let mut lines = Vec::new();
        let mut skip = false;
        for line in md.lines() {
            if line.starts_with('#') {
                skip = line.contains("Segmentation examples");
            }
            if !skip && !line.is_empty() && !line.contains(note) && !line.contains("gallery") {
                lines.push(line.to_owned());
            }
        }
        lines
    };
    assert!(full_md.contains("Segmentation examples"));
    assert_eq!(kept(&full_md), kept(&packed_md));

    let out = medmtl(&[Path::new("metrics"), &packed]);
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("packed copy"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(medmtl(&[Path::new("pack"), &results, Path::new("--out"), &packed]).status.success(), "a packed copy is replaced");
    let foreign = dir.path().join("notes");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("todo.txt"), "keep me").unwrap();
    let out = medmtl(&[Path::new("pack"), &results, Path::new("--out"), &foreign]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not a packed results folder"));
    assert!(foreign.join("todo.txt").is_file());
}

/// The committed reports are what their committed packed results render to, so the numbers
/// the README quotes cannot drift from the code: a change that alters a report fails here
/// until it is re-rendered with `medmtl report results/published/<suite>`. (Figures are left
/// out: their pixels depend on the fonts installed.) Every published suite has its report.
#[test]
fn committed_reports_match_their_published_results() {
    let mut names: Vec<String> = std::fs::read_dir("results/published")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| Path::new("results/published").join(n).is_dir())
        .collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    for name in &names {
        // Relative paths, as a reviewer types them: the method section names the suite file.
        let suite = Path::new("results/published").join(name);
        let dir = tempfile::tempdir().unwrap();
        let table = results::read_suite_table(&suite).unwrap();
        report::write_report(&suite, &dir.path().join(name), &table).unwrap();
        let committed = Path::new("reports").join(name);
        let mut compared = 0;
        for entry in walkdir::WalkDir::new(dir.path().join(name)).sort_by_file_name() {
            let entry = entry.unwrap();
            let rel = entry.path().strip_prefix(dir.path().join(name)).unwrap();
            let text = matches!(rel.extension().and_then(|e| e.to_str()), Some("md" | "csv" | "tex"));
            if entry.file_type().is_file() && text {
                let want =
                    std::fs::read_to_string(committed.join(rel)).unwrap_or_else(|e| panic!("{}: {e}", committed.join(rel).display()));
                assert!(
                    read(entry.path()) == want,
                    "{} no longer renders as committed: re-render it with `medmtl report {}`",
                    committed.join(rel).display(),
                    suite.display()
                );
                compared += 1;
            }
        }
        assert!(compared > 3, "{compared} files compared for {}", suite.display());
    }
}
