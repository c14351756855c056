//! Statistics over seeds and samples: the summaries every report table uses, bootstrap
//! confidence intervals and paired tests, the multi-task Δm, and rank statistics.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Mean, sample standard deviation (n - 1) and count of the finite values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

/// Summarises `values`, ignoring non-finite ones (undefined metrics); `n` counts the rest.
pub fn summarize(values: &[f64]) -> Summary {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    if n == 0 {
        return Summary { mean: f64::NAN, std: f64::NAN, n: 0 };
    }
    let mean = finite.iter().sum::<f64>() / n as f64;
    let std = if n > 1 { (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt() } else { 0.0 };
    Summary { mean, std, n }
}

/// The `q`-quantile (`q` in [0, 1]) of the non-NaN values with linear interpolation between
/// order statistics (`numpy.quantile`'s default `method="linear"`, and `torch.quantile`'s).
/// NaN when no value is left or `q` is outside [0, 1].
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let position = q * (sorted.len() - 1) as f64;
    let lo = position.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    if sorted[lo] == sorted[hi] {
        return sorted[lo]; // also keeps ±inf from turning into NaN
    }
    sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo as f64)
}

// ---------------------------------------------------------------------------------------
// Bootstrap over test samples.
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Multi-task performance change Δm.
// ---------------------------------------------------------------------------------------

/// Checks that the three nested lists have the same shape and no task is empty.
fn same_shape(a: &[Vec<f64>], b: &[Vec<f64>], hib: &[Vec<bool>]) -> bool {
    !a.is_empty()
        && a.len() == b.len()
        && a.len() == hib.len()
        && a.iter().zip(b).zip(hib).all(|((x, y), h)| !x.is_empty() && x.len() == y.len() && x.len() == h.len())
}

/// medmtl's Δm in percent, positive = the multi-task model is better:
///
/// `Δm = 100 · (1/T) Σ_t (1/K_t) Σ_k s_tk · (M_mtl,tk − M_stl,tk) / |M_stl,tk|`,
///
/// with `s = +1` where higher is better and `−1` where lower is better, `T` tasks and `K_t`
/// metrics of task t (each task weighs the same however many metrics it reports). The
/// baseline is the single-task model of each task, trained and selected like the multi-task
/// one. Dividing by `|M_stl|` keeps "positive = better" for a negative baseline (an R² below
/// 0); the published variants divide by the signed value, which flips the sign there.
/// Differences from the published variants:
/// - LibMTL's `count_improvement` ([`delta_m_libmtl`]): same per-task averaging and sign,
///   but a fraction (not percent), a signed denominator, and its trainer's default baseline
///   is the same run's results after its first epoch (epoch 0), not a single-task model;
/// - nash-mtl's `delta_fn` ([`delta_m_nashmtl`]): a flat mean over all metrics of all tasks
///   (tasks with more metrics weigh more) and the opposite sign (lower = better).
///
/// NaN when the shapes differ, a task has no metrics, or a value or baseline is non-finite
/// or a baseline is 0 (the relative change is undefined; leaving the metric out would
/// silently change the definition).
pub fn delta_m(task_metrics_mtl: &[Vec<f64>], task_metrics_stl: &[Vec<f64>], higher_is_better: &[Vec<bool>]) -> f64 {
    if !same_shape(task_metrics_mtl, task_metrics_stl, higher_is_better) {
        return f64::NAN;
    }
    let per_task: Vec<f64> = task_metrics_mtl
        .iter()
        .zip(task_metrics_stl)
        .zip(higher_is_better)
        .map(|((m, b), h)| {
            let changes = m.iter().zip(b).zip(h).map(|((&m, &b), &h)| sign(h) * (m - b) / b.abs());
            changes.sum::<f64>() / m.len() as f64
        })
        .collect();
    finite_or_nan(100.0 * per_task.iter().sum::<f64>() / per_task.len() as f64, task_metrics_stl)
}

/// LibMTL's `count_improvement(base, new, weight)`, reproduced to compare with papers that
/// use it: `(1/T) Σ_t mean_k (−1)^{w_tk} (B_tk − N_tk) / B_tk` with `w = 1` where higher is
/// better, as a **fraction** (×100 for percent), positive = better. LibMTL's trainer passes
/// its own epoch-0 results as `base` unless given one. NaN under the same conditions as
/// [`delta_m`].
pub fn delta_m_libmtl(new: &[Vec<f64>], base: &[Vec<f64>], higher_is_better: &[Vec<bool>]) -> f64 {
    if !same_shape(new, base, higher_is_better) {
        return f64::NAN;
    }
    let per_task: Vec<f64> = new
        .iter()
        .zip(base)
        .zip(higher_is_better)
        .map(|((n, b), h)| {
            let changes = n.iter().zip(b).zip(h).map(|((&n, &b), &h)| -sign(h) * (b - n) / b);
            changes.sum::<f64>() / n.len() as f64
        })
        .collect();
    finite_or_nan(per_task.iter().sum::<f64>() / per_task.len() as f64, base)
}

