//! Reports rendered from results only (never by retraining).
//!
//! Flow: [`collect_suite_table`] gathers a suite's metric rows and run records;
//! [`build::build_report`] computes the typed summary model once ([`model::Report`]:
//! tables over seeds, Δm, paired tests against STL, rank agreement, cost, curves,
//! segmentation galleries); [`figures`] draws it; [`document`] lays it out once for
//! [`markdown`] and [`html`]; [`latex`] and [`csv`] export its tables. [`write_report`] writes
//! everything into `reports/<suite>/`:
//! ```text
//! report.md, report.html            the report (HTML self-contained: CSS and figures inline)
//! figures/<experiment>__<kind>.svg  + .png (2x) for each figure
//! tables/*.tex                      booktabs tables + preview.tex that inputs them all
//! tables/*.csv                      the same numbers at full precision
//! ```
//! [`compare`] sets two results folders side by side.

mod build;
pub mod compare;
pub mod csv;
pub mod doc;
mod document;
pub mod figures;
mod format;
pub mod html;
pub mod latex;
pub mod markdown;
mod method;
pub mod model;
pub mod palette;
mod samples;
mod stats;
mod table;

use std::path::{Path, PathBuf};

use crate::bench::Skipped;
use crate::results::{self, MetricRow, RunMeta};
use crate::{Error, Result};

pub use build::build_report;
pub use stats::PAIRED_BOOTSTRAP_SEED;

/// Everything a report is made from: all metric rows and run records of a suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteTable {
    /// The suite's name: its runs' `suite`, else the results folder's name.
    pub suite: String,
    pub rows: Vec<MetricRow>,
    pub runs: Vec<RunMeta>,
    /// The folder of each run, in the order of `runs`.
    pub run_dirs: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
}

/// Gathers every complete run under `results_dir/runs/` (a run is complete when its
/// `run.json` exists) and rewrites the suite-level `metrics.csv` / `metrics.parquet`.
pub fn collect_suite_table(results_dir: &Path) -> Result<SuiteTable> {
    // A suite whose every experiment was skipped has no runs/ yet; its report lists why.
    let table = gather(results_dir)?;
    let mut df = results::metrics_frame(&table.rows)?;
    results::write_frame(&mut df, Some(&results_dir.join("metrics.csv")), Some(&results_dir.join("metrics.parquet")))?;
    Ok(table)
}

/// Reads a suite's runs like [`collect_suite_table`] without writing anything (for
/// comparing folders one may not own).
pub fn read_suite_table(results_dir: &Path) -> Result<SuiteTable> {
    let runs_dir = results_dir.join("runs");
    if !runs_dir.is_dir() && !results_dir.join(crate::bench::SKIPPED_FILE_NAME).is_file() {
        return Err(Error::io(
            &runs_dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no runs/ folder here; pass a suite's results folder, e.g. results/smoke"),
        ));
    }
    gather(results_dir)
}

fn gather(results_dir: &Path) -> Result<SuiteTable> {
    let runs_dir = results_dir.join("runs");
    let mut table = SuiteTable {
        suite: results_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        ..SuiteTable::default()
    };
    let mut dirs: Vec<PathBuf> = if !runs_dir.is_dir() {
        Vec::new()
    } else {
        walkdir::WalkDir::new(&runs_dir)
            .min_depth(1)
            .max_depth(1)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_dir())
            .map(|e| e.into_path())
            .collect()
    };
    dirs.sort();
    for dir in dirs {
        let files = results::RunFiles::new(dir.clone());
        if !files.meta().is_file() {
            continue;
        }
        let meta = results::read_run_meta(&files.meta())?;
        table.rows.extend(results::read_metrics(&files.metrics_parquet())?);
        table.suite = meta.suite.clone();
        table.runs.push(meta);
        table.run_dirs.push(dir);
    }
    let skipped_path = results_dir.join(crate::bench::SKIPPED_FILE_NAME);
    if skipped_path.is_file() {
        let text = std::fs::read_to_string(&skipped_path).map_err(|e| Error::io(&skipped_path, e))?;
        table.skipped = serde_json::from_str(&text).map_err(|e| Error::format(&skipped_path, e.to_string()))?;
    }
    Ok(table)
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    write_bytes(path, text.as_bytes())
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    results::atomic_write(path, |out| {
        use std::io::Write;
        out.write_all(bytes).map_err(|e| Error::io(path, e))
    })
}

/// Writes the report of a suite into `report_dir` (Markdown, HTML, LaTeX and CSV tables,
/// figures); returns the path of `report.md`. Files of an earlier report in `figures/` and
/// `tables/` are replaced.
pub fn write_report(_results_dir: &Path, report_dir: &Path, table: &SuiteTable) -> Result<PathBuf> {
    let report = build_report(table)?;
    let figures = figures::render_all(&report)?;
    for sub in ["figures", "tables"] {
        let dir = report_dir.join(sub);
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
    }
    let mut images = std::collections::BTreeMap::new();
    for f in &figures {
        write_text(&report_dir.join(&f.reference.svg), &f.svg)?;
        write_bytes(&report_dir.join(&f.reference.png), &f.png)?;
        images.insert(f.reference.png.clone(), f.png.clone());
    }
    let blocks = document::layout(&report, &figures);
    let md_path = report_dir.join("report.md");
    write_text(&md_path, &markdown::render(&blocks))?;
    let title = format!("medmtl report: suite {}", report.suite);
    write_text(&report_dir.join("report.html"), &html::render(&title, &blocks, &images))?;
    for t in latex::tables(&report) {
        write_text(&report_dir.join("tables").join(&t.file), &t.text)?;
    }
    for t in csv::tables(&report) {
        write_text(&report_dir.join("tables").join(&t.file), &t.text())?;
    }
    Ok(md_path)
}
