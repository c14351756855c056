//! Reports rendered from results tables only (never by retraining).

mod markdown;

use std::path::{Path, PathBuf};

use crate::bench::Skipped;
use crate::results::{self, MetricRow, RunMeta};
use crate::{Error, Result};

pub use markdown::render_markdown;

/// Everything a report is made from: all metric rows and run records of a suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteTable {
    pub rows: Vec<MetricRow>,
    pub runs: Vec<RunMeta>,
    pub skipped: Vec<Skipped>,
}

/// Gathers every complete run under `results_dir/runs/` (a run is complete when its
/// `run.json` exists) and rewrites the suite-level `metrics.csv` / `metrics.parquet`.
pub fn collect_suite_table(results_dir: &Path) -> Result<SuiteTable> {
    let runs_dir = results_dir.join("runs");
    let mut table = SuiteTable::default();
    if runs_dir.is_dir() {
        let mut dirs: Vec<PathBuf> = walkdir::WalkDir::new(&runs_dir)
            .min_depth(1)
            .max_depth(1)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_dir())
            .map(|e| e.into_path())
            .collect();
        dirs.sort();
        for dir in dirs {
            let files = results::RunFiles::new(dir);
            if !files.meta().is_file() {
                continue;
            }
            let meta = results::read_run_meta(&files.meta())?;
            table.rows.extend(results::read_metrics(&files.metrics_parquet())?);
            table.runs.push(meta);
        }
    }
    let skipped_path = results_dir.join(crate::bench::SKIPPED_FILE_NAME);
    if skipped_path.is_file() {
        let text = std::fs::read_to_string(&skipped_path).map_err(|e| Error::io(&skipped_path, e))?;
        table.skipped = serde_json::from_str(&text).map_err(|e| Error::format(&skipped_path, e.to_string()))?;
    }
    let mut df = results::metrics_frame(&table.rows)?;
    results::write_frame(
        &mut df,
        Some(&results_dir.join("metrics.csv")),
        Some(&results_dir.join("metrics.parquet")),
    )?;
    Ok(table)
}

/// Writes `report.md` for a suite into `report_dir`; returns its path.
pub fn write_report(results_dir: &Path, report_dir: &Path, table: &SuiteTable) -> Result<PathBuf> {
    let text = render_markdown(table, results_dir);
    let path = report_dir.join("report.md");
    results::atomic_write(&path, |out| {
        use std::io::Write;
        out.write_all(text.as_bytes()).map_err(|e| Error::io(&path, e))
    })?;
    Ok(path)
}
