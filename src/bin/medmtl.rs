//! `medmtl`: tools around benchmark results (reports, speed measurements, ...).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use medmtl::bench::speed::{measure, SpeedMode, SpeedModel};

/// Tools for medmtl results: render reports from results tables, measure training speed.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Render reports/<suite>/report.md from a results folder (no retraining).
    Report {
        /// A suite's results folder, e.g. results/retina.
        results: PathBuf,
        /// Root folder for reports.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
    },
    /// Recompute every metric of a results folder from its stored predictions and compare
    /// with the stored values (exit status 1 on any difference); --write replaces the
    /// stored tables (e.g. after a metric was added), without retraining.
    Metrics {
        /// A suite's results folder, e.g. results/retina.
        results: PathBuf,
        /// Replace the stored metric tables with the recomputed ones.
        #[arg(long)]
        write: bool,
    },
    /// Summarise a suite's results as a CI baseline: per experiment, design, weighting, task
    /// and test metric the mean, std and n over seeds, and each design's training
    /// throughput relative to the reference workload timed in the same run.
    Baseline {
        /// A suite's results folder, e.g. results/smoke.
        results: PathBuf,
        /// Where to write the baseline, e.g. results/baselines/smoke.csv.
        #[arg(long)]
        out: PathBuf,
    },
    /// Compare a run with a committed baseline; exit status 1 when a metric falls outside
    /// its noise band, throughput drops too far, or rows of the baseline are missing.
    Check {
        /// The baseline CSV written by `medmtl baseline`.
        #[arg(long)]
        baseline: PathBuf,
        /// The new run's results folder.
        results: PathBuf,
        /// Also write the comparison as JSON (for dashboards).
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Merge the results folders of shards of one suite (e.g. Slurm array tasks) into one
    /// and render its report.
    Merge {
        /// Results folders of the shards.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// The merged results folder, e.g. results/retina.
        #[arg(long)]
        out: PathBuf,
        /// Root folder for reports.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
    },
    /// Time one training or inference workload and print one JSON line (used by
    /// benchmarks/peers/run_peers.py to compare with PyTorch).
    Speed {
        #[arg(long, value_enum, default_value = "small-cnn")]
        model: ModelArg,
        #[arg(long, value_enum, default_value = "train")]
        mode: ModeArg,
        /// Images per step (default 128 for training, 256 for inference; for the U-Net 32 and 64).
        #[arg(long)]
        batch: Option<usize>,
        #[arg(long, default_value_t = 20)]
        steps: usize,
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// CPU threads (default: all physical cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Use candle's own ops instead of medmtl's fused CPU kernels (the "before" column).
        #[arg(long)]
        candle_ops: bool,
        /// Time a `train` step with this weighting method (ew, uw, dwa, rlw, gls, famo,
        /// gradnorm, mgda, pcgrad, cagrad, imtl-g, gradvac, aligned-mtl, nash-mtl, upgrad).
        #[arg(long)]
        weighting: Option<String>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ModelArg {
    SmallCnn,
    Resnet18,
    Unet,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ModeArg {
    Train,
    TrainPerTask,
    Infer,
}

// mimalloc keeps freed tensor buffers for reuse; glibc returns large ones to the OS and
// page-faults them back in on every training step (about 15% of a step in profiles).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if !matches!(cli.command, Command::Speed { .. }) {
        medmtl::device::init_cpu_threads(None)?;
    }
    match cli.command {
        Command::Report { results, reports } => {
            let table = medmtl::report::collect_suite_table(&results)
                .with_context(|| format!("reading {}", results.display()))?;
            let name = results.file_name().context("the results folder has no name")?;
            let path = medmtl::report::write_report(&results, &reports.join(name), &table)?;
            eprintln!("wrote {}", path.display());
        }
        Command::Metrics { results, write } => recompute(&results, write)?,
        Command::Baseline { results, out } => {
            let table = medmtl::report::collect_suite_table(&results).with_context(|| format!("reading {}", results.display()))?;
            let rows = medmtl::check::summarize_suite(&table);
            anyhow::ensure!(!rows.is_empty(), "{} holds no complete runs to summarise", results.display());
            medmtl::check::write_baseline(&rows, &out)?;
            eprintln!("wrote {} baseline rows from {} runs to {}", rows.len(), table.runs.len(), out.display());
        }
        Command::Check { baseline, results, json } => {
            let base = medmtl::check::read_baseline(&baseline)?;
            let table = medmtl::report::collect_suite_table(&results).with_context(|| format!("reading {}", results.display()))?;
            let report = medmtl::check::check(&base, &medmtl::check::summarize_suite(&table));
            print!("{}", report.to_log());
            if let Some(path) = json {
                medmtl::results::atomic_write(&path, |out| {
                    serde_json::to_writer_pretty(out, &report).map_err(|e| medmtl::Error::format(&path, e.to_string()))
                })?;
            }
            if !report.passed {
                anyhow::bail!("regression check against {} failed", baseline.display());
            }
        }
        Command::Merge { inputs, out, reports } => {
            let summary = medmtl::results::merge_results(&inputs, &out)?;
            let table = medmtl::report::collect_suite_table(&out)?;
            let name = out.file_name().context("the output folder has no name")?;
            let path = medmtl::report::write_report(&out, &reports.join(name), &table)?;
            eprintln!("merged {} run(s) ({} identical duplicates) into {}; report {}", summary.copied, summary.duplicates, out.display(), path.display());
        }
        Command::Speed { model, mode, batch, steps, warmup, threads, candle_ops, weighting } => {
            medmtl::device::init_cpu_threads(threads)?;
            medmtl::kernels::set_enabled(!candle_ops);
            let model = match model {
                ModelArg::SmallCnn => SpeedModel::SmallCnn,
                ModelArg::Resnet18 => SpeedModel::Resnet18,
                ModelArg::Unet => SpeedModel::Unet,
            };
            let mode = match mode {
                ModeArg::Train => SpeedMode::Train,
                ModeArg::TrainPerTask => SpeedMode::TrainPerTask,
                ModeArg::Infer => SpeedMode::Infer,
            };
            let infer = mode == SpeedMode::Infer;
            let batch = batch.unwrap_or(match (model, infer) {
                (SpeedModel::Unet, false) => 32,
                (SpeedModel::Unet, true) => 64,
                (_, false) => 128,
                (_, true) => 256,
            });
            let weighting = weighting
                .map(|name| {
                    serde_json::from_value::<medmtl::weighting::WeightingKind>(serde_json::Value::String(name.clone())).map_err(|_| {
                        let names: Vec<&str> = medmtl::weighting::WeightingKind::ALL.iter().map(|k| k.as_str()).collect();
                        anyhow::anyhow!("unknown weighting '{name}'; allowed: {}", names.join(", "))
                    })
                })
                .transpose()?;
            let result = measure(model, mode, weighting, batch, steps, warmup, &candle_core::Device::Cpu)?;
            println!("{}", serde_json::to_string(&result)?);
        }
    }
    Ok(())
}

fn run_dirs(results: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    let runs = results.join("runs");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
        .with_context(|| format!("{} has no runs/ folder; is it a suite's results folder?", results.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("run.json").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn recompute(results: &std::path::Path, write: bool) -> anyhow::Result<()> {
    let mut total = 0;
    let mut mismatches = Vec::new();
    for dir in run_dirs(results)? {
        if write {
            let files = medmtl::results::RunFiles::new(dir.clone());
            let meta = medmtl::results::read_run_meta(&files.meta())?;
            let rows = medmtl::results::recompute_run(&files, &meta)?;
            total += rows.len();
            let mut df = medmtl::results::metrics_frame(&rows)?;
            medmtl::results::write_frame(&mut df, Some(&files.metrics_csv()), Some(&files.metrics_parquet()))?;
        } else {
            let (n, m) = medmtl::results::compare_run(&dir, 1e-9).with_context(|| format!("run {}", dir.display()))?;
            total += n;
            mismatches.extend(m);
        }
    }
    if write {
        medmtl::report::collect_suite_table(results)?;
        eprintln!("rewrote {total} metric values from stored predictions");
        return Ok(());
    }
    for m in &mismatches {
        eprintln!("{} {} {} {}: stored {:?}, recomputed {:?}", m.run_id, m.task, m.split, m.metric, m.stored, m.recomputed);
    }
    if mismatches.is_empty() {
        eprintln!("all {total} metric values recomputed from stored predictions match the stored ones");
        Ok(())
    } else {
        anyhow::bail!("{} of {total} metric values differ from the stored ones", mismatches.len())
    }
}
