//! The multi-task performance change Δm against single-task baselines, in medmtl's and
//! the published conventions.

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
