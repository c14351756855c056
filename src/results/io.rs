//! Listing a suite's runs, and the atomic writes every results file goes through.

use std::path::{Path, PathBuf};

pub use crate::fsio::{atomic_write, write_bytes, write_text};
use crate::{Error, Result};

/// The complete runs of a suite's results folder (the folders under `runs/` that hold a
/// `run.json`), sorted; an empty list when `runs/` does not exist yet.
pub fn list_runs(results_dir: &Path) -> Result<Vec<PathBuf>> {
    let runs = results_dir.join("runs");
    if !runs.is_dir() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(&runs).map_err(|e| Error::io(&runs, e))?;
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("run.json").is_file()).collect();
    dirs.sort();
    Ok(dirs)
}
