//! Executing a suite: data are loaded once per experiment, runs are trained one after the
//! other, each run's files are written as soon as it finishes, then the suite table and the
//! report are rebuilt from what is on disk.

use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use indicatif::MultiProgress;
use serde::{Deserialize, Serialize};

use super::plan::{plan, RunSpec};
use crate::config::{DatasetRef, Experiment, Suite};
use crate::data::catalog::Catalog;
use crate::data::fetch::DataSources;
use crate::data::{medmnist, phantoms, Dataset, SplitName};
use crate::metrics::{self, TaskPredictions};
use crate::model::arch::{self, ModelSpec};
use crate::model::head::HeadSpec;
use crate::results::{self, MetricRow, RunFiles, RunMeta, TaskMeta, SCHEMA_VERSION};
use crate::task::Task;
use crate::train::{self, TaskGroup};
use crate::{Error, Result};

/// How to run a suite.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub sources: DataSources,
    /// Root of the results folders (`results/`).
    pub results_root: PathBuf,
    /// Root of the report folders (`reports/`).
    pub reports_root: PathBuf,
    /// Fail instead of skipping an experiment whose data cannot be had.
    pub strict: bool,
    pub device: Device,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
}

/// An experiment that did not run, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub experiment: String,
    pub dataset: String,
    pub reason: String,
}

/// What a suite run produced.
#[derive(Debug, Clone)]
pub struct SuiteOutcome {
    pub results_dir: PathBuf,
    pub report_path: PathBuf,
    pub runs_completed: usize,
    pub skipped: Vec<Skipped>,
    pub seconds: f64,
}

/// File in a suite's results folder listing skipped experiments (read by the report).
pub const SKIPPED_FILE: &str = "skipped.json";

