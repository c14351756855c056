//! Suite configuration: what to compare, on which data, with which training protocol.

pub mod listing;
mod suite;

pub use suite::{DatasetRef, Experiment, ModelConfig, Suite, SuiteSource};
