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

/// Copies a run folder file by file through `copy_file(relative path, source, destination)`
/// (which may transform or skip a file), `run.json` last and atomically, so an interrupted
/// copy leaves no run that looks complete.
pub fn copy_run_dir(from: &Path, to: &Path, mut copy_file: impl FnMut(&Path, &Path, &Path) -> Result<()>) -> Result<()> {
    let mut meta_file = None;
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Invalid(format!("reading {}: {e}", from.display())))?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
        } else if rel == Path::new("run.json") {
            meta_file = Some((entry.path().to_path_buf(), dest));
        } else {
            copy_file(rel, entry.path(), &dest)?;
        }
    }
    if let Some((src, dest)) = meta_file {
        let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
        write_bytes(&dest, &bytes)?;
    }
    Ok(())
}