/// Runs every run of `suite` and writes results and the report.
pub fn run_suite(suite: &Suite, suite_label: &str, options: &BenchOptions) -> Result<SuiteOutcome> {
    let start = Instant::now();
    let catalog = Catalog::embedded()?;
    suite.validate(&catalog, std::path::Path::new(suite_label))?;
    let results_dir = options.results_root.join(&suite.name);
    let runs = plan(suite);
    let multi = MultiProgress::new();
    if !options.progress {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let overall = multi.add(crate::progress::items_bar(runs.len() as u64, "runs"));
    let mut skipped = Vec::new();
    let mut completed = 0;
    for exp in &suite.experiments {
        let exp_runs: Vec<&RunSpec> = runs.iter().filter(|r| r.experiment.name == exp.name).collect();
        let dataset = match load_dataset(exp, &catalog, &options.sources) {
            Ok(d) => d,
            Err(e @ (Error::DataUnavailable { .. } | Error::Checksum { .. })) if !options.strict => {
                let _ = multi.println(format!("skipping experiment '{}': {e}", exp.name));
                skipped.push(Skipped { experiment: exp.name.clone(), dataset: exp.dataset.clone(), reason: e.to_string() });
                overall.inc(exp_runs.len() as u64);
                continue;
            }
            Err(e) => return Err(e),
        };
        let tasks = exp.tasks.iter().map(|t| Task::resolve(t, &dataset)).collect::<Result<Vec<_>>>()?;
        for run in exp_runs {
            overall.set_message(run.run_id());
            execute_run(run, &dataset, &tasks, &results_dir, options, &multi)?;
            completed += 1;
            overall.inc(1);
        }
    }
    overall.finish_and_clear();
    results::atomic_write(&results_dir.join(SKIPPED_FILE), |out| {
        serde_json::to_writer_pretty(out, &skipped).map_err(|e| Error::format(results_dir.join(SKIPPED_FILE), e.to_string()))
    })?;
    let table = crate::report::collect_suite_table(&results_dir)?;
    let report_path = crate::report::write_report(&results_dir, &options.reports_root.join(&suite.name), &table)?;
    Ok(SuiteOutcome {
        results_dir,
        report_path,
        runs_completed: completed,
        skipped,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Loads the data of one experiment.
pub fn load_dataset(exp: &Experiment, catalog: &Catalog, sources: &DataSources) -> Result<Dataset> {
    match exp.dataset_ref() {
        DatasetRef::Phantoms(config) => phantoms::generate(&config),
        DatasetRef::Catalog { name, size } => {
            let entry = catalog.get(&name).ok_or_else(|| Error::unknown("dataset", &name, &catalog.names()))?;
            medmnist::load(entry, size, sources)
        }
    }
}

fn execute_run(
    run: &RunSpec,
    dataset: &Dataset,
    tasks: &[Task],
    results_dir: &std::path::Path,
    options: &BenchOptions,
    multi: &MultiProgress,
) -> Result<()> {
    let min = run.model.backbone.min_input_size();
    if dataset.shape.height < min || dataset.shape.width < min {
        return Err(Error::Invalid(format!(
            "experiment '{}': backbone {} needs images of at least {min}x{min}, dataset {} has {}x{}",
            run.experiment.name,
            run.model.backbone.as_str(),
            dataset.name,
            dataset.shape.height,
            dataset.shape.width
        )));
    }
    let spec = ModelSpec {
        backbone: run.model.backbone,
        width: run.model.width(),
        in_channels: dataset.shape.channels,
        input_size: (dataset.shape.height, dataset.shape.width),
        heads: tasks.iter().map(|t| HeadSpec::of(&t.kind)).collect(),
        experts: run.model.experts,
    };
    let model = arch::build(run.design, &spec, run.seed, &options.device)?;
    let mut weighting = run.weighting.unwrap_or(crate::weighting::WeightingKind::Ew).build(tasks.len(), run.seed, &options.device)?;
    let groups = [TaskGroup { dataset, tasks: (0..tasks.len()).collect() }];
    let steps = run.train.epochs as u64 * dataset.train.len().div_ceil(run.train.batch_size) as u64;
    let bar = multi.add(crate::progress::items_bar(steps, &format!("{} steps", run.run_id())));
    let outcome = train::train(
        model.as_ref(),
        tasks,
        &groups,
        weighting.as_mut(),
        &run.train,
        run.seed,
        &options.device,
        Some(&bar),
    )?;
    bar.finish_and_clear();
    multi.remove(&bar);

    let mut rows = Vec::new();
    let mut preds: Vec<(String, Vec<(SplitName, &TaskPredictions)>)> = Vec::new();
    for (t, task) in tasks.iter().enumerate() {
        let mut per_split = Vec::new();
        for split in [SplitName::Val, SplitName::Test] {
            let Some(p) = outcome.predictions.get(&(t, split)) else { continue };
            for m in metrics::evaluate(&task.kind, p) {
                rows.push(MetricRow {
                    run_id: run.run_id(),
                    suite: run.suite.clone(),
                    experiment: run.experiment.name.clone(),
                    datasets: dataset.name.clone(),
                    design: run.design.to_string(),
                    weighting: run.weighting_name().to_owned(),
                    backbone: run.model.backbone.as_str().to_owned(),
                    seed: run.seed,
                    task: task.name.clone(),
                    task_kind: task.kind.name().to_owned(),
                    split: split.to_string(),
                    metric: m.name,
                    value: m.value,
                });
            }
            per_split.push((split, p));
        }
        preds.push((task.name.clone(), per_split));
    }
    let meta = RunMeta {
        schema_version: SCHEMA_VERSION,
        run_id: run.run_id(),
        suite: run.suite.clone(),
        experiment: run.experiment.name.clone(),
        datasets: dataset.name.clone(),
        design: run.design.to_string(),
        weighting: run.weighting_name().to_owned(),
        backbone: run.model.backbone.as_str().to_owned(),
        width: run.model.width(),
        seed: run.seed,
        tasks: tasks
            .iter()
            .map(|t| TaskMeta { name: t.name.clone(), kind: t.kind.name().to_owned(), outputs: t.kind.outputs() })
            .collect(),
        epochs_run: outcome.history.len(),
        selected_epoch: outcome.selected_epoch.clone(),
        train_seconds: outcome.train_seconds,
        train_images_per_sec: outcome.train_images_per_sec,
        inference_images_per_sec: outcome.inference_images_per_sec,
        peak_rss_bytes: outcome.peak_rss_bytes,
        param_count: model.params().trainable_count(),
        medmtl_version: env!("CARGO_PKG_VERSION").to_owned(),
        git_revision: crate::provenance::git_revision(),
        config_hash: run.config_hash(),
        timestamp: crate::provenance::timestamp(),
        data_verified: dataset.provenance.verified,
        data_files: dataset.provenance.files.clone(),
        threads: rayon::current_num_threads(),
        device: format!("{:?}", options.device.location()),
    };
    let files = RunFiles::new(results_dir.join("runs").join(run.run_id()));
    results::write_run(&files, &meta, &rows, &outcome.history, &preds)
}
