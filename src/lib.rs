//! medmtl: a reproducible benchmark suite for multi-task deep learning (MTL) in medical
//! image analysis.
//!
//! Data flow: a suite (`benchmarks/suites/*.toml`, [`config`]) names experiments over
//! datasets from the catalog ([`data`]); each experiment defines tasks ([`task`]) that
//! designs ([`model`]) learn under a weighting method ([`weighting`]) in the training loop
//! ([`train`]), which selects weights on validation data and stores per-sample predictions.
//! Metrics ([`metrics`]) are pure functions of those predictions; results ([`results`])
//! are tidy tables; statistics ([`stats`]) and reports ([`report`]) are derived from the
//! tables alone. [`bench`] runs a whole suite end to end.

pub mod bench;
pub mod check;
pub mod config;
pub mod data;
pub mod device;
mod error;
pub mod fsio;
pub mod hyper;
pub mod kernels;
pub mod literature;
pub mod metrics;
pub mod model;
pub mod output;
pub mod progress;
pub mod provenance;
pub mod registry;
pub mod report;
pub mod results;
pub mod stats;
pub mod task;
pub mod train;
pub mod weighting;

pub use error::{Error, Result};
