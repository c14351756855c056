//! Executing a suite: data are loaded once per experiment, runs are trained one after the
//! other, each run's files are written as soon as it finishes, then the suite table and the
//! report are rebuilt from what is on disk.
//!
//! Crash safety: every file is written atomically and a run's `run.json` is written last,
//! so a run is complete exactly when its `run.json` exists. A restarted suite skips the
//! runs whose `run.json` carries the same config hash and redoes the others (a killed
//! process costs at most the run in progress).

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use indicatif::MultiProgress;

use super::plan::{plan, RunSpec};
use super::shard::Shard;
use std::collections::BTreeMap;

use crate::config::{DatasetRef, Experiment, Suite};
use crate::data::catalog::Catalog;
use crate::data::fetch::DataSources;
use crate::data::{folder, longitudinal, medmnist, phantoms, Dataset, SplitName};
use crate::hyper::ParamTable;
use crate::metrics::TaskPredictions;
use crate::model::arch::pairs::PairInput;
use crate::model::arch::{self, ModelSpec};
use crate::model::head::HeadSpec;
use crate::results::{self, RunFiles, RunMeta, RunStatus, Skipped, TaskMeta, SCHEMA_VERSION, SKIPPED_FILE};
use crate::task::Task;
use crate::train::checkpoint::CheckpointSpec;
use crate::train::{self, TaskGroup, TrainOutcome};
use crate::weighting::WeightingKind;
use crate::{Error, Result};

/// How to run a suite.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Where dataset files are looked for and whether they may be downloaded.
    pub sources: DataSources,
    /// Root of the results folders (`results/`).
    pub results_root: PathBuf,
    /// Root of the report folders (`reports/`).
    pub reports_root: PathBuf,
    /// Fail instead of skipping an experiment whose data cannot be had.
    pub strict: bool,
    /// Re-run runs whose results are already complete.
    pub force: bool,
    /// Run only this shard of the grid.
    pub shard: Option<Shard>,
    /// Run only these of the suite's seeds (all when `None`): a long suite seed by seed into
    /// one results folder, seed 0 of every design first.
    pub seeds: Option<Vec<u64>>,
    /// The device models train on.
    pub device: Device,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
    /// Keep each run's last checkpoint after the run completes (normally removed).
    pub keep_checkpoints: bool,
    /// Runs trained at the same time, each on its share of the thread pool (see
    /// [`super::jobs`]).
    pub jobs: usize,
}

/// What a suite run produced.
#[derive(Debug, Clone)]
pub struct SuiteOutcome {
    /// The suite's results folder.
    pub results_dir: PathBuf,
    /// The rendered `report.md`.
    pub report_path: PathBuf,
    /// Runs trained in this invocation.
    pub runs_completed: usize,
    /// Runs found complete with the same config hash and not redone.
    pub runs_reused: usize,
    /// Ids of the runs whose loss became non-finite.
    pub runs_diverged: Vec<String>,
    /// Experiments whose data could not be had.
    pub skipped: Vec<Skipped>,
    /// Wall time of the invocation.
    pub seconds: f64,
}

