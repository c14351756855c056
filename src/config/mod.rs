//! Suite configuration: what to compare, on which data, with which training protocol.

mod suite;

pub use suite::{DatasetRef, Experiment, ModelConfig, Suite, SuiteSource};
