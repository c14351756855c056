//! Statistics over seeds: the summaries every report table uses.

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
    let std = if n > 1 {
        (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    Summary { mean, std, n }
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
}
