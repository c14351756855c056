//! Percentile bootstrap over test samples: confidence intervals and paired tests.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::summary::quantile;

/// The fewest resamples [`bootstrap_ci`] and [`paired_bootstrap`] draw: with fewer, the
/// 2.5 % and 97.5 % order statistics move visibly with the seed.
pub const MIN_RESAMPLES: usize = 1000;

/// Indices of one resample: `n` draws with replacement from `0..n`. Drawn as `u64` so the
/// stream is the same on every platform.
fn resample(rng: &mut ChaCha8Rng, n: usize) -> Vec<usize> {
    (0..n).map(|_| rng.random_range(0..n as u64) as usize).collect()
}

/// Percentile bootstrap confidence interval of a statistic of the test samples.
///
/// `statistic` receives the indices of one resample (drawn with replacement, so indices
/// repeat) and returns the metric computed on those samples; e.g. for AUROC it gathers the
/// targets and scores at the indices and calls `roc_auc`. Each of `resamples` resamples
/// (at least [`MIN_RESAMPLES`]; fewer are raised to it) comes from a ChaCha8 stream seeded
/// with `seed`, so the interval is deterministic. The interval is the `(1 − level)/2` and
/// `(1 + level)/2` quantiles (linear interpolation) of the finite resampled statistics:
/// resamples where the metric is undefined (e.g. AUROC of a resample with one class) are
/// dropped, which narrows the interval slightly for tiny test sets. Samples must be the
/// independent unit (one per patient; the pitfalls paper's "aggregate per patient").
/// `(NaN, NaN)` for `n_samples == 0`, `level` outside (0, 1) or no finite statistic.
pub fn bootstrap_ci(mut statistic: impl FnMut(&[usize]) -> f64, n_samples: usize, resamples: usize, seed: u64, level: f64) -> (f64, f64) {
    if n_samples == 0 || !(level > 0.0 && level < 1.0) {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values: Vec<f64> =
        (0..resamples.max(MIN_RESAMPLES)).map(|_| statistic(&resample(&mut rng, n_samples))).filter(|v| v.is_finite()).collect();
    (quantile(&values, (1.0 - level) / 2.0), quantile(&values, (1.0 + level) / 2.0))
}

/// Calls `visit` with each of `resamples` (at least [`MIN_RESAMPLES`]) seeded index
/// resamples of `0..n_samples`, for statistics computed several at a time.
pub fn bootstrap_each(n_samples: usize, resamples: usize, seed: u64, mut visit: impl FnMut(&[usize])) {
    if n_samples == 0 {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..resamples.max(MIN_RESAMPLES) {
        visit(&resample(&mut rng, n_samples));
    }
}

/// The central `level` percentile interval of the finite values (linear interpolation).
pub fn percentile_interval(values: &[f64], level: f64) -> (f64, f64) {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    (quantile(&finite, (1.0 - level) / 2.0), quantile(&finite, (1.0 + level) / 2.0))
}

/// Result of [`paired_bootstrap`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedBootstrap {
    /// Observed difference `statistic_a(all) − statistic_b(all)`.
    pub difference: f64,
    /// 95 % percentile interval of the resampled differences.
    pub ci: (f64, f64),
    /// Two-sided p-value of "no difference" (see [`paired_bootstrap`]).
    pub p_value: f64,
    /// Resamples whose difference was finite (the `B` of the p-value).
    pub resamples: usize,
}

/// Paired bootstrap comparison of two models evaluated on the same test samples.
///
/// Procedure: draw `resamples` (at least [`MIN_RESAMPLES`]) index resamples with replacement
/// from a ChaCha8 stream seeded with `seed`; on each, evaluate **both** models on the **same**
/// indices and keep `d* = statistic_a − statistic_b` (pairing removes the between-sample
/// variance the two models share). Non-finite `d*` are dropped; `B` counts the rest. The
/// two-sided p-value is
///
/// `p = min(1, 2 · min(1 + #{d* ≤ 0}, 1 + #{d* ≥ 0}) / (B + 1))`,
///
/// i.e. twice the smaller tail of the bootstrap distribution beyond 0: it inverts the
/// percentile interval (p < 1 − level exactly when the percentile interval at that level
/// excludes 0, up to the +1), and the +1 terms keep p ≥ 2/(B+1), since a finite number of
/// resamples cannot show p = 0. NaN p-value when `n_samples == 0` or no `d*` is finite.
pub fn paired_bootstrap(
    mut statistic_a: impl FnMut(&[usize]) -> f64,
    mut statistic_b: impl FnMut(&[usize]) -> f64,
    n_samples: usize,
    resamples: usize,
    seed: u64,
) -> PairedBootstrap {
    let all: Vec<usize> = (0..n_samples).collect();
    let difference = if n_samples == 0 { f64::NAN } else { statistic_a(&all) - statistic_b(&all) };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut diffs = Vec::new();
    if n_samples > 0 {
        for _ in 0..resamples.max(MIN_RESAMPLES) {
            let idx = resample(&mut rng, n_samples);
            let d = statistic_a(&idx) - statistic_b(&idx);
            if d.is_finite() {
                diffs.push(d);
            }
        }
    }
    let b = diffs.len();
    let p_value = if b == 0 {
        f64::NAN
    } else {
        let below = 1 + diffs.iter().filter(|&&d| d <= 0.0).count();
        let above = 1 + diffs.iter().filter(|&&d| d >= 0.0).count();
        (2.0 * below.min(above) as f64 / (b + 1) as f64).min(1.0)
    };
    PairedBootstrap { difference, ci: (quantile(&diffs, 0.025), quantile(&diffs, 0.975)), p_value, resamples: b }
}

/// The two-sided p-value of [`paired_bootstrap`].
pub fn paired_bootstrap_p(
    statistic_a: impl FnMut(&[usize]) -> f64,
    statistic_b: impl FnMut(&[usize]) -> f64,
    n_samples: usize,
    resamples: usize,
    seed: u64,
) -> f64 {
    paired_bootstrap(statistic_a, statistic_b, n_samples, resamples, seed).p_value
}
