//! Running a suite end to end: expand it into runs, load data, train, measure, write
//! results and the report.

pub mod jobs;
mod plan;
mod runner;
mod shard;
pub mod speed;

pub use plan::{plan, RunSpec};
pub use runner::{load_dataset, run_suite, BenchOptions, SuiteOutcome};
pub use shard::Shard;