/// Runs every run of `suite` (or of one shard of it) and writes results and the report.
/// `suite_text` is the suite file's content, hashed into every run record.
pub fn run_suite(suite: &Suite, suite_label: &str, suite_text: &str, options: &BenchOptions) -> Result<SuiteOutcome> {
    let start = Instant::now();
    let catalog = Catalog::embedded()?;
    suite.validate(&catalog, Path::new(suite_label))?;
    let suite_hash = crate::data::fetch::hex(&<sha2::Sha256 as sha2::Digest>::digest(suite_text.as_bytes()));
    let results_dir = options.results_root.join(&suite.name);
    let _lock = results::FolderLock::acquire(&results_dir)?;
    // The exact suite file travels with its results, so a report can always show it.
    results::atomic_write(&results_dir.join("suite.toml"), |out| {
        std::io::Write::write_all(out, suite_text.as_bytes()).map_err(|e| Error::io(results_dir.join("suite.toml"), e))
    })?;
    if let Some(unknown) = options.seeds.iter().flatten().find(|s| !suite.seeds.contains(s)) {
        return Err(Error::Invalid(format!(
            "seed {unknown} is not one of the seeds of suite '{}' {:?}; --seeds picks among them",
            suite.name, suite.seeds
        )));
    }
    let runs: Vec<RunSpec> = plan(suite)
        .into_iter()
        .enumerate()
        .filter(|(i, r)| options.shard.is_none_or(|s| s.contains(*i)) && options.seeds.as_ref().is_none_or(|s| s.contains(&r.seed)))
        .map(|(_, r)| r)
        .collect();
    let multi = MultiProgress::new();
    if !options.progress {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    // Timed on one job's share of the threads, as each run is, so that the runs' throughput
    // relative to it does not depend on --jobs.
    let reference =
        super::jobs::on_job_threads(options.jobs, || super::speed::reference_images_per_sec(&options.device)).and_then(|r| r).ok();
    let overall = multi.add(crate::progress::items_bar(runs.len() as u64, "runs"));
    let mut outcome = SuiteOutcome {
        results_dir: results_dir.clone(),
        report_path: PathBuf::new(),
        runs_completed: 0,
        runs_reused: 0,
        runs_diverged: Vec::new(),
        skipped: Vec::new(),
        seconds: 0.0,
    };
    for exp in &suite.experiments {
        let mut todo = Vec::new();
        for run in runs.iter().filter(|r| r.experiment.name == exp.name) {
            let files = RunFiles::new(results_dir.join("runs").join(run.run_id()));
            if !options.force && is_complete(&files, run) {
                if !options.keep_checkpoints {
                    // Killed between writing run.json and removing the checkpoint.
                    crate::train::checkpoint::remove(&files.checkpoint())?;
                }
                outcome.runs_reused += 1;
                overall.inc(1);
            } else {
                todo.push((run, files));
            }
        }
        if todo.is_empty() {
            continue;
        }
        let loaded = load_inputs(exp, &catalog, &options.sources).map_err(|e| match e {
            Error::Invalid(m) => Error::Invalid(format!("experiment '{}': {m}", exp.name)),
            other => other,
        });
        let inputs = match loaded {
            Ok(d) => d,
            Err(e @ (Error::DataUnavailable { .. } | Error::Checksum { .. })) if !options.strict => {
                say(&multi, options, format!("skipping experiment '{}': {e}", exp.name));
                outcome.skipped.push(Skipped { experiment: exp.name.clone(), dataset: exp.dataset.clone(), reason: e.to_string() });
                overall.inc(todo.len() as u64);
                continue;
            }
            Err(e) => return Err(e),
        };
        let tasks = exp
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let input = inputs.groups.iter().position(|g| g.contains(&i)).unwrap_or(0);
                Task::resolve(t, &inputs.datasets[input])
            })
            .collect::<Result<Vec<_>>>()?;
        let context = RunContext {
            suite_hash: &suite_hash,
            reference,
            datasets: &inputs.datasets,
            groups: &inputs.groups,
            tasks: &tasks,
            test_groups: inputs.test_groups.as_deref(),
        };
        let tally = std::sync::Mutex::new((&mut outcome.runs_completed, &mut outcome.runs_diverged));
        let one = |run: &RunSpec, files: &RunFiles| -> Result<()> {
            overall.set_message(run.run_id());
            clear_partial_run(files, options.force)?;
            let done = execute_run(run, &context, files, options, &multi);
            let mut tally = tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match done {
                Ok(()) => *tally.0 += 1,
                Err(Error::Diverged { epoch, task, loss, last_finite }) => {
                    say(&multi, options, format!("run {} diverged at epoch {epoch} (task '{task}', loss {loss})", run.run_id()));
                    let status = RunStatus::Diverged { epoch, task, last_finite_loss: last_finite };
                    let meta = run_meta(run, &context, None, 0, status, options);
                    results::write_run(files, &meta, &[], &[], &[], None)?;
                    tally.1.push(run.run_id());
                }
                Err(e) => return Err(e),
            }
            overall.inc(1);
            Ok(())
        };
        super::jobs::run_concurrently(options.jobs, &todo, |(run, files)| one(run, files))?;
    }
    overall.finish_and_clear();
    results::atomic_write(&results_dir.join(SKIPPED_FILE), |out| {
        serde_json::to_writer_pretty(out, &outcome.skipped).map_err(|e| Error::format(results_dir.join(SKIPPED_FILE), e.to_string()))
    })?;
    let table = results::collect_suite_table(&results_dir)?;
    outcome.report_path = crate::report::write_report(&results_dir, &options.reports_root.join(&suite.name), &table)?;
    outcome.seconds = start.elapsed().as_secs_f64();
    Ok(outcome)
}

