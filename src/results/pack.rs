//! Packing a suite's results folder into a copy small enough to commit, from which
//! `medmtl report` renders the same report.
//!
//! A full results folder is mostly dense predictions: masks and reconstructed images of the
//! validation and test splits, and with every segmentation run the test images themselves
//! (96% of a BUS-BRA run's 1.1 MB). A report reads of them only the test split: per-image
//! Dice from the masks, the pooled-R² terms of reconstructed images, and the images of three
//! gallery cases. The packed copy keeps exactly that: test masks as they are, each distinct
//! set of test images once under `test-images/`, reconstructions as their per-image terms.
//! Everything else (run records, metric tables, histories, vector-task predictions) is
//! copied unchanged; training checkpoints are left out.
//!
//! What a packed folder cannot do: recompute validation metrics or metrics of dense tasks
//! other than from the kept test masks, so `medmtl metrics` refuses it ([`is_packed`]).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::dense::{read_dense, read_test_images, write_packed_dense, write_test_images, TEST_IMAGES_DIR};
use super::files::{read_run_meta, RunFiles};
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
    /// Distinct sets of test images kept under `test-images/`.
    pub image_sets: usize,
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
    let mut summary = PackSummary { runs: 0, image_sets: 0, bytes_in: 0, bytes_out: 0 };
    let mut image_ids: Vec<String> = Vec::new();
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
            let images_ref = match kind {
                TaskKind::Segmentation { .. } => keep_test_images(src, out, &mut image_ids, &mut summary)?,
                _ => None,
            };
            pack_dense(src, dest, &kind, images_ref.as_deref())?;
            summary.count(src, dest);
            Ok(())
        })?;
        summary.runs += 1;
        summary.bytes_out += file_len(&target.join("run.json"));
    }
    summary.image_sets = image_ids.len();
    let marker = serde_json::json!({
        "packed_by": format!("medmtl {}", env!("CARGO_PKG_VERSION")),
        "runs": summary.runs,
        "kept": "run records, metric tables, histories, vector-task predictions; dense tasks: test split only \
                 (masks; reconstructions as per-image pooled-R2 terms); each distinct set of test images once in test-images/",
        "dropped": "validation predictions of dense tasks, reconstructed images, checkpoints",
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
        for sub in ["runs", TEST_IMAGES_DIR] {
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

/// Stores the test images of a segmentation file once per distinct content and returns
/// their id (the first 16 hex digits of the SHA-256 of shape and pixels).
fn keep_test_images(src: &Path, out: &Path, ids: &mut Vec<String>, summary: &mut PackSummary) -> Result<Option<String>> {
    let Some((images, dims)) = read_test_images(src)? else { return Ok(None) };
    let mut hash = Sha256::new();
    for d in dims {
        hash.update((d as u64).to_le_bytes());
    }
    hash.update(&images);
    let id: String = crate::data::fetch::hex(&hash.finalize())[..16].to_owned();
    if !ids.contains(&id) {
        let path: PathBuf = out.join(TEST_IMAGES_DIR).join(format!("{id}.npz"));
        std::fs::create_dir_all(out.join(TEST_IMAGES_DIR)).map_err(|e| Error::io(out, e))?;
        write_test_images(&path, &images, dims)?;
        summary.bytes_out += file_len(&path);
        ids.push(id.clone());
    }
    Ok(Some(id))
}

fn pack_dense(src: &Path, dest: &Path, kind: &TaskKind, images_ref: Option<&str>) -> Result<()> {
    let mut splits = read_dense(src, kind)?;
    let test = splits.remove(&SplitName::Test).ok_or_else(|| Error::format(src, "has no test-split predictions".to_owned()))?;
    write_packed_dense(dest, &test, images_ref)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
