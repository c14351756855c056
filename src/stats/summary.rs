//! Summaries over seeds: mean, sample standard deviation, quantiles.

/// Mean, sample standard deviation (n - 1) and count of the finite values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Mean of the finite values; NaN when there are none.
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for one value, NaN for none.
    pub std: f64,
    /// Number of finite values.
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
    fn quantile_interpolates_linearly_like_numpy() {
        // numpy.quantile([1, 2, 4, 10], 0.95) = 9.1
        assert!((quantile(&[4.0, 1.0, 10.0, 2.0], 0.95) - 9.1).abs() < 1e-12);
        assert_eq!(quantile(&[3.0, f64::NAN], 0.95), 3.0);
        assert_eq!(quantile(&[1.0, f64::INFINITY, f64::INFINITY], 0.9), f64::INFINITY);
        assert!(quantile(&[], 0.5).is_nan());
        assert!(quantile(&[1.0], 1.5).is_nan());
    }
}
