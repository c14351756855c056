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

fn mean(values: impl Iterator<Item = f64>, n: usize) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        values.sum::<f64>() / n as f64
    }
}
