//! Files of one run, each written atomically (temp file in the same folder + rename), so a
//! killed process never leaves a half-written file that a later step would read as valid.

use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::io::atomic_write;
use super::schema::{MetricRow, RunMeta, SCHEMA_VERSION};
use super::table::{metrics_frame, predictions_frame, write_frame};
use crate::data::{ImageShape, SplitName};
use crate::metrics::TaskPredictions;
use crate::task::Targets;
use crate::train::EpochRecord;
use crate::{Error, Result};

/// Paths of one run's files.
#[derive(Debug, Clone)]
pub struct RunFiles {
    pub dir: PathBuf,
}

impl RunFiles {
    pub fn new(dir: PathBuf) -> Self {
        RunFiles { dir }
    }
    pub fn meta(&self) -> PathBuf {
        self.dir.join("run.json")
    }
    pub fn metrics_csv(&self) -> PathBuf {
        self.dir.join("metrics.csv")
    }
    pub fn metrics_parquet(&self) -> PathBuf {
        self.dir.join("metrics.parquet")
    }
    pub fn history(&self) -> PathBuf {
        self.dir.join("history.csv")
    }
    /// Where a task's predictions go: `.npz` for dense tasks, `.parquet` otherwise.
    pub fn predictions(&self, task: &str, dense: bool) -> PathBuf {
        let ext = if dense { "npz" } else { "parquet" };
        self.dir.join("predictions").join(format!("{task}.{ext}"))
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

/// Reads `run.json`, refusing other schema versions.
pub fn read_run_meta(path: &Path) -> Result<RunMeta> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::format(path, format!("is not valid JSON: {e}")))?;
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    if version != Some(SCHEMA_VERSION as u64) {
        return Err(Error::format(
            path,
            format!(
                "has results schema version {}, this medmtl reads version {SCHEMA_VERSION}",
                version.map_or("(none)".to_string(), |v| v.to_string())
            ),
        ));
    }
    serde_json::from_value(value).map_err(|e| Error::format(path, format!("is not a medmtl run record: {e}")))
}

/// Long table: one row per (epoch, task).
fn history_frame(history: &[EpochRecord], tasks: &[String]) -> Result<DataFrame> {
    let mut epoch = Vec::new();
    let mut lr = Vec::new();
    let mut task = Vec::new();
    let mut loss = Vec::new();
    let mut val = Vec::new();
    let mut secs = Vec::new();
    for rec in history {
        for (t, name) in tasks.iter().enumerate() {
            epoch.push(rec.epoch as i64);
            lr.push(rec.lr);
            task.push(name.clone());
            loss.push(rec.train_loss.get(t).copied().unwrap_or(f64::NAN));
            val.push(rec.val_primary.get(t).copied().unwrap_or(f64::NAN));
            secs.push(rec.seconds);
        }
    }
    let height = epoch.len();
    Ok(DataFrame::new(
        height,
        vec![
            Column::new("epoch".into(), epoch),
            Column::new("lr".into(), lr),
            Column::new("task".into(), task),
            Column::new("train_loss".into(), loss),
            Column::new("val_primary".into(), val),
            Column::new("epoch_seconds".into(), secs),
        ],
    )?)
}
