//! The library's typed errors.
//!
//! Every variant names the file or key involved and, where the user can act on it, what to
//! do; binaries add context with `anyhow` at the edges.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file or folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A suite, catalog or dataset spec file does not parse or fails validation.
    #[error("{path}: invalid configuration: {message}")]
    Config {
        /// The configuration file (or embedded file's name).
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },

    /// A data or results file exists but its contents are malformed (corrupt `.npz`, PNG, CSV, run record, ...).
    #[error("{path}: {message}")]
    Format {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// A data file's md5 differs from the one listed, and unverified data are not allowed.
    #[error(
        "{file}: md5 {actual} does not match the catalog ({expected}). Re-download it, or pass \
         --allow-unverified to use this copy; results will be marked unverified."
    )]
    Checksum {
        /// The file checked.
        file: PathBuf,
        /// The md5 the catalog or dataset spec lists (several joined by "or").
        expected: String,
        /// The md5 the file has.
        actual: String,
    },

    /// A dataset file or folder is in none of the data folders and could not be downloaded.
    #[error(
        "dataset file {file} is not available: {reason}.\n  Download it from {url}\n  and either \
         point medmtl at the folder that holds it (--data-dir DIR or MEDMTL_DATA_DIR=DIR), or put \
         it into the cache folder {cache}."
    )]
    DataUnavailable {
        /// The file (or `<dataset>/<probe>` of a folder dataset) looked for.
        file: String,
        /// Where to download it from.
        url: String,
        /// The download cache folder it may be put into.
        cache: PathBuf,
        /// Why it could not be had (not found, downloading off, download failed), with the folders searched.
        reason: String,
    },

    /// A name (suite, dataset, design, weighting, device, ...) is not one medmtl knows.
    #[error("unknown {what} '{name}'; allowed: {allowed}")]
    Unknown {
        /// What kind of name it is (`suite`, `dataset`, ...).
        what: &'static str,
        /// The name given.
        name: String,
        /// The accepted names, comma-separated.
        allowed: String,
    },

    /// Arguments or data are inconsistent in a way no other variant covers; the message says how.
    #[error("{0}")]
    Invalid(String),

    /// A training step produced a non-finite loss; the run is recorded as diverged.
    /// Another process holds a results folder's lock.
    #[error(
        "{dir} is being written by {holder}. Wait for it to finish or stop it, or write to another \
         folder with --out; two processes on one results folder would corrupt it."
    )]
    Locked {
        /// The results folder.
        dir: PathBuf,
        /// Who holds the lock, as its lock file says.
        holder: String,
    },

    /// A task's loss became NaN or infinite during training.
    #[error("training diverged at epoch {epoch}: task '{task}' loss is {loss} (last finite value {last_finite})")]
    Diverged {
        /// The epoch it happened in (1-based).
        epoch: usize,
        /// The task whose loss was not finite.
        task: String,
        /// The non-finite loss (NaN or infinite).
        loss: f64,
        /// The task's last finite step loss (NaN when there was none).
        last_finite: f64,
    },

    /// A candle tensor operation failed (shape mismatch, device error, ...).
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),

    /// A polars operation failed while reading or writing a results table.
    #[error("table operation failed: {0}")]
    Polars(#[from] polars::error::PolarsError),
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// An [`Error::Format`] for `path`.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format { path: path.into(), message: message.into() }
    }

    /// An [`Error::Config`] for `path`.
    pub fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Config { path: path.into(), message: message.into() }
    }

    /// An [`Error::Unknown`] listing the `allowed` names.
    pub fn unknown(what: &'static str, name: impl Into<String>, allowed: &[&str]) -> Self {
        Error::Unknown { what, name: name.into(), allowed: allowed.join(", ") }
    }
}
