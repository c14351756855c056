//! The library's typed errors.
//!
//! Every variant names the file or key involved and, where the user can act on it, what to
//! do; binaries add context with `anyhow` at the edges.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: invalid configuration: {message}")]
    Config { path: PathBuf, message: String },

    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },

    #[error(
        "{file}: md5 {actual} does not match the catalog ({expected}). Re-download it, or pass \
         --allow-unverified to use this copy; results will be marked unverified."
    )]
    Checksum { file: PathBuf, expected: String, actual: String },

    #[error(
        "dataset file {file} is not available: {reason}.\n  Download it from {url}\n  and either \
         point medmtl at the folder that holds it (--data-dir DIR or MEDMTL_DATA_DIR=DIR), or put \
         it into the cache folder {cache}."
    )]
    DataUnavailable { file: String, url: String, cache: PathBuf, reason: String },

    #[error("unknown {what} '{name}'; allowed: {allowed}")]
    Unknown { what: &'static str, name: String, allowed: String },

    #[error("{0}")]
    Invalid(String),

    #[error("training diverged at epoch {epoch}: task '{task}' loss is {loss} (last finite value {last_finite})")]
    Diverged { epoch: usize, task: String, loss: f64, last_finite: f64 },

    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),

    #[error("table operation failed: {0}")]
    Polars(#[from] polars::error::PolarsError),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format { path: path.into(), message: message.into() }
    }

    pub fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Config { path: path.into(), message: message.into() }
    }

    pub fn unknown(what: &'static str, name: impl Into<String>, allowed: &[&str]) -> Self {
        Error::Unknown { what, name: name.into(), allowed: allowed.join(", ") }
    }
}
