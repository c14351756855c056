//! Results: tidy metric tables, per-sample predictions, training histories and run
//! metadata, written as CSV and Parquet (polars) under `results/<suite>/`.
//!
//! Layout of one suite's results folder:
//! ```text
//! results/<suite>/
//!   metrics.csv, metrics.parquet      every run's metric rows (the table reports read)
//!   runs/<run-id>/
//!     run.json                        run metadata (versions, timings, hashes)
//!     metrics.csv, metrics.parquet    this run's rows (test rows also per subgroup)
//!     subgroups.json                  the subgroup of each test sample, where reported
//!     cka.json                        STL runs: CKA between the task networks per stage
//!     history.csv                     per-epoch training loss and validation metric
//!     predictions/<task>.parquet      per-sample targets and scores, val and test
//!     predictions/<task>.npz          dense tasks: truth and predicted masks / images
//!     predictions/<task>.stats.csv    instead, in a packed copy: per-image test statistics
//! ```

mod dense;
mod files;
pub mod io;
mod lock;
mod merge;
mod pack;
mod packed_stats;
mod recompute;
mod rows;
mod schema;
mod suite;
mod table;

pub use dense::{read_dense, read_test_images, write_dense};
pub use files::{read_cka, read_run_meta, read_subgroups, write_cka, write_run, write_subgroups, RunFiles};
pub use io::atomic_write;
pub use lock::FolderLock;
pub use merge::{merge_results, MergeSummary};
pub use pack::{is_packed, pack_results, PackSummary, PACKED_FILE};
pub use packed_stats::PackedStats;
pub use recompute::{compare_run, recompute_run, Mismatch};
pub use rows::{metric_rows, task_rows};
pub use schema::{MetricRow, RunMeta, RunStatus, TaskMeta, OLDEST_READABLE_VERSION, SCHEMA_VERSION};
pub use suite::{collect_suite_table, read_suite_table, Skipped, SuiteTable, SKIPPED_FILE};
pub use table::{
    metrics_frame, read_history, read_metrics, read_predictions, rows_from_frame, write_frame, HistoryRow, PartnerRelatedness,
};
