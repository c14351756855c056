//! Converting results to and from polars DataFrames, and their CSV / Parquet files.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::io::atomic_write;
use super::schema::{MetricRow, OLDEST_READABLE_VERSION, SCHEMA_VERSION};
use crate::data::SplitName;
use crate::metrics::TaskPredictions;
use crate::task::{Targets, TaskKind};
use crate::{Error, Result};

const STRING_COLUMNS: [&str; 11] =
    ["run_id", "suite", "experiment", "datasets", "design", "weighting", "backbone", "task", "task_kind", "split", "metric"];

/// The tidy metrics table of `rows`, with a `schema_version` column.
pub fn metrics_frame(rows: &[MetricRow]) -> Result<DataFrame> {
    let strings = |f: fn(&MetricRow) -> &str| rows.iter().map(|r| f(r).to_owned()).collect::<Vec<String>>();
    let columns = vec![
        Column::new("schema_version".into(), vec![SCHEMA_VERSION as i64; rows.len()]),
        Column::new("run_id".into(), strings(|r| &r.run_id)),
        Column::new("suite".into(), strings(|r| &r.suite)),
        Column::new("experiment".into(), strings(|r| &r.experiment)),
        Column::new("datasets".into(), strings(|r| &r.datasets)),
        Column::new("design".into(), strings(|r| &r.design)),
        Column::new("weighting".into(), strings(|r| &r.weighting)),
        Column::new("backbone".into(), strings(|r| &r.backbone)),
        Column::new("seed".into(), rows.iter().map(|r| r.seed as i64).collect::<Vec<i64>>()),
        Column::new("task".into(), strings(|r| &r.task)),
        Column::new("task_kind".into(), strings(|r| &r.task_kind)),
        Column::new("split".into(), strings(|r| &r.split)),
        Column::new("metric".into(), strings(|r| &r.metric)),
        Column::new("value".into(), rows.iter().map(|r| r.value).collect::<Vec<f64>>()),
        Column::new("ci_low".into(), rows.iter().map(|r| r.ci_low).collect::<Vec<f64>>()),
        Column::new("ci_high".into(), rows.iter().map(|r| r.ci_high).collect::<Vec<f64>>()),
        Column::new("subgroup".into(), strings(|r| &r.subgroup)),
        Column::new("n".into(), rows.iter().map(|r| r.n as i64).collect::<Vec<i64>>()),
    ];
    Ok(DataFrame::new(rows.len(), columns)?)
}

/// Metric rows from a table written by [`metrics_frame`]; `path` names the file in errors.
pub fn rows_from_frame(df: &DataFrame, path: &Path) -> Result<Vec<MetricRow>> {
    let missing = |name: &str| Error::format(path, format!("is not a medmtl metrics table: column '{name}' is missing"));
    let version = df.column("schema_version").map_err(|_| missing("schema_version"))?;
    let version = version.cast(&DataType::Int64)?;
    let readable = OLDEST_READABLE_VERSION as i64..=SCHEMA_VERSION as i64;
    if let Some(v) = version.i64()?.iter().flatten().find(|v| !readable.contains(v)) {
        return Err(Error::format(
            path,
            format!(
                "has results schema version {v}, this medmtl reads versions {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}; \
                 re-run the suite or use the medmtl version that wrote it"
            ),
        ));
    }
    let mut text: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for name in STRING_COLUMNS {
        let col = df.column(name).map_err(|_| missing(name))?.cast(&DataType::String)?;
        let values = col.str()?.iter().map(|v| v.unwrap_or_default().to_owned()).collect();
        text.insert(name, values);
    }
    let seeds = df.column("seed").map_err(|_| missing("seed"))?.cast(&DataType::Int64)?;
    let seeds: Vec<i64> = seeds.i64()?.iter().map(|v| v.unwrap_or(0)).collect();
    let floats = |name: &str| -> Result<Vec<f64>> {
        let col = df.column(name).map_err(|_| missing(name))?.cast(&DataType::Float64)?;
        Ok(col.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    let (values, ci_low, ci_high) = (floats("value")?, floats("ci_low")?, floats("ci_high")?);
    // Version 4 columns: absent from older tables, whose rows are all pooled.
    let subgroups: Vec<String> = match df.column("subgroup") {
        Ok(col) => col.cast(&DataType::String)?.str()?.iter().map(|v| v.unwrap_or_default().to_owned()).collect(),
        Err(_) => vec![String::new(); df.height()],
    };
    let counts: Vec<u64> = match df.column("n") {
        Ok(col) => col.cast(&DataType::Int64)?.i64()?.iter().map(|v| v.unwrap_or(0).max(0) as u64).collect(),
        Err(_) => vec![0; df.height()],
    };
    let take = |name: &str, i: usize| text[name][i].clone();
    Ok((0..df.height())
        .map(|i| MetricRow {
            run_id: take("run_id", i),
            suite: take("suite", i),
            experiment: take("experiment", i),
            datasets: take("datasets", i),
            design: take("design", i),
            weighting: take("weighting", i),
            backbone: take("backbone", i),
            seed: seeds[i] as u64,
            task: take("task", i),
            task_kind: take("task_kind", i),
            split: take("split", i),
            metric: take("metric", i),
            value: values[i],
            ci_low: ci_low[i],
            ci_high: ci_high[i],
            subgroup: subgroups[i].clone(),
            n: counts[i],
        })
        .collect())
}

/// Writes `df` as CSV and/or Parquet, each atomically.
pub fn write_frame(df: &mut DataFrame, csv: Option<&Path>, parquet: Option<&Path>) -> Result<()> {
    if let Some(path) = csv {
        atomic_write(path, |file| {
            CsvWriter::new(file).include_header(true).finish(df)?;
            Ok(())
        })?;
    }
    if let Some(path) = parquet {
        atomic_write(path, |file| {
            ParquetWriter::new(file).finish(df)?;
            Ok(())
        })?;
    }
    Ok(())
}

/// Reads a metrics table from `.parquet` or `.csv`.
pub fn read_metrics(path: &Path) -> Result<Vec<MetricRow>> {
    let df = read_frame(path)?;
    rows_from_frame(&df, path)
}

fn read_frame(path: &Path) -> Result<DataFrame> {
    let wrap = |e: PolarsError| Error::format(path, format!("cannot be read as a table: {e}"));
    if path.extension().is_some_and(|e| e == "parquet") {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        ParquetReader::new(file).finish().map_err(wrap)
    } else {
        if !path.is_file() {
            return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")));
        }
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(10_000))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(wrap)
    }
}

/// One row of a run's `history.csv`: a task's mean training loss and validation primary
/// metric after one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// The epoch, 1-based.
    pub epoch: usize,
    /// Learning rate of the epoch.
    pub lr: f64,
    /// The task's name.
    pub task: String,
    /// The task's mean training loss over the epoch.
    pub train_loss: f64,
    /// The task's primary metric on the validation split (what weights are selected on).
    pub val_primary: f64,
    /// Wall time of the epoch, training steps and validation pass; the same for every task.
    pub epoch_seconds: f64,
    /// The weighting method's weight of the task over the epoch: mean, min, max (NaN when
    /// the method has no explicit weights, or for results of schema version 2).
    pub weight: (f64, f64, f64),
    /// Gradient relatedness with each other task, where measured.
    pub relatedness: Vec<PartnerRelatedness>,
}

