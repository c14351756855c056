//! Regression tracking for CI: a baseline summarises a suite's results (per experiment,
//! design, weighting, task and metric: mean, std and n over seeds, plus each design's
//! training throughput as a ratio to the reference workload timed in the same run), and a
//! check compares a new run against it.
//!
//! The rules, printed with every check:
//! - a quality metric regresses when its new mean leaves the band
//!   `baseline mean -/+ max(K * baseline std, REL_FLOOR * |baseline mean|, ABS_FLOOR)` on
//!   the worse side (the floors keep a zero-variance baseline from being brittle);
//! - throughput regresses when the ratio `train images/s / reference images/s` falls by more
//!   than `THROUGHPUT_DROP` (absolute seconds are never compared across machines);
//! - a baseline row missing from the run is lost coverage, also a failure.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use crate::metrics::{higher_is_better, is_count};
use crate::results::SuiteTable;
use crate::results::{atomic_write, RunStatus, OLDEST_READABLE_VERSION, SCHEMA_VERSION};
use crate::stats::summarize;
use crate::{Error, Result};

/// Standard deviations of seed noise a metric may move before it counts as a regression.
pub const K: f64 = 2.0;
/// Relative floor of the band, as a fraction of the baseline mean.
pub const REL_FLOOR: f64 = 0.02;
/// Absolute floor of the band.
pub const ABS_FLOOR: f64 = 0.005;
/// Largest tolerated fall of the throughput ratio (shared CI machines are noisy).
pub const THROUGHPUT_DROP: f64 = 0.35;
/// The metric name throughput rows use in baselines.
pub const THROUGHPUT: &str = "train_throughput_ratio";

/// One summarised row of a baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineRow {
    /// The experiment's name.
    pub experiment: String,
    /// The design's name.
    pub design: String,
    /// The weighting method's name.
    pub weighting: String,
    /// `*` for throughput rows.
    pub task: String,
    /// The metric's name (test split), or [`THROUGHPUT`].
    pub metric: String,
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation (n - 1) over seeds; 0 for one seed.
    pub std: f64,
    /// Seeds with a finite value.
    pub n: usize,
}

impl BaselineRow {
    fn key(&self) -> (String, String, String, String, String) {
        (self.experiment.clone(), self.design.clone(), self.weighting.clone(), self.task.clone(), self.metric.clone())
    }
}

/// Summarises a suite's complete runs: test-split metrics (counts excluded) and throughput.
pub fn summarize_suite(table: &SuiteTable) -> Vec<BaselineRow> {
    let mut groups: BTreeMap<(String, String, String, String, String), Vec<f64>> = BTreeMap::new();
    for r in table.rows.iter().filter(|r| r.split == "test" && !is_count(&r.metric)) {
        groups
            .entry((r.experiment.clone(), r.design.clone(), r.weighting.clone(), r.task.clone(), r.metric.clone()))
            .or_default()
            .push(r.value);
    }
    for run in table.runs.iter().filter(|r| r.status == RunStatus::Complete) {
        if let Some(reference) = run.reference_images_per_sec.filter(|v| *v > 0.0) {
            groups
                .entry((run.experiment.clone(), run.design.clone(), run.weighting.clone(), "*".into(), THROUGHPUT.into()))
                .or_default()
                .push(run.train_images_per_sec / reference);
        }
    }
    groups
        .into_iter()
        .map(|((experiment, design, weighting, task, metric), values)| {
            let s = summarize(&values);
            BaselineRow { experiment, design, weighting, task, metric, mean: s.mean, std: s.std, n: s.n }
        })
        .collect()
}

/// Writes a baseline CSV (with a `schema_version` column).
pub fn write_baseline(rows: &[BaselineRow], path: &Path) -> Result<()> {
    let strings = |f: fn(&BaselineRow) -> &str| rows.iter().map(|r| f(r).to_owned()).collect::<Vec<String>>();
    let mut df = DataFrame::new(
        rows.len(),
        vec![
            Column::new("schema_version".into(), vec![SCHEMA_VERSION as i64; rows.len()]),
            Column::new("experiment".into(), strings(|r| &r.experiment)),
            Column::new("design".into(), strings(|r| &r.design)),
            Column::new("weighting".into(), strings(|r| &r.weighting)),
            Column::new("task".into(), strings(|r| &r.task)),
            Column::new("metric".into(), strings(|r| &r.metric)),
            Column::new("mean".into(), rows.iter().map(|r| r.mean).collect::<Vec<f64>>()),
            Column::new("std".into(), rows.iter().map(|r| r.std).collect::<Vec<f64>>()),
            Column::new("n".into(), rows.iter().map(|r| r.n as i64).collect::<Vec<i64>>()),
        ],
    )?;
    atomic_write(path, |file| {
        CsvWriter::new(file).include_header(true).finish(&mut df)?;
        Ok(())
    })
}

