//! Progress bars for long work (downloads, training). They draw to stderr and stay silent
//! when stderr is not a terminal, so CI logs are not flooded.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting bytes; `total` unknown gives a spinner with a byte counter.
pub fn bytes_bar(total: Option<u64>, message: &str) -> ProgressBar {
    let bar = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.with_message(message.to_owned())
}

/// A bar counting work items (training steps, runs).
pub fn items_bar(total: u64, message: &str) -> ProgressBar {
    ProgressBar::new(total)
        .with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        )
        .with_message(message.to_owned())
}