/// A run is complete when its `run.json` exists, is readable, and was written for the same
/// settings (config hash).
/// A partial folder from an interrupted run is never mixed with new files: everything but
/// its checkpoint goes (the trainer resumes from the checkpoint if it is this run's, and
/// `--force` removes it too).
fn clear_partial_run(files: &RunFiles, force: bool) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(&files.dir) else { return Ok(()) };
    let keep = files.checkpoint();
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path == keep && !force {
            continue;
        }
        let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        removed.map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

fn is_complete(files: &RunFiles, run: &RunSpec) -> bool {
    files.meta().is_file() && results::read_run_meta(&files.meta()).is_ok_and(|m| m.config_hash == run.config_hash())
}

/// Loads the data of one experiment.
pub fn load_dataset(exp: &Experiment, catalog: &Catalog, sources: &DataSources) -> Result<Dataset> {
    match exp.dataset_ref()? {
        DatasetRef::Phantoms(config) => phantoms::generate(&config),
        DatasetRef::LongitudinalPhantoms(config) => longitudinal::phantoms::generate(&config),
        DatasetRef::Longitudinal { spec, size, folds } => longitudinal::load_longitudinal(&spec, size, &folds, sources),
        DatasetRef::Folder { spec, size } => folder::load_folder_dataset(&spec, size, sources, &folder::default_cache_dir(sources)),
        DatasetRef::Catalog { name, size } => {
            let entry = catalog.get(&name).ok_or_else(|| Error::unknown("dataset", &name, &catalog.names()))?;
            medmnist::load(entry, size, sources)
        }
    }
}

/// An experiment's data: its dataset, or one per input of a multi-input experiment, with
/// the tasks each labels.
pub struct Inputs {
    /// The datasets, the experiment's own first; one image shape.
    pub datasets: Vec<Dataset>,
    /// For each dataset, the indices of the tasks it labels.
    pub groups: Vec<Vec<usize>>,
    /// The subgroup of each test sample, where the experiment reports per subgroup.
    pub test_groups: Option<Vec<String>>,
}

/// Loads every dataset of an experiment (converted to grey when it asks), checking that a
/// multi-input experiment's datasets share one image shape.
pub fn load_inputs(exp: &Experiment, catalog: &Catalog, sources: &DataSources) -> Result<Inputs> {
    let inputs = exp.inputs();
    let mut datasets = Vec::with_capacity(inputs.len());
    let mut test_groups = None;
    for (input, _) in &inputs {
        let mut d = load_dataset(input, catalog, sources)?;
        if exp.grayscale {
            d = d.to_grayscale()?;
        }
        // Subgroups and shifts apply to single-input experiments only (the suite checks).
        if inputs.len() == 1 {
            (d, test_groups) = crate::data::subgroup::prepare(d, exp.subgroups.as_ref(), exp.shift.as_ref())?;
        }
        datasets.push(d);
    }
    if let Some(other) = datasets.iter().find(|d| d.shape != datasets[0].shape) {
        return Err(Error::Invalid(format!(
            "multi-input datasets must share one image shape: '{}' has {}, '{}' has {}{}",
            datasets[0].name,
            datasets[0].shape,
            other.name,
            other.shape,
            if other.shape.channels != datasets[0].shape.channels { "; set grayscale = true to convert colour images" } else { "" }
        )));
    }
    Ok(Inputs { datasets, groups: inputs.into_iter().map(|(_, g)| g).collect(), test_groups })
}