/// nash-mtl's `delta_fn`: `100 · mean over all metrics of (−1)^{s} (a − BASE) / BASE` with
/// `s = 1` where higher is better — a flat mean over the metrics of all tasks, in percent,
/// **positive = worse** (the tables of Nash-MTL, CAGrad and FAMO report it so, lower being
/// better). NaN on mismatched lengths, empty input, a non-finite value or a zero baseline.
pub fn delta_m_nashmtl(metrics: &[f64], base: &[f64], higher_is_better: &[bool]) -> f64 {
    if metrics.is_empty() || metrics.len() != base.len() || metrics.len() != higher_is_better.len() {
        return f64::NAN;
    }
    let total: f64 = metrics.iter().zip(base).zip(higher_is_better).map(|((&a, &b), &h)| -sign(h) * (a - b) / b).sum();
    finite_or_nan(100.0 * total / metrics.len() as f64, &[base.to_vec()])
}

fn sign(higher_is_better: bool) -> f64 {
    if higher_is_better {
        1.0
    } else {
        -1.0
    }
}

/// `value`, or NaN where a baseline is zero or non-finite (or the value itself is not finite).
fn finite_or_nan(value: f64, baselines: &[Vec<f64>]) -> f64 {
    let ok = value.is_finite() && baselines.iter().flatten().all(|b| b.is_finite() && *b != 0.0);
    if ok {
        value
    } else {
        f64::NAN
    }
}

// ---------------------------------------------------------------------------------------
// Student's t distribution, Welch's test and Holm's correction (seed-level statistics).
// ---------------------------------------------------------------------------------------

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; relative error below 1e-14).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = G[1..].iter().enumerate().fold(G[0], |acc, (i, &g)| acc + g / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// Regularised incomplete beta `I_x(a, b)` by its continued fraction (modified Lentz),
/// using the symmetry `I_x(a, b) = 1 − I_{1−x}(b, a)` where the fraction converges slowly.
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if x == 0.0 || x == 1.0 {
        return x;
    }
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp() / a;
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
    let mut f = d;
    for m in 1..500 {
        let m = m as f64;
        for numerator in
            [m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)), -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))]
        {
            d = 1.0 + numerator * d;
            d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
            c = 1.0 + numerator / c;
            if c.abs() < tiny {
                c = tiny;
            }
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-16 {
            break;
        }
    }
    front * f
}

/// Cumulative distribution function of Student's t with `df` degrees of freedom (any
/// positive real `df`, as Welch's test needs), `scipy.stats.t.cdf`. NaN for `df <= 0` or
/// a NaN argument.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Quantile of Student's t (`scipy.stats.t.ppf`), by bisection on [`student_t_cdf`] to
/// 1e-12. NaN for `p` outside (0, 1) or `df <= 0`.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if p.is_nan() || p <= 0.0 || p >= 1.0 || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    let (mut lo, mut hi) = (-1.0, 1.0);
    while student_t_cdf(lo, df) > p {
        lo *= 2.0;
    }
    while student_t_cdf(hi, df) < p {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < p {
            lo = mid
        } else {
            hi = mid
        }
        if hi - lo < 1e-12 * hi.abs().max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Two-sided 95 % confidence interval of a mean over seeds, `mean ± t(0.975, n−1)·s/√n`
/// (Student's t, the usual small-sample interval). NaN for fewer than two finite values.
pub fn mean_ci95(values: &[f64]) -> (f64, f64) {
    let s = summarize(values);
    if s.n < 2 {
        return (f64::NAN, f64::NAN);
    }
    let half = student_t_quantile(0.975, (s.n - 1) as f64) * s.std / (s.n as f64).sqrt();
    (s.mean - half, s.mean + half)
}

/// Result of [`welch_t_test`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WelchTest {
    /// `mean(a) − mean(b)`.
    pub difference: f64,
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// Welch's unequal-variance t-test of two independent samples (e.g. one metric over the
/// seeds of two results folders), as `scipy.stats.ttest_ind(a, b, equal_var=False)`:
/// `t = (ā − b̄) / sqrt(s_a²/n_a + s_b²/n_b)`, Welch–Satterthwaite degrees of freedom, two-sided
/// p. Non-finite values are left out. With fewer than two values on a side the p-value is
/// NaN (no noise estimate); with zero variance on both sides it is 0 for a non-zero
/// difference and 1 otherwise (deterministic results).
pub fn welch_t_test(a: &[f64], b: &[f64]) -> WelchTest {
    let (sa, sb) = (summarize(a), summarize(b));
    let difference = sa.mean - sb.mean;
    if sa.n < 2 || sb.n < 2 {
        return WelchTest { difference, t: f64::NAN, df: f64::NAN, p_value: f64::NAN };
    }
    let (va, vb) = (sa.std.powi(2) / sa.n as f64, sb.std.powi(2) / sb.n as f64);
    if va + vb == 0.0 {
        let p_value = if difference == 0.0 { 1.0 } else { 0.0 };
        return WelchTest { difference, t: difference.signum() * f64::INFINITY, df: f64::NAN, p_value };
    }
    let t = difference / (va + vb).sqrt();
    let df = (va + vb).powi(2) / (va.powi(2) / (sa.n - 1) as f64 + vb.powi(2) / (sb.n - 1) as f64);
    let p_value = (2.0 * student_t_cdf(-t.abs(), df)).min(1.0);
    WelchTest { difference, t, df, p_value }
}

/// Holm's step-down adjusted p-values (family-wise error control, valid under any
/// dependence between the tests): sort the m finite p-values ascending, adjust the k-th
/// (0-based) to `(m − k)·p`, take running maxima so the order is kept, cap at 1. NaN
/// p-values stay NaN and do not count in m.
pub fn holm_adjust(p_values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p_values.len()).filter(|&i| p_values[i].is_finite()).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let m = order.len();
    let mut out = vec![f64::NAN; p_values.len()];
    let mut running: f64 = 0.0;
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * p_values[i]).min(1.0));
        out[i] = running;
    }
    out
}

