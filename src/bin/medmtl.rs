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
    /// Render reports/<suite>/ (report.md, self-contained report.html, tables/*.tex and
    /// *.csv, figures/*.svg and *.png) from results folders, without retraining.
    Report {
        /// Suite results folders, e.g. results/retina; each gets its own report.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Root folder for reports.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
    },
    /// Two results folders side by side (e.g. two commits): per design, weighting, task and
    /// metric, both means over seeds, B − A, and whether it exceeds seed noise (Welch's
    /// t-test over seeds, p < 0.05). Prints Markdown.
    Compare {
        /// Reference results folder (A).
        a: PathBuf,
        /// Results folder compared with it (B).
        b: PathBuf,
        /// Also write the Markdown to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the comparison at full precision as CSV.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Exit with status 1 when any value differs beyond seed noise (for CI).
        #[arg(long)]
        fail_on_difference: bool,
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
    /// Pack a suite's results folder into a small copy to commit (e.g. results/published/<suite>):
    /// run records, metric tables and histories unchanged; of dense tasks per-image statistics
    /// of the test split (Dice, reconstruction R² terms), no images or masks (dataset content);
    /// no checkpoints. `medmtl report` renders the same report from it, without the
    /// segmentation galleries, which need the test images.
    Pack {
        /// A suite's results folder, e.g. results/partial.
        results: PathBuf,
        /// The packed copy (created; a previous packed copy there is replaced).
        #[arg(long)]
        out: PathBuf,
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
        /// Time a `train` step with this weighting method, past its warm-up (`medmtl list`
        /// shows every method with its paper).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(medmtl::weighting::WeightingKind::names()))]
        weighting: Option<String>,
    },
    /// List every design and weighting method a suite can name, with its paper and its
    /// hyper-parameters' defaults (set them in a suite as `[design.NAME]` or
    /// `[weighting.NAME]`).
    List,
    /// List the literature map (benchmarks/literature.toml): medical MTL papers with their
    /// tasks, sharing, data and whether medmtl re-implements them; the filters combine.
    Literature {
        /// Only papers touching this open gap of the review.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["task-relatedness", "scope", "generative", "longitudinal"]))]
        gap: Option<String>,
        /// Only papers with a task of this kind.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["segmentation", "classification", "regression", "reconstruction", "detection", "registration"]))]
        kind: Option<String>,
        /// Only papers with a dataset whose name contains this (case-insensitive).
        #[arg(long)]
        dataset: Option<String>,
        /// Only papers medmtl re-implements.
        #[arg(long)]
        reproduced: bool,
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
// page-faults them back in on every training step (about 15% of a step in profiles);
// `keep_freed_pages` stops mimalloc from doing the same after its purge delay.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    medmtl::device::keep_freed_pages();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader closed the pipe (`| head`): it has what it wanted.
        Err(e) if medmtl::output::is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
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
            for results in results {
                // Read only: a reviewer may render a results folder they cannot write to.
                let table = medmtl::results::read_suite_table(&results).with_context(|| format!("reading {}", results.display()))?;
                let name = results.file_name().context("the results folder has no name")?;
                let dir = reports.join(name);
                medmtl::report::write_report(&results, &dir, &table)?;
                eprintln!("wrote {0}/report.md, {0}/report.html, {0}/tables/, {0}/figures/", dir.display());
            }
        }
        Command::Compare { a, b, out, csv, fail_on_difference } => {
            let read = |p: &PathBuf| medmtl::results::read_suite_table(p).with_context(|| format!("reading {}", p.display()));
            let comparison = medmtl::report::compare::compare(&read(&a)?, &read(&b)?);
            let text = medmtl::report::compare::render_markdown(&comparison, &a.display().to_string(), &b.display().to_string());
            medmtl::output::print(&text)?;
            if let Some(path) = out {
                std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            }
            if let Some(path) = csv {
                let table = medmtl::report::compare::to_csv(&comparison);
                std::fs::write(&path, table.text()).with_context(|| format!("writing {}", path.display()))?;
            }
            let flagged = comparison.rows.iter().filter(|r| r.exceeds_noise == Some(true)).count();
            if fail_on_difference && flagged > 0 {
                anyhow::bail!("{flagged} value(s) differ beyond seed noise");
            }
        }
        Command::Metrics { results, write } => recompute(&results, write)?,
        Command::List => medmtl::output::print(&medmtl::config::listing::listing())?,
        Command::Literature { gap, kind, dataset, reproduced } => {
            let lit = medmtl::literature::Literature::embedded()?;
            fn parse<T: serde::de::DeserializeOwned>(v: Option<String>) -> anyhow::Result<Option<T>> {
                Ok(v.map(|s| serde_json::from_value(serde_json::Value::String(s))).transpose()?)
            }
            let filter = medmtl::literature::Filter { gap: parse(gap)?, kind: parse(kind)?, dataset, reproduced };
            medmtl::output::print(&lit.listing(&filter))?;
        }
        Command::Baseline { results, out } => {
            let table = medmtl::results::collect_suite_table(&results).with_context(|| format!("reading {}", results.display()))?;
            let rows = medmtl::check::summarize_suite(&table);
            anyhow::ensure!(!rows.is_empty(), "{} holds no complete runs to summarise", results.display());
            medmtl::check::write_baseline(&rows, &out)?;
            eprintln!("wrote {} baseline rows from {} runs to {}", rows.len(), table.runs.len(), out.display());
        }
        Command::Check { baseline, results, json } => {
            let base = medmtl::check::read_baseline(&baseline)?;
            let table = medmtl::results::collect_suite_table(&results).with_context(|| format!("reading {}", results.display()))?;
            let report = medmtl::check::check(&base, &medmtl::check::summarize_suite(&table));
            medmtl::output::print(&report.to_log())?;
            if let Some(path) = json {
                medmtl::results::atomic_write(&path, |out| {
                    serde_json::to_writer_pretty(out, &report).map_err(|e| medmtl::Error::format(&path, e.to_string()))
                })?;
            }
            if !report.passed {
                anyhow::bail!("regression check against {} failed", baseline.display());
            }
        }
        Command::Pack { results, out } => {
            let s = medmtl::results::pack_results(&results, &out)?;
            let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
            eprintln!(
                "packed {} run(s) of {} into {}: {:.1} MiB -> {:.1} MiB (no images or masks)",
                s.runs,
                results.display(),
                out.display(),
                mib(s.bytes_in),
                mib(s.bytes_out)
            );
        }
        Command::Merge { inputs, out, reports } => {
            let summary = medmtl::results::merge_results(&inputs, &out)?;
            let table = medmtl::results::collect_suite_table(&out)?;
            let name = out.file_name().context("the output folder has no name")?;
            let path = medmtl::report::write_report(&out, &reports.join(name), &table)?;
            eprintln!(
                "merged {} run(s) ({} identical duplicates) into {}; report {}",
                summary.copied,
                summary.duplicates,
                out.display(),
                path.display()
            );
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
            let weighting = weighting.map(|name| name.parse::<medmtl::weighting::WeightingKind>()).transpose()?;
            let result = measure(model, mode, weighting, batch, steps, warmup, &candle_core::Device::Cpu)?;
            medmtl::output::print(&format!("{}\n", serde_json::to_string(&result)?))?;
        }
    }
    Ok(())
}

fn run_dirs(results: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    if !results.join("runs").is_dir() {
        anyhow::bail!("{} has no runs/ folder; is it a suite's results folder?", results.display());
    }
    Ok(medmtl::results::io::list_runs(results)?)
}

fn recompute(results: &std::path::Path, write: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        !medmtl::results::is_packed(results),
        "{} is a packed copy (validation and reconstruction predictions were dropped by `medmtl pack`); \
         recompute metrics in the full results folder it came from",
        results.display()
    );
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
        medmtl::results::collect_suite_table(results)?;
        eprintln!("rewrote {total} metric values from stored predictions");
        return Ok(());
    }
    for m in &mismatches {
        let group = if m.subgroup.is_empty() { String::new() } else { format!(" [{}]", m.subgroup) };
        eprintln!("{} {} {}{group} {}: stored {:?}, recomputed {:?}", m.run_id, m.task, m.split, m.metric, m.stored, m.recomputed);
    }
    if mismatches.is_empty() {
        eprintln!("all {total} metric values recomputed from stored predictions match the stored ones");
        Ok(())
    } else {
        anyhow::bail!("{} of {total} metric values differ from the stored ones", mismatches.len())
    }
}