/// Reads a baseline CSV, refusing schema versions this medmtl cannot read.
pub fn read_baseline(path: &Path) -> Result<Vec<BaselineRow>> {
    if !path.is_file() {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such baseline file")));
    }
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish())
        .map_err(|e| Error::format(path, format!("cannot be read as a baseline table: {e}")))?;
    let missing = |c: &str| Error::format(path, format!("is not a medmtl baseline: column '{c}' is missing"));
    let ints = |c: &str| -> Result<Vec<i64>> {
        Ok(df.column(c).map_err(|_| missing(c))?.cast(&DataType::Int64)?.i64()?.iter().map(|v| v.unwrap_or(-1)).collect())
    };
    let readable = OLDEST_READABLE_VERSION as i64..=SCHEMA_VERSION as i64;
    if let Some(v) = ints("schema_version")?.into_iter().find(|v| !readable.contains(v)) {
        return Err(Error::format(
            path,
            format!(
                "has results schema version {v}, this medmtl reads versions {OLDEST_READABLE_VERSION} to {SCHEMA_VERSION}; write a new baseline with `medmtl baseline`"
            ),
        ));
    }
    let text = |c: &str| -> Result<Vec<String>> {
        Ok(df.column(c).map_err(|_| missing(c))?.cast(&DataType::String)?.str()?.iter().map(|v| v.unwrap_or_default().to_owned()).collect())
    };
    let floats = |c: &str| -> Result<Vec<f64>> {
        Ok(df.column(c).map_err(|_| missing(c))?.cast(&DataType::Float64)?.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    let (experiment, design, weighting, task, metric) =
        (text("experiment")?, text("design")?, text("weighting")?, text("task")?, text("metric")?);
    let (mean, std, n) = (floats("mean")?, floats("std")?, ints("n")?);
    Ok((0..df.height())
        .map(|i| BaselineRow {
            experiment: experiment[i].clone(),
            design: design[i].clone(),
            weighting: weighting[i].clone(),
            task: task[i].clone(),
            metric: metric[i].clone(),
            mean: mean[i],
            std: std[i],
            n: n[i].max(0) as usize,
        })
        .collect())
}

/// How one baseline row fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Outside the band on the better side.
    Better,
    /// Inside the band.
    WithinNoise,
    /// Outside the band on the worse side: a regression.
    Worse,
    /// In the baseline, not in the run.
    LostCoverage,
}

/// One compared row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The experiment's name.
    pub experiment: String,
    /// The design's name.
    pub design: String,
    /// The weighting method's name.
    pub weighting: String,
    /// The task's name (`*` for throughput).
    pub task: String,
    /// The metric's name, or [`THROUGHPUT`].
    pub metric: String,
    /// Mean over seeds in the baseline.
    pub baseline_mean: f64,
    /// Standard deviation over seeds in the baseline.
    pub baseline_std: f64,
    /// Mean over seeds in the new run; `None` when the row is missing (lost coverage).
    pub new_mean: Option<f64>,
    /// The worst acceptable new mean.
    pub limit: f64,
    /// How the new mean compares with the band.
    pub verdict: Verdict,
}

/// The outcome of a check, serialisable as the JSON summary for dashboards.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// True when there is no regression and no lost coverage.
    pub passed: bool,
    /// The band rule in words (see [`rules`]).
    pub rules: String,
    /// Baseline rows compared.
    pub compared: usize,
    /// Rows that got worse beyond the band.
    pub regressions: usize,
    /// Baseline rows missing from the run.
    pub lost_coverage: usize,
    /// Every baseline row's outcome, in baseline order.
    pub rows: Vec<Comparison>,
}

/// The band rule in words (printed in CI logs and the JSON summary).
pub fn rules() -> String {
    format!(
        "metric regression: new mean beyond baseline mean -/+ max({K} x std, {:.0}% of |mean|, {ABS_FLOOR}) on the worse side; \
         throughput regression: train images/s relative to the reference workload falls by more than {:.0}%; \
         a baseline row missing from the run is lost coverage",
        REL_FLOOR * 100.0,
        THROUGHPUT_DROP * 100.0
    )
}

/// Compares a run's summary with a baseline.
pub fn check(baseline: &[BaselineRow], run: &[BaselineRow]) -> CheckReport {
    let new: BTreeMap<_, _> = run.iter().map(|r| (r.key(), r)).collect();
    let mut rows = Vec::with_capacity(baseline.len());
    for b in baseline {
        let found = new.get(&b.key()).map(|r| r.mean);
        let throughput = b.metric == THROUGHPUT;
        let up = throughput || higher_is_better(&b.metric);
        let tolerance =
            if throughput { THROUGHPUT_DROP * b.mean.abs() } else { (K * b.std.max(0.0)).max(REL_FLOOR * b.mean.abs()).max(ABS_FLOOR) };
        let limit = if up { b.mean - tolerance } else { b.mean + tolerance };
        let verdict = match found {
            None => Verdict::LostCoverage,
            Some(v) if b.mean.is_nan() && v.is_nan() => Verdict::WithinNoise,
            Some(_) if b.mean.is_nan() => Verdict::Better,
            Some(v) if v.is_nan() => Verdict::Worse,
            Some(v) => {
                // Positive = better, whichever direction the metric improves in.
                let gain = if up { v - b.mean } else { b.mean - v };
                if gain < -tolerance {
                    Verdict::Worse
                } else if gain > tolerance {
                    Verdict::Better
                } else {
                    Verdict::WithinNoise
                }
            }
        };
        rows.push(Comparison {
            experiment: b.experiment.clone(),
            design: b.design.clone(),
            weighting: b.weighting.clone(),
            task: b.task.clone(),
            metric: b.metric.clone(),
            baseline_mean: b.mean,
            baseline_std: b.std,
            new_mean: found,
            limit,
            verdict,
        });
    }
    let regressions = rows.iter().filter(|r| r.verdict == Verdict::Worse).count();
    let lost_coverage = rows.iter().filter(|r| r.verdict == Verdict::LostCoverage).count();
    CheckReport { passed: regressions == 0 && lost_coverage == 0, rules: rules(), compared: rows.len(), regressions, lost_coverage, rows }
}

