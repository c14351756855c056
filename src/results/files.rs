//! Files of one run, each written atomically (temp file in the same folder + rename), so a
//! killed process never leaves a half-written file that a later step would read as valid.

use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::io::atomic_write;
use super::schema::{MetricRow, RunMeta, OLDEST_READABLE_VERSION, PAIR_COLUMNS, SCHEMA_VERSION};
use super::table::{metrics_frame, predictions_frame, write_frame};
use crate::data::{ImageShape, SplitName};
use crate::metrics::TaskPredictions;
use crate::task::Targets;
use crate::train::EpochRecord;
use crate::{Error, Result};

/// Paths of one run's files.
#[derive(Debug, Clone)]
pub struct RunFiles {
    /// The run's folder, `results/<suite>/runs/<run-id>/`.
    pub dir: PathBuf,
}

impl RunFiles {
    /// The files of the run in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        RunFiles { dir }
    }
    /// `run.json`: the run record, written last to mark the run complete.
    pub fn meta(&self) -> PathBuf {
        self.dir.join("run.json")
    }
    /// `metrics.csv`: the run's metric rows.
    pub fn metrics_csv(&self) -> PathBuf {
        self.dir.join("metrics.csv")
    }
    /// `metrics.parquet`: the run's metric rows, as read back by medmtl.
    pub fn metrics_parquet(&self) -> PathBuf {
        self.dir.join("metrics.parquet")
    }
    /// `cka.json`: linear CKA between the task networks of an STL run, per encoder stage.
    pub fn cka(&self) -> PathBuf {
        self.dir.join("cka.json")
    }
    /// `subgroups.json`: the subgroup of every test sample, in order, where the experiment
    /// reports per subgroup (metrics are recomputed from it and the predictions).
    pub fn subgroups(&self) -> PathBuf {
        self.dir.join("subgroups.json")
    }
    /// `history.csv`: per-epoch learning rate, training loss and validation primary metric.
    pub fn history(&self) -> PathBuf {
        self.dir.join("history.csv")
    }
    /// `checkpoint.safetensors`: the training state after the last finished epoch, while
    /// the run is unfinished (removed once `run.json` is written, unless kept).
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join("checkpoint.safetensors")
    }
    /// Where a task's predictions go: `.npz` for dense tasks, `.parquet` otherwise.
    pub fn predictions(&self, task: &str, dense: bool) -> PathBuf {
        let ext = if dense { "npz" } else { "parquet" };
        self.dir.join("predictions").join(format!("{task}.{ext}"))
    }
    /// A packed copy's per-image test statistics of a dense task
    /// ([`super::PackedStats`]), which replace its `.npz`.
    pub fn packed_stats(&self, task: &str) -> PathBuf {
        self.dir.join("predictions").join(format!("{task}.stats.csv"))
    }
}

/// Writes a finished run. `run.json` goes last: its presence marks the run complete.
pub fn write_run(
    files: &RunFiles,
    meta: &RunMeta,
    rows: &[MetricRow],
    history: &[EpochRecord],
    predictions: &[(String, Vec<(SplitName, &TaskPredictions)>)],
    test_images: Option<(&[f32], ImageShape)>,
) -> Result<()> {
    for ((task, per_split), meta_task) in predictions.iter().zip(&meta.tasks) {
        let dense = per_split.first().is_some_and(|(_, p)| matches!(p.targets, Targets::Masks { .. } | Targets::Images { .. }));
        debug_assert_eq!(task, &meta_task.name);
        if dense {
            super::dense::write_dense(&files.predictions(task, true), per_split, test_images)?;
        } else {
            let mut df = predictions_frame(per_split)?;
            write_frame(&mut df, None, Some(&files.predictions(task, false)))?;
        }
    }
    let mut df = metrics_frame(rows)?;
    write_frame(&mut df, Some(&files.metrics_csv()), Some(&files.metrics_parquet()))?;
    let mut hist = history_frame(history, &meta.tasks.iter().map(|t| t.name.clone()).collect::<Vec<_>>())?;
    write_frame(&mut hist, Some(&files.history()), None)?;
    atomic_write(&files.meta(), |out| {
        serde_json::to_writer_pretty(&mut *out, meta).map_err(|e| Error::format(files.meta(), e.to_string()))?;
        out.write_all(b"\n").map_err(|e| Error::io(files.meta(), e))
    })
}

/// Writes the representation similarity of an STL run's task networks.
pub fn write_cka(files: &RunFiles, cka: &crate::train::representation::RepresentationSimilarity) -> Result<()> {
    let path = files.cka();
    atomic_write(&path, |out| serde_json::to_writer_pretty(out, cka).map_err(|e| Error::format(&path, e.to_string())))
}

/// The representation similarity of a run's task networks, if it recorded one.
pub fn read_cka(files: &RunFiles) -> Result<Option<crate::train::representation::RepresentationSimilarity>> {
    let path = files.cka();
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map(Some).map_err(|e| Error::format(&path, format!("is not a CKA record: {e}")))
}