/// One task's gradient relatedness with a partner task over one epoch (see
/// [`crate::train::probe::PairStats`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerRelatedness {
    /// The other task.
    pub partner: String,
    /// Mean, 10 %, 50 % and 90 % quantiles of the gradient cosine.
    pub cos: [f64; 4],
    /// Fraction of measured steps with cosine < 0.
    pub conflict: f64,
    /// Median of `|g_task| / |g_partner|`.
    pub norm_ratio: f64,
    /// Steps measured.
    pub steps: f64,
    /// Lookahead affinity `Z(partner→task)`; NaN where not measured.
    pub affinity: f64,
}

/// Reads a run's `history.csv` (written by `write_run`).
pub fn read_history(path: &Path) -> Result<Vec<HistoryRow>> {
    let df = read_frame(path)?;
    let missing = |name: &str| Error::format(path, format!("is not a medmtl history table: column '{name}' is missing"));
    let floats = |name: &str| -> Result<Vec<f64>> {
        let col = df.column(name).map_err(|_| missing(name))?.cast(&DataType::Float64)?;
        Ok(col.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    let tasks = df.column("task").map_err(|_| missing("task"))?.cast(&DataType::String)?;
    let tasks: Vec<String> = tasks.str()?.iter().map(|v| v.unwrap_or_default().to_owned()).collect();
    let (epoch, lr, loss, val, secs) =
        (floats("epoch")?, floats("lr")?, floats("train_loss")?, floats("val_primary")?, floats("epoch_seconds")?);
    // Columns added in schema version 3: absent in older results.
    let optional = |name: &str| -> Result<Vec<f64>> {
        if df.column(name).is_ok() {
            floats(name)
        } else {
            Ok(vec![f64::NAN; df.height()])
        }
    };
    let (w_mean, w_min, w_max) = (optional("weight_mean")?, optional("weight_min")?, optional("weight_max")?);
    let partners: Vec<String> =
        df.get_column_names().iter().filter_map(|c| c.as_str().strip_prefix("cos_mean__").map(str::to_owned)).collect();
    let mut pair_cols = Vec::new();
    for p in &partners {
        let cols = super::schema::PAIR_COLUMNS.iter().map(|stat| optional(&format!("{stat}__{p}"))).collect::<Result<Vec<_>>>()?;
        pair_cols.push((p.clone(), cols));
    }
    Ok((0..df.height())
        .map(|i| HistoryRow {
            epoch: epoch[i] as usize,
            lr: lr[i],
            task: tasks[i].clone(),
            train_loss: loss[i],
            val_primary: val[i],
            epoch_seconds: secs[i],
            weight: (w_mean[i], w_min[i], w_max[i]),
            relatedness: pair_cols
                .iter()
                .filter(|(_, c)| c[0][i].is_finite())
                .map(|(p, c)| PartnerRelatedness {
                    partner: p.clone(),
                    cos: [c[0][i], c[1][i], c[2][i], c[3][i]],
                    conflict: c[4][i],
                    norm_ratio: c[5][i],
                    steps: c[6][i],
                    affinity: c[7][i],
                })
                .collect(),
        })
        .collect())
}

/// The predictions table of a vector task: `split`, `sample`, `target_0..`, `score_0..`.
pub fn predictions_frame(per_split: &[(SplitName, &TaskPredictions)]) -> Result<DataFrame> {
    let width = per_split.first().map(|(_, p)| p.width).unwrap_or(0);
    let target_width = per_split.first().map(|(_, p)| p.targets.per_sample()).unwrap_or(0);
    let mut split = Vec::new();
    let mut sample = Vec::new();
    let mut targets: Vec<Vec<f64>> = vec![Vec::new(); target_width];
    let mut scores: Vec<Vec<f32>> = vec![Vec::new(); width];
    let with_spacing = per_split.iter().all(|(_, p)| p.spacing.is_some()) && !per_split.is_empty();
    let mut spacing: Vec<f32> = Vec::new();
    for (name, p) in per_split {
        if with_spacing {
            spacing.extend(p.spacing.iter().flatten().copied());
        }
        let n = p.targets.len();
        split.extend(std::iter::repeat_n(name.as_str().to_owned(), n));
        sample.extend((0..n).map(|i| i as i64));
        for i in 0..n {
            for (k, v) in p.targets.sample_values(i).into_iter().enumerate() {
                targets[k].push(v);
            }
        }
        for row in p.scores.chunks(p.width.max(1)) {
            for (k, &v) in row.iter().enumerate() {
                scores[k].push(v);
            }
        }
    }
    let height = split.len();
    let mut columns = vec![Column::new("split".into(), split), Column::new("sample".into(), sample)];
    for (k, t) in targets.into_iter().enumerate() {
        columns.push(Column::new(format!("target_{k}").into(), t));
    }
    for (k, s) in scores.into_iter().enumerate() {
        columns.push(Column::new(format!("score_{k}").into(), s));
    }
    if with_spacing {
        columns.push(Column::new("spacing".into(), spacing));
    }
    Ok(DataFrame::new(height, columns)?)
}

/// Reads a vector task's predictions table back, per split.
pub fn read_predictions(path: &Path, kind: &TaskKind) -> Result<BTreeMap<SplitName, TaskPredictions>> {
    let df = read_frame(path)?;
    let bad = |msg: String| Error::format(path, msg);
    let column = |name: &str| -> Result<Vec<f64>> {
        let col = df.column(name).map_err(|_| bad(format!("has no '{name}' column for a {} task", kind.name())))?;
        Ok(col.cast(&DataType::Float64)?.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    let splits = df.column("split").map_err(|_| bad("has no 'split' column".into()))?.cast(&DataType::String)?;
    let split_names: Vec<String> = splits.str()?.iter().map(|v| v.unwrap_or_default().to_owned()).collect();
    let width = kind.outputs();
    let target_width = match kind {
        TaskKind::MultiLabel { labels } => *labels,
        TaskKind::Ellipse { .. } => crate::task::ELLIPSE_PARAMS,
        _ => 1,
    };
    // Pixel sizes travel with the predictions of kinds whose metrics are in mm.
    let spacing = if df.column("spacing").is_ok() { Some(column("spacing")?) } else { None };
    let score_cols = (0..width).map(|k| column(&format!("score_{k}"))).collect::<Result<Vec<_>>>()?;
    let target_cols = (0..target_width).map(|k| column(&format!("target_{k}"))).collect::<Result<Vec<_>>>()?;
    let mut out = BTreeMap::new();
    for split in SplitName::ALL {
        let rows: Vec<usize> = (0..df.height()).filter(|&i| split_names[i] == split.as_str()).collect();
        if rows.is_empty() {
            continue;
        }
        let targets = match kind {
            TaskKind::MultiLabel { labels } => Targets::MultiLabels {
                width: *labels,
                values: rows.iter().flat_map(|&i| target_cols.iter().map(move |c| c[i] as u8)).collect(),
            },
            TaskKind::Ellipse { .. } => Targets::Params {
                width: target_width,
                values: rows.iter().flat_map(|&i| target_cols.iter().map(move |c| c[i] as f32)).collect(),
            },
            k if k.is_classification() => Targets::Classes(rows.iter().map(|&i| target_cols[0][i] as u32).collect()),
            _ => Targets::Values(rows.iter().map(|&i| target_cols[0][i] as f32).collect()),
        };
        let scores = rows.iter().flat_map(|&i| score_cols.iter().map(move |c| c[i] as f32)).collect();
        let spacing = spacing.as_ref().map(|s| rows.iter().map(|&i| s[i] as f32).collect());
        out.insert(split, TaskPredictions { targets, scores, width, spacing });
    }
    Ok(out)
}
