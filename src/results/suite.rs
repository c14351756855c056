//! A suite's results folder read as one table: every complete run's metric rows and run
//! record, and the experiments that were skipped. Reports, checks, comparisons and the
//! suite runner all read results through this.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::{read_run_meta, RunFiles};
use super::schema::{MetricRow, RunMeta};
use crate::{Error, Result};

/// An experiment that did not run, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The experiment's name.
    pub experiment: String,
    /// Its dataset.
    pub dataset: String,
    /// Why its data could not be had.
    pub reason: String,
}

/// File in a suite's results folder listing skipped experiments (read by the report).
pub const SKIPPED_FILE: &str = "skipped.json";

/// Everything a report is made from: all metric rows and run records of a suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteTable {
    /// The suite's name: its runs' `suite`, else the results folder's name.
    pub suite: String,
    /// The pooled metric rows (whole splits) of every run with a `run.json` (diverged runs
    /// have none): what tables, paired tests, Δm and CI checks read.
    pub rows: Vec<MetricRow>,
    /// The test rows per subgroup, where an experiment reports them.
    pub subgroup_rows: Vec<MetricRow>,
    /// The record of every run with a `run.json`, diverged runs included.
    pub runs: Vec<RunMeta>,
    /// The folder of each run, in the order of `runs`.
    pub run_dirs: Vec<PathBuf>,
    /// Experiments that did not run (from [`SKIPPED_FILE`]).
    pub skipped: Vec<Skipped>,
}

/// Gathers every complete run under `results_dir/runs/` (a run is complete when its
/// `run.json` exists) and rewrites the suite-level `metrics.csv` / `metrics.parquet` (pooled
/// rows first, then the rows per subgroup).
pub fn collect_suite_table(results_dir: &Path) -> Result<SuiteTable> {
    // A suite whose every experiment was skipped has no runs/ yet; its report lists why.
    let table = gather(results_dir)?;
    let all: Vec<MetricRow> = table.rows.iter().chain(&table.subgroup_rows).cloned().collect();
    let mut df = super::metrics_frame(&all)?;
    super::write_frame(&mut df, Some(&results_dir.join("metrics.csv")), Some(&results_dir.join("metrics.parquet")))?;
    Ok(table)
}

/// Reads a suite's runs like [`collect_suite_table`] without writing anything (for
/// comparing folders one may not own).
pub fn read_suite_table(results_dir: &Path) -> Result<SuiteTable> {
    let runs_dir = results_dir.join("runs");
    if !runs_dir.is_dir() && !results_dir.join(SKIPPED_FILE).is_file() {
        return Err(Error::io(
            &runs_dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no runs/ folder here; pass a suite's results folder, e.g. results/smoke"),
        ));
    }
    gather(results_dir)
}

fn gather(results_dir: &Path) -> Result<SuiteTable> {
    let mut table = SuiteTable {
        suite: results_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        ..SuiteTable::default()
    };
    let dirs = super::io::list_runs(results_dir)?;
    for dir in dirs {
        let files = RunFiles::new(dir.clone());
        let meta = read_run_meta(&files.meta())?;
        let (pooled, per_group): (Vec<MetricRow>, Vec<MetricRow>) =
            super::read_metrics(&files.metrics_parquet())?.into_iter().partition(MetricRow::is_pooled);
        table.rows.extend(pooled);
        table.subgroup_rows.extend(per_group);
        table.suite = meta.suite.clone();
        table.runs.push(meta);
        table.run_dirs.push(dir);
    }
    let skipped_path = results_dir.join(SKIPPED_FILE);
    if skipped_path.is_file() {
        let text = std::fs::read_to_string(&skipped_path).map_err(|e| Error::io(&skipped_path, e))?;
        table.skipped = serde_json::from_str(&text).map_err(|e| Error::format(&skipped_path, e.to_string()))?;
    }
    Ok(table)
}