/// What every run of an experiment shares.
struct RunContext<'a> {
    suite_hash: &'a str,
    reference: Option<f64>,
    /// The experiment's datasets (one unless multi-input), the first setting the shape.
    datasets: &'a [Dataset],
    /// The tasks each dataset labels.
    groups: &'a [Vec<usize>],
    tasks: &'a [Task],
    /// The subgroup of each test sample, where the experiment reports per subgroup.
    test_groups: Option<&'a [String]>,
}

fn execute_run(run: &RunSpec, ctx: &RunContext, files: &RunFiles, options: &BenchOptions, multi: &MultiProgress) -> Result<()> {
    let (dataset, tasks) = (&ctx.datasets[0], ctx.tasks);
    let single_input = ctx.datasets.len() == 1;
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
        pairs: run.model.pairs.map(|mode| PairInput {
            mode,
            channels: dataset.channels_per_time_point(),
            task_time_points: tasks.iter().map(|t| t.spec.time_point.unwrap_or(dataset.time_points - 1)).collect(),
        }),
    };
    let model = arch::build_with(run.design, &spec, run.design_params.as_ref(), run.seed, &options.device)?;
    let mut weighting = weighting_of(run).build_with(
        &crate::weighting::Context { tasks: tasks.len(), seed: run.seed, device: &options.device },
        run.weighting_params.as_ref(),
    )?;
    let groups: Vec<TaskGroup> = ctx.datasets.iter().zip(ctx.groups).flat_map(|(d, g)| TaskGroup::on(d, g, tasks)).collect();
    let steps_per_epoch = ctx.datasets.iter().map(|d| d.train.len().div_ceil(run.train.batch_size)).max().unwrap_or(0);
    let steps = run.train.epochs as u64 * steps_per_epoch as u64;
    let bar = multi.add(crate::progress::items_bar(steps, &format!("{} steps", run.run_id())));
    let hooks =
        train::TrainHooks { progress: Some(&bar), checkpoint: Some(CheckpointSpec { path: files.checkpoint(), key: run.config_hash() }) };
    let trained = train::train_with(model.as_ref(), tasks, &groups, weighting.as_mut(), &run.train, run.seed, &options.device, &hooks);
    bar.finish_and_clear();
    multi.remove(&bar);
    let outcome = trained?;
    if outcome.resumed_epochs > 0 {
        say(multi, options, format!("run {} resumed from its checkpoint after epoch {}", run.run_id(), outcome.resumed_epochs));
    }

    let meta = run_meta(run, ctx, Some(&outcome), model.params().trainable_count(), RunStatus::Complete, options);
    let mut rows = Vec::new();
    let mut preds: Vec<(String, Vec<(SplitName, &TaskPredictions)>)> = Vec::new();
    for (t, task) in tasks.iter().enumerate() {
        let per_split: Vec<(SplitName, &TaskPredictions)> =
            [SplitName::Val, SplitName::Test].into_iter().filter_map(|s| outcome.predictions.get(&(t, s)).map(|p| (s, p))).collect();
        rows.extend(results::task_rows(&meta, &task.name, &task.kind, &per_split, ctx.test_groups)?);
        preds.push((task.name.clone(), per_split));
    }
    if let Some(groups) = ctx.test_groups {
        results::write_subgroups(files, groups)?;
    }
    let names: Vec<String> = tasks.iter().map(|t| t.name.clone()).collect();
    // Representation similarity and example figures compare tasks on the same images.
    let cka = match single_input {
        true => {
            crate::train::representation::task_network_similarity(model.as_ref(), &names, &dataset.test, dataset.shape, &options.device)?
        }
        false => None,
    };
    if let Some(cka) = cka {
        results::write_cka(files, &cka)?;
    }
    if let Some(structure) = model.learned_structure() {
        let path = files.dir.join("structure.json");
        let structure = structure?;
        results::atomic_write(&path, |out| serde_json::to_writer_pretty(out, &structure).map_err(|e| Error::format(&path, e.to_string())))?;
    }
    let images = single_input.then(|| (dataset.test.images(), dataset.shape));
    results::write_run(files, &meta, &rows, &outcome.history, &preds, images)?;
    if !options.keep_checkpoints {
        crate::train::checkpoint::remove(&files.checkpoint())?;
    }
    Ok(())
}