impl CheckReport {
    /// A short table of what moved or failed, for a CI log.
    pub fn to_log(&self) -> String {
        let mut out = String::new();
        let interesting: Vec<&Comparison> = self.rows.iter().filter(|r| r.verdict != Verdict::WithinNoise).collect();
        out.push_str(&format!("{}\n", self.rules));
        if interesting.is_empty() {
            out.push_str(&format!("all {} baseline values within noise\n", self.compared));
        } else {
            out.push_str(&format!(
                "{:<14} {:<44} {:>22} {:>10} {:>10}\n",
                "verdict", "experiment/design/weighting/task/metric", "baseline (mean ± std)", "new", "limit"
            ));
            for r in interesting {
                let label = match r.verdict {
                    Verdict::Better => "better",
                    Verdict::WithinNoise => "within noise",
                    Verdict::Worse => "WORSE",
                    Verdict::LostCoverage => "LOST COVERAGE",
                };
                let key = format!("{}/{}/{}/{}/{}", r.experiment, r.design, r.weighting, r.task, r.metric);
                let new = r.new_mean.map_or("missing".to_owned(), |v| format!("{v:.4}"));
                out.push_str(&format!(
                    "{label:<14} {key:<44} {:>22} {new:>10} {:>10.4}\n",
                    format!("{:.4} ± {:.4}", r.baseline_mean, r.baseline_std),
                    r.limit
                ));
            }
        }
        out.push_str(&format!(
            "{}: {} compared, {} regression(s), {} lost\n",
            if self.passed { "PASSED" } else { "FAILED" },
            self.compared,
            self.regressions,
            self.lost_coverage
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(metric: &str, mean: f64, std: f64) -> BaselineRow {
        BaselineRow {
            experiment: "e".into(),
            design: "hps".into(),
            weighting: "ew".into(),
            task: "t".into(),
            metric: metric.into(),
            mean,
            std,
            n: 3,
        }
    }

    #[test]
    fn bands_have_floors_and_respect_direction() {
        let base = vec![row("auc", 0.9, 0.0), row("mae", 0.2, 0.01), row(THROUGHPUT, 2.0, 0.1)];
        // Identical: passes.
        assert!(check(&base, &base).passed);
        // AUC band is max(0, 2% of 0.9 = 0.018, 0.005): 0.885 is noise, 0.85 a regression.
        let r = check(&base, &[row("auc", 0.885, 0.0), row("mae", 0.2, 0.0), row(THROUGHPUT, 2.0, 0.0)]);
        assert!(r.passed, "{}", r.to_log());
        let r = check(&base, &[row("auc", 0.85, 0.0), row("mae", 0.2, 0.0), row(THROUGHPUT, 2.0, 0.0)]);
        assert!(!r.passed && r.rows[0].verdict == Verdict::Worse);
        // MAE is lower-is-better: band 2 x 0.01; 0.25 regresses, 0.15 is better.
        let r = check(&base, &[row("auc", 0.9, 0.0), row("mae", 0.25, 0.0), row(THROUGHPUT, 2.0, 0.0)]);
        assert_eq!(r.rows[1].verdict, Verdict::Worse);
        let r = check(&base, &[row("auc", 0.9, 0.0), row("mae", 0.15, 0.0), row(THROUGHPUT, 2.0, 0.0)]);
        assert_eq!(r.rows[1].verdict, Verdict::Better);
        // Throughput: a 30% fall passes, 40% fails, faster is better.
        let r = check(&base, &[row("auc", 0.9, 0.0), row("mae", 0.2, 0.0), row(THROUGHPUT, 1.4, 0.0)]);
        assert!(r.passed);
        let r = check(&base, &[row("auc", 0.9, 0.0), row("mae", 0.2, 0.0), row(THROUGHPUT, 1.2, 0.0)]);
        assert_eq!(r.rows[2].verdict, Verdict::Worse);
        let r = check(&base, &[row("auc", 0.9, 0.0), row("mae", 0.2, 0.0), row(THROUGHPUT, 4.0, 0.0)]);
        assert_eq!(r.rows[2].verdict, Verdict::Better);
        // Missing rows are lost coverage.
        let r = check(&base, &[row("auc", 0.9, 0.0)]);
        assert_eq!(r.lost_coverage, 2);
        assert!(r.to_log().contains("LOST COVERAGE"));
    }
}
