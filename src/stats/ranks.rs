//! Ranks with ties, Kendall's τ-b and Spearman's ρ rank correlations.

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

/// Spearman's ρ, as `scipy.stats.spearmanr`: Pearson's correlation of the average ranks
/// (ties share their mean rank). NaN for fewer than 2 pairs, mismatched lengths, a NaN
/// value or a constant argument.
pub fn spearman_rho(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() || a.len() < 2 || a.iter().chain(b).any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let (ra, rb) = (ranks(a, false), ranks(b, false));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    sab / (saa * sbb).sqrt()
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