/// A message above the progress bars on a terminal, on standard error otherwise (a hidden
/// progress display would swallow it).
fn say(multi: &MultiProgress, options: &BenchOptions, message: String) {
    if options.progress {
        let _ = multi.println(message);
    } else {
        eprintln!("{message}");
    }
}

/// The method a run trains with: STL, with nothing to weight, sums its (independent) task
/// losses as EW does.
fn weighting_of(run: &RunSpec) -> WeightingKind {
    run.weighting.unwrap_or_else(|| WeightingKind::from_name("ew").expect("EW is registered"))
}

/// The hyper-parameters a run trains with, defaults included.
fn resolved_params(run: &RunSpec) -> Result<BTreeMap<String, ParamTable>> {
    let mut out = BTreeMap::new();
    out.insert("design".to_owned(), run.design.resolve_params(run.design_params.as_ref())?);
    if let Some(w) = run.weighting {
        out.insert("weighting".to_owned(), w.resolve_params(run.weighting_params.as_ref())?);
    }
    Ok(out)
}

fn run_meta(
    run: &RunSpec,
    ctx: &RunContext,
    outcome: Option<&TrainOutcome>,
    params: usize,
    status: RunStatus,
    options: &BenchOptions,
) -> RunMeta {
    RunMeta {
        schema_version: SCHEMA_VERSION,
        run_id: run.run_id(),
        suite: run.suite.clone(),
        experiment: run.experiment.name.clone(),
        datasets: ctx.datasets.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join("+"),
        design: run.design.to_string(),
        weighting: run.weighting_name().to_owned(),
        backbone: run.model.backbone.as_str().to_owned(),
        width: run.model.width(),
        seed: run.seed,
        tasks: ctx
            .tasks
            .iter()
            .enumerate()
            .map(|(t, task)| {
                let g = ctx.groups.iter().position(|g| g.contains(&t)).unwrap_or(0);
                TaskMeta::of_task(task, &ctx.datasets[g])
            })
            .collect(),
        epochs_run: outcome.map_or(0, |o| o.history.len()),
        selected_epoch: outcome.map_or_else(Vec::new, |o| o.selected_epoch.clone()),
        train_seconds: outcome.map_or(0.0, |o| o.train_seconds),
        train_images_per_sec: outcome.map_or(0.0, |o| o.train_images_per_sec),
        inference_images_per_sec: outcome.map_or(0.0, |o| o.inference_images_per_sec),
        peak_rss_bytes: outcome.and_then(|o| o.peak_rss_bytes),
        param_count: params,
        medmtl_version: env!("CARGO_PKG_VERSION").to_owned(),
        git_revision: crate::provenance::git_revision(),
        config_hash: run.config_hash(),
        timestamp: crate::provenance::timestamp(),
        data_verified: ctx.datasets.iter().all(|d| d.provenance.verified),
        data_files: ctx.datasets.iter().flat_map(|d| d.provenance.files.clone()).collect(),
        threads: rayon::current_num_threads(),
        device: format!("{:?}", options.device.location()),
        hardware: crate::provenance::cpu_model(),
        status,
        suite_hash: ctx.suite_hash.to_owned(),
        reference_images_per_sec: ctx.reference,
        hyper_params: resolved_params(run).unwrap_or_default(),
        subgroups: run.experiment.subgroups.clone(),
        shift: run.experiment.shift.clone(),
    }
}
