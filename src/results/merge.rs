//! Merging the results folders of shards (or machines) of one suite into one.

use std::path::{Path, PathBuf};

use super::files::{read_run_meta, RunFiles};
use super::table::read_metrics;
use crate::{Error, Result};

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeSummary {
    /// Runs copied into the output folder.
    pub copied: usize,
    /// Runs present in several inputs with identical results (kept once).
    pub duplicates: usize,
}

/// Copies every complete run of each `inputs` results folder into `out`, refusing mixed
/// suite versions (different suite-file hashes) and duplicate run keys whose values differ.
pub fn merge_results(inputs: &[PathBuf], out: &Path) -> Result<MergeSummary> {
    let _lock = super::FolderLock::acquire(out)?;
    let mut summary = MergeSummary { copied: 0, duplicates: 0 };
    let mut suite_hash: Option<(String, PathBuf)> = None;
    for input in inputs {
        let runs = input.join("runs");
        if !runs.is_dir() {
            return Err(Error::io(
                &runs,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no runs/ folder: is this a shard's results folder?"),
            ));
        }
        for dir in super::io::list_runs(input)? {
            let meta = read_run_meta(&dir.join("run.json"))?;
            match &suite_hash {
                Some((hash, first)) if *hash != meta.suite_hash => {
                    return Err(Error::Invalid(format!(
                        "{} was run with another version of the suite than {} (suite file hash {} vs {}); \
                         merge only shards of the same suite file",
                        dir.display(),
                        first.display(),
                        &meta.suite_hash[..12.min(meta.suite_hash.len())],
                        &hash[..12.min(hash.len())]
                    )))
                }
                None => suite_hash = Some((meta.suite_hash.clone(), dir.clone())),
                _ => {}
            }
            let target = out.join("runs").join(dir.file_name().unwrap_or_default());
            if target.join("run.json").is_file() {
                if same_results(&dir, &target)? {
                    summary.duplicates += 1;
                    continue;
                }
                return Err(Error::Invalid(format!(
                    "run {} appears in several inputs with different results ({} and {}); \
                     re-run it in one place or remove one copy",
                    meta.run_id,
                    dir.display(),
                    target.display()
                )));
            }
            super::io::copy_run_dir(&dir, &target, |_, src, dest| std::fs::copy(src, dest).map(drop).map_err(|e| Error::io(dest, e)))?;
            summary.copied += 1;
        }
    }
    Ok(summary)
}

/// Two copies of a run agree when their config hash and every metric value agree.
fn same_results(a: &Path, b: &Path) -> Result<bool> {
    let (ma, mb) = (read_run_meta(&a.join("run.json"))?, read_run_meta(&b.join("run.json"))?);
    if ma.config_hash != mb.config_hash || ma.status != mb.status {
        return Ok(false);
    }
    let (fa, fb) = (RunFiles::new(a.to_path_buf()), RunFiles::new(b.to_path_buf()));
    if !fa.metrics_parquet().is_file() && !fb.metrics_parquet().is_file() {
        return Ok(true);
    }
    let (ra, rb) = (read_metrics(&fa.metrics_parquet())?, read_metrics(&fb.metrics_parquet())?);
    Ok(ra.len() == rb.len()
        && ra.iter().zip(&rb).all(|(x, y)| {
            x.task == y.task
                && x.metric == y.metric
                && x.split == y.split
                && x.subgroup == y.subgroup
                && (x.value == y.value || (x.value.is_nan() && y.value.is_nan()))
        }))
}
