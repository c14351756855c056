//! Regression metrics (scikit-learn definitions).

/// Mean absolute error.
pub fn mae(targets: &[f32], predicted: &[f32]) -> f64 {
    mean(targets.iter().zip(predicted).map(|(&t, &p)| (t as f64 - p as f64).abs()), targets.len())
}

/// Mean squared error.
pub fn mse(targets: &[f32], predicted: &[f32]) -> f64 {
    mean(targets.iter().zip(predicted).map(|(&t, &p)| (t as f64 - p as f64).powi(2)), targets.len())
}

/// Root mean squared error.
pub fn rmse(targets: &[f32], predicted: &[f32]) -> f64 {
    mean(targets.iter().zip(predicted).map(|(&t, &p)| (t as f64 - p as f64).powi(2)), targets.len()).sqrt()
}

/// Coefficient of determination `1 - SS_res / SS_tot`; NaN when the targets are constant
/// (scikit-learn returns 0 or 1 there by convention; a constant reference has no variance
/// to explain, so medmtl reports it as undefined).
pub fn r2(targets: &[f32], predicted: &[f32]) -> f64 {
    let n = targets.len();
    let m = mean(targets.iter().map(|&t| t as f64), n);
    let ss_tot: f64 = targets.iter().map(|&t| (t as f64 - m).powi(2)).sum();
    let ss_res: f64 = targets.iter().zip(predicted).map(|(&t, &p)| (t as f64 - p as f64).powi(2)).sum();
    if ss_tot == 0.0 {
        f64::NAN
    } else {
        1.0 - ss_res / ss_tot
    }
}

/// Each sample's share of a pooled R² over all its values, `[SSE, Σy, Σy², count]` for
/// consecutive samples of `per_sample` values: sums of these over any subset give that
/// subset's pooled R² without the values themselves (paired bootstrap tests resample
/// 10,000 subsets; packed results keep only these terms of reconstructed images).
pub fn pooled_r2_terms(targets: &[f32], predicted: &[f32], per_sample: usize) -> Vec<[f64; 4]> {
    targets
        .chunks(per_sample.max(1))
        .zip(predicted.chunks(per_sample.max(1)))
        .map(|(t, q)| {
            let sse = mse(t, q) * t.len() as f64;
            let (s, s2) = t.iter().fold((0.0, 0.0), |(a, b), &v| (a + v as f64, b + (v as f64).powi(2)));
            [sse, s, s2, t.len() as f64]
        })
        .collect()
}

fn mean(values: impl Iterator<Item = f64>, n: usize) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        values.sum::<f64>() / n as f64
    }
}
