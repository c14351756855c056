//! `bench-all`: run a benchmark suite end to end and write results/ and reports/.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use medmtl::bench::{run_suite, BenchOptions, Shard};
use medmtl::config::Suite;
use medmtl::data::fetch::DataSources;

/// Train and measure every design of a suite on public medical data (and synthetic
/// phantoms), then write tidy results and a report.
///
/// Data are looked up in --data-dir, then $MEDMTL_DATA_DIR, then the download cache
/// datasets/cache/; missing files are downloaded when the network allows. Experiments whose
/// data cannot be had are skipped and listed in the report (--strict makes that an error).
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// Suite to run: a built-in suite's name (`--list` shows them) or a path to a .toml file.
    #[arg(long, default_value = "default")]
    suite: String,
    /// Folder with local dataset copies (e.g. ../shared/datasets); searched before $MEDMTL_DATA_DIR.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Root folder for results; the suite writes into OUT/<suite>/.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Root folder for reports; the suite writes OUT/<suite>/report.md.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    reports: PathBuf,
    /// Fail when an experiment's data cannot be had, instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Use data files whose md5 differs from the catalog; results are marked unverified.
    #[arg(long)]
    allow_unverified: bool,
    /// Never download; use local copies only.
    #[arg(long)]
    offline: bool,
    /// Compute device: cpu, cuda or cuda:N (CUDA needs --features cuda).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// CPU threads (default: all physical cores, or $RAYON_NUM_THREADS).
    #[arg(long)]
    threads: Option<usize>,
    /// Runs trained at the same time, each on threads/jobs threads. The suites' small
    /// networks keep several cores only partly busy, so on 2 cores `--jobs 2` finishes a
    /// suite about 1.5x sooner (the same numbers, more memory); each run's images/s is then
    /// its own share's.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: u64,
    /// Re-run every run from scratch, complete ones included (by default a restarted suite
    /// skips complete runs and continues interrupted ones from their last finished epoch).
    #[arg(long)]
    force: bool,
    /// Keep each run's checkpoint (checkpoint.safetensors: the training state after the last
    /// epoch) once the run is complete; normally it is removed.
    #[arg(long)]
    keep_checkpoints: bool,
    /// Run only shard I of N of the run grid (0 <= I < N), e.g. one Slurm array task;
    /// defaults to $SLURM_ARRAY_TASK_ID / $SLURM_ARRAY_TASK_COUNT when set. Merge shard
    /// results with `medmtl merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Run only these of the suite's seeds (comma-separated, e.g. `--seeds 0`); later
    /// invocations with other seeds add their runs to the same results folder. A long suite
    /// can so finish seed 0 of every design first.
    #[arg(long, value_delimiter = ',', value_name = "SEED,...")]
    seeds: Option<Vec<u64>>,
    /// List the built-in suites and exit.
    #[arg(long)]
    list: bool,
}

// mimalloc keeps freed tensor buffers for reuse; glibc returns large ones to the OS and
// page-faults them back in on every training step (about 15% of a step in profiles);
// `keep_freed_pages` stops mimalloc from doing the same after its purge delay.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    medmtl::device::keep_freed_pages();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader closed the pipe (`| head`): it has what it wanted.
        Err(e) if medmtl::output::is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.list {
        for name in Suite::embedded_names() {
            let (suite, _, _) = Suite::find(name)?;
            medmtl::output::print(&format!("{name:12} {}\n", suite.description))?;
        }
        return Ok(());
    }
    medmtl::device::init_cpu_threads(args.threads)?;
    let (suite, source, text) = Suite::find(&args.suite)?;
    let shard = match &args.shard {
        Some(s) => Some(Shard::parse(s)?),
        None => Shard::from_slurm(|k| std::env::var(k).ok())?,
    };
    let mut sources = DataSources::from_env(args.data_dir.clone());
    sources.allow_unverified = args.allow_unverified;
    sources.download &= !args.offline;
    let options = BenchOptions {
        sources,
        results_root: args.out.clone(),
        reports_root: args.reports.clone(),
        strict: args.strict,
        force: args.force,
        shard,
        seeds: args.seeds.clone(),
        device: medmtl::device::parse_device(&args.device)?,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        keep_checkpoints: args.keep_checkpoints,
        jobs: args.jobs as usize,
    };
    let results = args.out.join(&suite.name);
    // Every file is written atomically and a run is complete only once its run.json exists,
    // so stopping here loses at most the run in progress.
    let _ = ctrlc::set_handler(move || {
        eprintln!(
            "\ninterrupted: completed runs and the last finished epoch of the run in progress are kept in {}; \
             run the same command again to resume",
            results.display()
        );
        std::process::exit(130);
    });
    let label = source.label().display().to_string();
    eprintln!("running suite '{}' ({label}) on {} thread(s)", suite.name, rayon::current_num_threads());
    if let Some(s) = shard {
        eprintln!("shard {}/{} of the run grid", s.index, s.count);
    }
    if let Some(seeds) = &args.seeds {
        eprintln!("seeds {seeds:?} of the suite's {:?}", suite.seeds);
    }
    let outcome = run_suite(&suite, &label, &text, &options).with_context(|| format!("suite '{}'", suite.name))?;
    eprintln!(
        "done: {} run(s) trained, {} already complete, in {:.1} s; results in {}, report {}",
        outcome.runs_completed,
        outcome.runs_reused,
        outcome.seconds,
        outcome.results_dir.display(),
        outcome.report_path.display()
    );
    for id in &outcome.runs_diverged {
        eprintln!("run {id} diverged (loss NaN or infinite); it is listed as failed in the report");
    }
    for s in &outcome.skipped {
        eprintln!("skipped experiment '{}' (dataset {}): see the report", s.experiment, s.dataset);
    }
    Ok(())
}
