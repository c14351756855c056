//! Packing a suite's results folder into a copy small enough to commit, from which
//! `medmtl report` renders the same report.
//!
//! A full results folder is mostly dense predictions: masks and reconstructed images of the
//! validation and test splits, and with every segmentation run the test images themselves
//! (96% of a BUS-BRA run's 1.1 MB). Images and reference masks are the dataset's content,
//! which is not ours to commit, and a report's statistics need only per-image numbers of the
//! test split: Dice per image and a digest of each reference mask (to pair runs tested on the
//! same images), the pooled-R² terms per reconstructed image. The packed copy keeps exactly
//! that, as a small CSV per task ([`PackedStats`]). Everything else (run records, metric
//! tables, histories, vector-task predictions) is copied unchanged; training checkpoints are
//! left out.
//!
//! What a packed folder cannot do: recompute metrics (`medmtl metrics` refuses it,
//! [`is_packed`]) or draw segmentation galleries, which need the test images; a report of
//! the full results folder has them.

use std::path::Path;

use super::dense::read_dense;
use super::files::{read_run_meta, RunFiles};
use super::packed_stats::PackedStats;
use crate::data::SplitName;
use crate::task::TaskKind;
use crate::{Error, Result};

/// The marker file of a packed results folder.
pub const PACKED_FILE: &str = "packed.json";

/// What [`pack_results`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackSummary {
    /// Complete runs packed.
    pub runs: usize,
    /// Bytes of the files read from the results folder (checkpoints excluded).
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
}

impl PackSummary {
    fn count(&mut self, src: &Path, dest: &Path) {
        self.bytes_in += file_len(src);
        self.bytes_out += file_len(dest);
    }
}

/// Whether `results_dir` is a packed copy (holds [`PACKED_FILE`]).
pub fn is_packed(results_dir: &Path) -> bool {
    results_dir.join(PACKED_FILE).is_file()
}

/// Packs the complete runs of the results folder `from` into `out` (created; a previous
/// packed copy there is replaced, any other non-empty folder refused).
pub fn pack_results(from: &Path, out: &Path) -> Result<PackSummary> {
    if is_packed(from) {
        return Err(Error::Invalid(format!("{} is already a packed copy; pack the full results folder it came from", from.display())));
    }
    let runs = super::io::list_runs(from)?;
    if runs.is_empty() {
        return Err(Error::Invalid(format!("{} holds no complete runs (runs/<id>/run.json) to pack", from.display())));
    }
    prepare_output(from, out)?;
    let mut summary = PackSummary { runs: 0, bytes_in: 0, bytes_out: 0 };
    for run in &runs {
        let files = RunFiles::new(run.clone());
        let meta = read_run_meta(&files.meta())?;
        let target = out.join("runs").join(run.file_name().unwrap_or_default());
        super::io::copy_run_dir(run, &target, |rel, src, dest| {
            let dense_task = (rel.parent() == Some(Path::new("predictions")) && rel.extension().is_some_and(|e| e == "npz"))
                .then(|| rel.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .flatten();
            // The training state of a killed run and leftovers of interrupted writes.
            let hidden = rel.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if src == files.checkpoint() || hidden {
                return Ok(());
            }
            let Some(task) = dense_task else {
                std::fs::copy(src, dest).map_err(|e| Error::io(dest, e))?;
                summary.count(src, dest);
                return Ok(());
            };
            let kind =
                meta.tasks.iter().find(|t| t.name == task).and_then(|t| t.task_kind()).ok_or_else(|| {
                    Error::format(src, format!("has no task '{task}' of a known kind in {}", run.join("run.json").display()))
                })?;
            let dest = RunFiles::new(target.clone()).packed_stats(&task);
            pack_dense(src, &dest, &kind)?;
            summary.count(src, &dest);
            Ok(())
        })?;
        summary.runs += 1;
        summary.bytes_out += file_len(&target.join("run.json"));
    }
    let marker = serde_json::json!({
        "packed_by": format!("medmtl {}", env!("CARGO_PKG_VERSION")),
        "runs": summary.runs,
        "kept": "run records, metric tables, histories, vector-task predictions; dense tasks: per-image statistics of \
                 the test split in predictions/<task>.stats.csv (segmentation: Dice and the SHA-256 of each reference mask; \
                 reconstruction: pooled-R2 terms)",
        "dropped": "every image and mask (dataset content and predicted masks), validation predictions of dense tasks, checkpoints",
    });
    let text = serde_json::to_string_pretty(&marker).map_err(|e| Error::Invalid(e.to_string()))?;
    super::io::write_text(&out.join(PACKED_FILE), &(text + "\n"))?;
    Ok(summary)
}

/// Creates `out`, clearing a previous packed copy; refuses a folder that is something else
/// or the results folder itself.
fn prepare_output(from: &Path, out: &Path) -> Result<()> {
    let same = |a: &Path, b: &Path| a.canonicalize().ok().zip(b.canonicalize().ok()).is_some_and(|(a, b)| b.starts_with(&a) || a == b);
    if same(from, out) {
        return Err(Error::Invalid(format!("--out {} must lie outside the results folder {}", out.display(), from.display())));
    }
    if out.is_dir() {
        let empty = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?.next().is_none();
        if !empty && !is_packed(out) {
            return Err(Error::Invalid(format!(
                "{} exists and is not a packed results folder (no {PACKED_FILE}); choose an empty or new folder",
                out.display()
            )));
        }
        // `test-images/`: the images earlier packs kept, which a new pack must not leave behind.
        for sub in ["runs", "test-images"] {
            let dir = out.join(sub);
            if dir.is_dir() {
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    // The suite-level files (suite.toml, pooled metrics, skipped experiments); not the lock.
    for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
        let path = entry.map_err(|e| Error::io(from, e))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_file() && !name.starts_with('.') && name != PACKED_FILE {
            let dest = out.join(&name);
            std::fs::copy(&path, &dest).map_err(|e| Error::io(&dest, e))?;
        }
    }
    Ok(())
}

fn pack_dense(src: &Path, dest: &Path, kind: &TaskKind) -> Result<()> {
    let mut splits = read_dense(src, kind)?;
    let test = splits.remove(&SplitName::Test).ok_or_else(|| Error::format(src, "has no test-split predictions".to_owned()))?;
    PackedStats::of(&test, kind)?.write(dest)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