// ---------------------------------------------------------------------------------------
// Ranks and rank correlation.
// ---------------------------------------------------------------------------------------

/// Ranks with ties sharing their mean rank (scipy's `rankdata(method="average")`), rank 1 =
/// best: the largest value where `higher_is_better`, else the smallest. NaN values get a NaN
/// rank and the others are ranked among themselves (scipy would make every rank NaN).
pub fn ranks(values: &[f64], higher_is_better: bool) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| !values[i].is_nan()).collect();
    order.sort_by(|&a, &b| {
        let ord = values[a].total_cmp(&values[b]);
        if higher_is_better {
            ord.reverse()
        } else {
            ord
        }
    });
    let mut out = vec![f64::NAN; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let mean_rank = (i + j + 2) as f64 / 2.0;
        for &k in &order[i..=j] {
            out[k] = mean_rank;
        }
        i = j + 1;
    }
    out
}

/// Mean rank of each method over datasets: `scores[d][m]` is method m's score on dataset
/// d; methods are ranked within each dataset ([`ranks`]) and the ranks averaged over the
/// datasets where the method has a score. Datasets with another number of methods than the
/// first are skipped; a method never scored gets NaN.
pub fn mean_ranks(scores: &[Vec<f64>], higher_is_better: bool) -> Vec<f64> {
    let Some(first) = scores.first() else { return Vec::new() };
    let methods = first.len();
    let mut sum = vec![0.0; methods];
    let mut count = vec![0usize; methods];
    for dataset in scores.iter().filter(|d| d.len() == methods) {
        for (m, r) in ranks(dataset, higher_is_better).into_iter().enumerate() {
            if !r.is_nan() {
                sum[m] += r;
                count[m] += 1;
            }
        }
    }
    sum.iter().zip(&count).map(|(&s, &c)| if c == 0 { f64::NAN } else { s / c as f64 }).collect()
}

