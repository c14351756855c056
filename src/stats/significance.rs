//! Seed-level statistics: Student's t distribution and interval, Welch's test, Holm's
//! correction.

use super::summary::{summarize, Summary};

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
    summary_ci95(&summarize(values))
}

/// [`mean_ci95`] of the values a summary describes.
pub fn summary_ci95(s: &Summary) -> (f64, f64) {
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
    /// The t statistic `difference / sqrt(s_a²/n_a + s_b²/n_b)`; infinite with zero variance on both sides, NaN with fewer than two values a side.
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