/// Writes the subgroup of every test sample (before `run.json`, which marks the run complete).
pub fn write_subgroups(files: &RunFiles, test_groups: &[String]) -> Result<()> {
    let path = files.subgroups();
    atomic_write(&path, |out| {
        serde_json::to_writer(out, &SubgroupFile { test: test_groups.to_vec() }).map_err(|e| Error::format(&path, e.to_string()))
    })
}

/// The subgroup of every test sample, if the run reported per subgroup.
pub fn read_subgroups(files: &RunFiles) -> Result<Option<Vec<String>>> {
    let path = files.subgroups();
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let file: SubgroupFile = serde_json::from_str(&text).map_err(|e| Error::format(&path, format!("is not a subgroup file: {e}")))?;
    Ok(Some(file.test))
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SubgroupFile {
    /// One label per test sample.
    test: Vec<String>,
}

/// Reads `run.json`, refusing schema versions this medmtl cannot read.
pub fn read_run_meta(path: &Path) -> Result<RunMeta> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::format(path, format!("is not valid JSON: {e}")))?;
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    if !version.is_some_and(|v| (OLDEST_READABLE_VERSION as u64..=SCHEMA_VERSION as u64).contains(&v)) {
        return Err(Error::format(
            path,
            format!(
                "has results schema version {}, this medmtl reads versions {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}; \
                 re-run the suite or use the medmtl version that wrote it",
                version.map_or("(none)".to_string(), |v| v.to_string())
            ),
        ));
    }
    serde_json::from_value(value).map_err(|e| Error::format(path, format!("is not a medmtl run record: {e}")))
}

/// Long table: one row per (epoch, task), with the task's weight over the epoch's steps
/// and, for every other task `p`, the pair's gradient relatedness in columns
/// `cos_mean__p`, `cos_q10__p`, `cos_q50__p`, `cos_q90__p`, `conflict__p`, `norm_ratio__p`
/// (`|g_task| / |g_p|`), `grad_steps__p` and `affinity__p` (the lookahead affinity
/// `Z(p→task)`, when measured) (NaN where not measured).
fn history_frame(history: &[EpochRecord], tasks: &[String]) -> Result<DataFrame> {
    let n = history.len() * tasks.len();
    let mut epoch = Vec::with_capacity(n);
    let mut lr = Vec::with_capacity(n);
    let mut task = Vec::with_capacity(n);
    let mut loss = Vec::with_capacity(n);
    let mut val = Vec::with_capacity(n);
    let mut secs = Vec::with_capacity(n);
    let mut weight: [Vec<f64>; 3] = Default::default();
    let mut pairs: Vec<[Vec<f64>; PAIR_COLUMNS.len()]> = vec![Default::default(); tasks.len()];
    for rec in history {
        for (t, name) in tasks.iter().enumerate() {
            epoch.push(rec.epoch as i64);
            lr.push(rec.lr);
            task.push(name.clone());
            loss.push(rec.train_loss.get(t).copied().unwrap_or(f64::NAN));
            val.push(rec.val_primary.get(t).copied().unwrap_or(f64::NAN));
            secs.push(rec.seconds);
            let w = rec.weights.get(t);
            for (col, v) in weight.iter_mut().zip([w.map(|w| w.mean), w.map(|w| w.min), w.map(|w| w.max)]) {
                col.push(v.unwrap_or(f64::NAN));
            }
            for (partner, cols) in pairs.iter_mut().enumerate() {
                let stats = rec.relatedness.iter().find(|p| (p.a, p.b) == (t.min(partner), t.max(partner)) && t != partner);
                let ratio = stats.map(|p| if p.a == t { p.norm_ratio } else { 1.0 / p.norm_ratio });
                let values = [
                    stats.map(|p| p.cos_mean),
                    stats.map(|p| p.cos_q10),
                    stats.map(|p| p.cos_q50),
                    stats.map(|p| p.cos_q90),
                    stats.map(|p| p.conflict),
                    ratio,
                    stats.map(|p| p.steps as f64),
                    // The effect on this task of a step on the partner's gradient.
                    stats.map(|p| if p.a == t { p.affinity_ba } else { p.affinity_ab }),
                ];
                for (col, v) in cols.iter_mut().zip(values) {
                    col.push(v.unwrap_or(f64::NAN));
                }
            }
        }
    }
    let mut columns = vec![
        Column::new("epoch".into(), epoch),
        Column::new("lr".into(), lr),
        Column::new("task".into(), task),
        Column::new("train_loss".into(), loss),
        Column::new("val_primary".into(), val),
        Column::new("epoch_seconds".into(), secs),
    ];
    for (name, col) in ["weight_mean", "weight_min", "weight_max"].into_iter().zip(weight) {
        columns.push(Column::new(name.into(), col));
    }
    for (partner, cols) in tasks.iter().zip(pairs) {
        for (stat, col) in PAIR_COLUMNS.iter().zip(cols) {
            columns.push(Column::new(format!("{stat}__{partner}").into(), col));
        }
    }
    Ok(DataFrame::new(n, columns)?)
}