/// Kendall's τ-b, as `scipy.stats.kendalltau` (default `variant="b"`):
/// `(P − Q) / sqrt((n₀ − n₁)(n₀ − n₂))` with `P`/`Q` the concordant/discordant pairs,
/// `n₀ = n(n−1)/2`, and `n₁`/`n₂` the pairs tied in `a`/in `b` (a pair tied in both counts in
/// both and in neither P nor Q). Used to compare rankings of designs (e.g. across datasets
/// or metrics), where n is small, so the O(n²) pair count is fine. NaN for fewer than 2
/// pairs, mismatched lengths, a NaN value (scipy's `nan_policy="propagate"`), or a constant
/// argument (denominator 0, as scipy).
pub fn kendall_tau_b(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len();
    if n < 2 || n != b.len() || a.iter().chain(b).any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let (mut concordant, mut discordant, mut tied_a, mut tied_b) = (0u64, 0u64, 0u64, 0u64);
    for i in 0..n {
        for j in i + 1..n {
            let da = a[i].partial_cmp(&a[j]).unwrap_or(std::cmp::Ordering::Equal);
            let db = b[i].partial_cmp(&b[j]).unwrap_or(std::cmp::Ordering::Equal);
            use std::cmp::Ordering::Equal;
            match (da == Equal, db == Equal) {
                (true, true) => {
                    tied_a += 1;
                    tied_b += 1;
                }
                (true, false) => tied_a += 1,
                (false, true) => tied_b += 1,
                (false, false) if da == db => concordant += 1,
                (false, false) => discordant += 1,
            }
        }
    }
    let pairs = (n * (n - 1) / 2) as u64;
    let denominator = ((pairs - tied_a) as f64 * (pairs - tied_b) as f64).sqrt();
    if denominator == 0.0 {
        f64::NAN
    } else {
        (concordant as f64 - discordant as f64) / denominator
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_std_like_numpy_ddof1() {
        let s = summarize(&[1.0, 2.0, 4.0, f64::NAN]);
        assert_eq!(s.n, 3);
        assert!((s.mean - 7.0 / 3.0).abs() < 1e-12);
        // numpy.std([1, 2, 4], ddof=1) = 1.5275252316519468
        assert!((s.std - 1.5275252316519468).abs() < 1e-12);
        assert_eq!(summarize(&[5.0]).std, 0.0);
        assert_eq!(summarize(&[]).n, 0);
    }

    #[test]
    fn student_t_matches_scipy() {
        // scipy.stats.t.ppf(0.975, df) (scipy 1.16)
        for (df, want) in [
            (1.0, 12.706204736174694),
            (2.0, 4.302652729749462),
            (3.0, 3.1824463052837078),
            (5.0, 2.5705818356363146),
            (10.0, 2.228138851986274),
            (30.0, 2.0422724563012378),
            (100.0, 1.9839715185235518),
        ] {
            assert!((student_t_quantile(0.975, df) - want).abs() < 1e-9, "df {df}");
        }
        // scipy.stats.t.cdf(t, df)
        for (t, df, want) in [
            (-2.5, 3.0, 0.04385332350403278),
            (0.7, 1.0, 0.6944001122142147),
            (1.3, 7.5, 0.8839366105921956),
            (-4.0, 2.2, 0.02436531336388199),
            (10.0, 4.0, 0.999718998188642),
        ] {
            assert!((student_t_cdf(t, df) - want).abs() < 1e-12, "t {t} df {df}");
        }
    }

    #[test]
    fn welch_matches_scipy_ttest_ind() {
        // scipy.stats.ttest_ind(a, b, equal_var=False): t 2.6, p 0.06818193989073995, df 3.5256554898686865
        let w = welch_t_test(&[0.81, 0.83, 0.80], &[0.78, 0.80, 0.775, 0.79]);
        assert!((w.t - 2.6).abs() < 1e-9);
        assert!((w.df - 3.5256554898686865).abs() < 1e-9);
        assert!((w.p_value - 0.06818193989073995).abs() < 1e-9);
        assert!(welch_t_test(&[1.0], &[1.0, 2.0]).p_value.is_nan());
        assert_eq!(welch_t_test(&[1.0, 1.0], &[2.0, 2.0]).p_value, 0.0);
    }

    #[test]
    fn holm_steps_down_and_keeps_order() {
        // By hand: sorted 0.01, 0.02, 0.04 -> 3*0.01, max(0.03, 2*0.02), max(0.04, 1*0.04).
        let adj = holm_adjust(&[0.04, 0.01, f64::NAN, 0.02]);
        assert!((adj[1] - 0.03).abs() < 1e-12);
        assert!((adj[3] - 0.04).abs() < 1e-12);
        assert!((adj[0] - 0.04).abs() < 1e-12);
        assert!(adj[2].is_nan());
        assert_eq!(holm_adjust(&[0.6, 0.7]), vec![1.0, 1.0]);
    }

    #[test]
    fn quantile_interpolates_linearly_like_numpy() {
        // numpy.quantile([1, 2, 4, 10], 0.95) = 9.1
        assert!((quantile(&[4.0, 1.0, 10.0, 2.0], 0.95) - 9.1).abs() < 1e-12);
        assert_eq!(quantile(&[3.0, f64::NAN], 0.95), 3.0);
        assert_eq!(quantile(&[1.0, f64::INFINITY, f64::INFINITY], 0.9), f64::INFINITY);
        assert!(quantile(&[], 0.5).is_nan());
        assert!(quantile(&[1.0], 1.5).is_nan());
    }
}
