//! Statistics over seeds and samples, one concept per file: summaries, bootstrap intervals
//! and paired tests, the multi-task Δm, seed-level tests, ranks and rank correlations, and
//! the similarity of representations (CKA).

mod bootstrap;
mod cka;
mod delta_m;
mod ranks;
mod significance;
mod summary;

pub use bootstrap::{
    bootstrap_ci, bootstrap_each, paired_bootstrap, paired_bootstrap_p, percentile_interval, PairedBootstrap, MIN_RESAMPLES,
};
pub use cka::linear_cka;
pub use delta_m::{delta_m, delta_m_libmtl, delta_m_nashmtl};
pub use ranks::{kendall_tau_b, mean_ranks, ranks, spearman_rho};
pub use significance::{holm_adjust, mean_ci95, student_t_cdf, student_t_quantile, summary_ci95, welch_t_test, WelchTest};
pub use summary::{quantile, summarize, Summary};
