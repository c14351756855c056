//! Classification metrics with MedMNIST's evaluator semantics (`medmnist/evaluator.py`)
//! and scikit-learn's definitions, which the tests check against committed reference values.
//!
//! Scores are probabilities: for binary tasks the positive-class probability, otherwise one
//! probability per class (row-major `n x classes`).

/// Fraction of correct predictions. Binary: positive when `score > 0.5` (MedMNIST's rule);
/// multi-class: `argmax`, the first maximum on ties (as numpy).
pub fn accuracy(targets: &[u32], predicted: &[u32]) -> f64 {
    if targets.is_empty() {
        return f64::NAN;
    }
    let correct = targets.iter().zip(predicted).filter(|(t, p)| t == p).count();
    correct as f64 / targets.len() as f64
}

/// Predicted classes from binary positive-class probabilities.
pub fn binary_predictions(scores: &[f32]) -> Vec<u32> {
    scores.iter().map(|&s| (s > 0.5) as u32).collect()
}

/// Predicted classes (argmax, first maximum on ties) from `n x classes` probabilities.
pub fn argmax_predictions(scores: &[f32], classes: usize) -> Vec<u32> {
    scores
        .chunks(classes)
        .map(|row| {
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            best as u32
        })
        .collect()
}

/// Area under the ROC curve of a binary problem, via the Mann-Whitney U statistic with
/// mid-ranks for ties (identical to scikit-learn's `roc_auc_score`). `None` when the
/// targets hold only one class, where AUROC is undefined.
pub fn roc_auc(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let mid_rank = (i + j + 2) as f64 / 2.0;
        rank_sum_pos += order[i..=j].iter().filter(|&&k| positive[k]).count() as f64 * mid_rank;
        i = j + 1;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// AUROC of a binary task from positive-class probabilities.
pub fn binary_auc(targets: &[u32], scores: &[f32]) -> Option<f64> {
    let positive: Vec<bool> = targets.iter().map(|&t| t == 1).collect();
    let scores: Vec<f64> = scores.iter().map(|&s| s as f64).collect();
    roc_auc(&positive, &scores)
}

/// Macro one-vs-rest AUROC (MedMNIST's multi-class AUC; scikit-learn's
/// `roc_auc_score(multi_class="ovr", average="macro")`). Classes absent from the targets
/// have no defined AUROC; they are left out of the mean and counted in the second value.
pub fn ovr_macro_auc(targets: &[u32], scores: &[f32], classes: usize) -> (Option<f64>, usize) {
    let mut sum = 0.0;
    let mut defined = 0;
    for c in 0..classes {
        let positive: Vec<bool> = targets.iter().map(|&t| t as usize == c).collect();
        let class_scores: Vec<f64> = scores.chunks(classes).map(|row| row[c] as f64).collect();
        if let Some(auc) = roc_auc(&positive, &class_scores) {
            sum += auc;
            defined += 1;
        }
    }
    let undefined = classes - defined;
    ((defined > 0).then(|| sum / defined as f64), undefined)
}

/// Macro-averaged F1 over the classes that occur in the targets or the predictions
/// (scikit-learn's default label set), with F1 = 0 where precision and recall are both
/// undefined (`zero_division=0`).
pub fn macro_f1(targets: &[u32], predicted: &[u32], classes: usize) -> f64 {
    let mut tp = vec![0usize; classes];
    let mut fp = vec![0usize; classes];
    let mut fneg = vec![0usize; classes];
    for (&t, &p) in targets.iter().zip(predicted) {
        if t == p {
            tp[t as usize] += 1;
        } else {
            fp[p as usize] += 1;
            fneg[t as usize] += 1;
        }
    }
    let present: Vec<usize> = (0..classes).filter(|&c| tp[c] + fp[c] + fneg[c] > 0).collect();
    if present.is_empty() {
        return f64::NAN;
    }
    let total: f64 = present
        .iter()
        .map(|&c| {
            let denom = 2 * tp[c] + fp[c] + fneg[c];
            if denom == 0 {
                0.0
            } else {
                2.0 * tp[c] as f64 / denom as f64
            }
        })
        .sum();
    total / present.len() as f64
}

// ---------------------------------------------------------------------------------------
// Counting metrics from hard predictions.
//
// Conventions shared by every function below: inputs of different lengths, empty inputs
// and labels outside `0..classes` give NaN (there is no meaningful value, and a panic would
// abort a whole benchmark run over one bad prediction file).
// ---------------------------------------------------------------------------------------

/// Confusion matrix `counts[t][p]`, or `None` where the inputs cannot form one.
fn confusion(targets: &[u32], predicted: &[u32], classes: usize) -> Option<Vec<Vec<usize>>> {
    if targets.is_empty() || targets.len() != predicted.len() || classes == 0 {
        return None;
    }
    let mut counts = vec![vec![0usize; classes]; classes];
    for (&t, &p) in targets.iter().zip(predicted) {
        let (t, p) = (t as usize, p as usize);
        if t >= classes || p >= classes {
            return None;
        }
        counts[t][p] += 1;
    }
    Some(counts)
}

/// Per-class recall (sensitivity) `TP_k / (TP_k + FN_k)`, `None` for a class with no
/// samples in the targets (its recall is undefined).
fn class_recalls(counts: &[Vec<usize>]) -> Vec<Option<f64>> {
    counts
        .iter()
        .enumerate()
        .map(|(k, row)| {
            let support: usize = row.iter().sum();
            (support > 0).then(|| row[k] as f64 / support as f64)
        })
        .collect()
}

/// Per-class specificity, the recall of "not k": `TN_k / (TN_k + FP_k)`, `None` where every
/// sample belongs to class k (no negatives).
fn class_specificities(counts: &[Vec<usize>]) -> Vec<Option<f64>> {
    let total: usize = counts.iter().flatten().sum();
    (0..counts.len())
        .map(|k| {
            let support: usize = counts[k].iter().sum();
            let negatives = total - support;
            let predicted_k: usize = counts.iter().map(|row| row[k]).sum();
            let false_pos = predicted_k - counts[k][k];
            (negatives > 0).then(|| (negatives - false_pos) as f64 / negatives as f64)
        })
        .collect()
}

/// Mean of the defined values; NaN when none is defined.
fn mean_defined(values: &[Option<f64>]) -> f64 {
    let defined: Vec<f64> = values.iter().flatten().copied().collect();
    if defined.is_empty() {
        f64::NAN
    } else {
        defined.iter().sum::<f64>() / defined.len() as f64
    }
}

/// Balanced accuracy: mean recall over the classes that occur in the targets (scikit-learn's
/// `balanced_accuracy_score`, which also drops classes without true samples). Robust to
/// class imbalance where plain accuracy is not (Metrics Reloaded recommends it for ImLC).
pub fn balanced_accuracy(targets: &[u32], predicted: &[u32], classes: usize) -> f64 {
    confusion(targets, predicted, classes).map_or(f64::NAN, |c| mean_defined(&class_recalls(&c)))
}

/// Sensitivity (recall, true-positive rate). Binary (`classes == 2`): recall of the positive
/// class 1, NaN without positives (MONAI's `ConfusionMatrixMetric` gives NaN on a zero
/// denominator; scikit-learn's `recall_score` would give 0 with a warning). Multi-class:
/// macro mean over the classes present in the targets, which equals balanced accuracy.
pub fn sensitivity(targets: &[u32], predicted: &[u32], classes: usize) -> f64 {
    let Some(c) = confusion(targets, predicted, classes) else { return f64::NAN };
    let recalls = class_recalls(&c);
    if classes == 2 {
        recalls[1].unwrap_or(f64::NAN)
    } else {
        mean_defined(&recalls)
    }
}

/// Specificity (true-negative rate). Binary: recall of class 0, NaN without negatives.
/// Multi-class: macro mean over classes k of the recall of "not k" (one-vs-rest), skipping
/// classes that have no negatives (every sample is of class k).
pub fn specificity(targets: &[u32], predicted: &[u32], classes: usize) -> f64 {
    let Some(c) = confusion(targets, predicted, classes) else { return f64::NAN };
    let specs = class_specificities(&c);
    if classes == 2 {
        specs[1].unwrap_or(f64::NAN)
    } else {
        mean_defined(&specs)
    }
}

/// Matthews correlation coefficient, multi-class form (Gorodkin's R_K), exactly as
/// scikit-learn's `matthews_corrcoef`: `(c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²))`
/// with `c` correct, `s` samples, `t_k`/`p_k` true/predicted counts of class k.
/// When the targets or the predictions hold a single class the denominator is 0 and the
/// value is 0 (scikit-learn's convention, kept on purpose: a model that collapsed to one
/// class must score "no skill", not drop out of a mean as NaN would). Empty input: NaN.
pub fn mcc(targets: &[u32], predicted: &[u32], classes: usize) -> f64 {
    let Some(c) = confusion(targets, predicted, classes) else { return f64::NAN };
    let s = targets.len() as f64;
    let t: Vec<f64> = c.iter().map(|row| row.iter().sum::<usize>() as f64).collect();
    let p: Vec<f64> = (0..classes).map(|k| c.iter().map(|row| row[k]).sum::<usize>() as f64).collect();
    let correct: f64 = (0..classes).map(|k| c[k][k] as f64).sum();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let cov_tp = correct * s - dot(&t, &p);
    let cov_pp = s * s - dot(&p, &p);
    let cov_tt = s * s - dot(&t, &t);
    if cov_pp * cov_tt == 0.0 {
        0.0
    } else {
        cov_tp / (cov_pp * cov_tt).sqrt()
    }
}

/// Disagreement weights of Cohen's kappa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KappaWeights {
    /// Unweighted: every disagreement costs 1.
    None,
    /// `|i - j|`: for ordinal grades, a near miss costs less.
    Linear,
    /// `(i - j)²`: the usual choice for ordinal grading (e.g. diabetic retinopathy).
    Quadratic,
}

/// Cohen's kappa `1 − Σ w·O / Σ w·E` with `O` the confusion matrix and `E` the outer product
/// of its marginals over `n` (scikit-learn's `cohen_kappa_score`). Weights use the class
/// index distance over all of `0..classes` (scikit-learn with `labels=range(classes)`;
/// its default re-indexes the labels that occur, which differs for weighted kappa only when
/// a class occurs in neither argument). NaN where undefined (`Σ w·E = 0`, e.g. both raters
/// constant on the same class), as scikit-learn's default `replace_undefined_by=np.nan`.
pub fn cohen_kappa(targets: &[u32], predicted: &[u32], classes: usize, weights: KappaWeights) -> f64 {
    let Some(c) = confusion(targets, predicted, classes) else { return f64::NAN };
    let n = targets.len() as f64;
    let rows: Vec<f64> = c.iter().map(|row| row.iter().sum::<usize>() as f64).collect();
    let cols: Vec<f64> = (0..classes).map(|k| c.iter().map(|row| row[k]).sum::<usize>() as f64).collect();
    let weight = |i: usize, j: usize| {
        let d = i.abs_diff(j) as f64;
        match weights {
            KappaWeights::None => (i != j) as u8 as f64,
            KappaWeights::Linear => d,
            KappaWeights::Quadratic => d * d,
        }
    };
    let (mut observed, mut expected) = (0.0, 0.0);
    for i in 0..classes {
        for j in 0..classes {
            observed += weight(i, j) * c[i][j] as f64;
            expected += weight(i, j) * rows[i] * cols[j] / n;
        }
    }
    if expected == 0.0 {
        f64::NAN
    } else {
        1.0 - observed / expected
    }
}

/// Mean absolute error between predicted and true grades (ordinal tasks, e.g. RetinaMNIST),
/// in grade units. Empty or mismatched input: NaN.
pub fn grade_mae(targets: &[u32], predicted: &[u32]) -> f64 {
    if targets.is_empty() || targets.len() != predicted.len() {
        return f64::NAN;
    }
    let total: u64 = targets.iter().zip(predicted).map(|(&t, &p)| t.abs_diff(p) as u64).sum();
    total as f64 / targets.len() as f64
}

// ---------------------------------------------------------------------------------------
// Ranking and probabilistic metrics from scores.
// ---------------------------------------------------------------------------------------

/// Average precision of a binary ranking, scikit-learn's step-wise (non-interpolated)
/// definition `AP = Σ_n (R_n − R_{n−1}) P_n` over the distinct score thresholds in decreasing
/// order; tied scores form one threshold (the tie handling the pitfalls paper warns differs
/// between implementations). `None` without positives (recall undefined; scikit-learn warns
/// and returns a meaningless value there) or when a score is NaN (no ranking exists).
pub fn average_precision(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    if n_pos == 0 || positive.len() != scores.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut seen, mut ap, mut last_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        tp += order[i..=j].iter().filter(|&&k| positive[k]).count();
        seen += j - i + 1;
        let recall = tp as f64 / n_pos as f64;
        ap += (recall - last_recall) * (tp as f64 / seen as f64);
        last_recall = recall;
        i = j + 1;
    }
    Some(ap)
}

/// Average precision of a binary task from positive-class probabilities.
pub fn binary_average_precision(targets: &[u32], scores: &[f32]) -> Option<f64> {
    let positive: Vec<bool> = targets.iter().map(|&t| t == 1).collect();
    let scores: Vec<f64> = scores.iter().map(|&s| s as f64).collect();
    average_precision(&positive, &scores)
}

/// Macro one-vs-rest average precision (scikit-learn's `average_precision_score` on
/// binarised labels, `average="macro"`). Classes absent from the targets are left out of
/// the mean and counted in the second value, as in [`ovr_macro_auc`].
pub fn ovr_macro_average_precision(targets: &[u32], scores: &[f32], classes: usize) -> (Option<f64>, usize) {
    if classes == 0 || scores.len() != targets.len() * classes {
        return (None, classes);
    }
    let per_class: Vec<Option<f64>> = (0..classes)
        .map(|c| {
            let positive: Vec<bool> = targets.iter().map(|&t| t as usize == c).collect();
            let class_scores: Vec<f64> = scores.chunks(classes).map(|row| row[c] as f64).collect();
            average_precision(&positive, &class_scores)
        })
        .collect();
    let undefined = per_class.iter().filter(|v| v.is_none()).count();
    let mean = mean_defined(&per_class);
    (mean.is_finite().then_some(mean), undefined)
}

/// Class-probability rows of `n` samples: `[1 − p, p]` for binary tasks given as one
/// positive-class probability per sample (`classes == 2`, `scores.len() == n`), otherwise
/// `n x classes` row-major. `None` when the length fits neither layout.
fn probability_rows(scores: &[f32], n: usize, classes: usize) -> Option<Vec<Vec<f64>>> {
    if n == 0 || classes < 2 {
        return None;
    }
    if classes == 2 && scores.len() == n {
        return Some(scores.iter().map(|&p| vec![1.0 - p as f64, p as f64]).collect());
    }
    (scores.len() == n * classes).then(|| scores.chunks(classes).map(|row| row.iter().map(|&p| p as f64).collect()).collect())
}

/// Number of equal-width confidence bins of [`ece`] (the torchmetrics / Guo et al. default).
pub const ECE_BINS: usize = 15;

/// Expected calibration error, top-label, 15 equal-width bins `((m−1)/15, m/15]`:
/// `Σ_m |B_m|/n · |acc(B_m) − conf(B_m)|` with `conf` the largest class probability and `acc`
/// whether its class (first maximum on ties, as [`argmax_predictions`]) is the target. Empty
/// bins contribute 0. Binary tasks use the probabilities `[1 − p, p]`, so a binary sample's
/// confidence is `max(p, 1 − p)` and its prediction is `p > 0.5`, as [`binary_predictions`].
/// Scores: one positive-class probability per sample for binary tasks, else `n x classes`.
/// A confidence outside (0, 1] falls in no bin and contributes 0 (as the usual
/// `lo < conf <= hi` masks); NaN scores, a mismatched length or empty input give NaN.
/// Biased upward on small test sets (pitfalls paper, Fig. 5b): report `n` beside it.
pub fn ece(targets: &[u32], scores: &[f32], classes: usize) -> f64 {
    let Some(rows) = probability_rows(scores, targets.len(), classes) else { return f64::NAN };
    if rows.iter().flatten().any(|p| p.is_nan()) {
        return f64::NAN;
    }
    // Bin edges as numpy's linspace(0, 1, 16): i * (1/15), last edge exactly 1.
    let step = 1.0 / ECE_BINS as f64;
    let edge = |i: usize| if i == ECE_BINS { 1.0 } else { i as f64 * step };
    let mut count = [0usize; ECE_BINS];
    let mut conf_sum = [0.0f64; ECE_BINS];
    let mut correct = [0usize; ECE_BINS];
    for (row, &t) in rows.iter().zip(targets) {
        let mut best = 0;
        for (c, &v) in row.iter().enumerate() {
            if v > row[best] {
                best = c;
            }
        }
        let conf = row[best];
        if let Some(m) = (0..ECE_BINS).find(|&m| conf > edge(m) && conf <= edge(m + 1)) {
            count[m] += 1;
            conf_sum[m] += conf;
            correct[m] += (best == t as usize) as usize;
        }
    }
    let n = targets.len() as f64;
    (0..ECE_BINS)
        .filter(|&m| count[m] > 0)
        .map(|m| {
            let k = count[m] as f64;
            (k / n) * (correct[m] as f64 / k - conf_sum[m] / k).abs()
        })
        .sum()
}

/// Brier score. Binary (one positive-class probability per sample): `mean (p − y)²` as
/// scikit-learn's `brier_score_loss`, in [0, 1]. Multi-class: mean over samples of
/// `Σ_c (p_c − 1[c = y])²` (Brier's original form, in [0, 2]; on a binary task it is twice
/// the binary score, which is why the binary form is kept for binary tasks). NaN on empty or
/// mismatched input or on a target outside `0..classes`.
pub fn brier(targets: &[u32], scores: &[f32], classes: usize) -> f64 {
    let n = targets.len();
    if targets.iter().any(|&t| t as usize >= classes) {
        return f64::NAN;
    }
    if classes == 2 && scores.len() == n && n > 0 {
        let total: f64 = targets.iter().zip(scores).map(|(&t, &p)| (p as f64 - t as f64).powi(2)).sum();
        return total / n as f64;
    }
    let Some(rows) = probability_rows(scores, n, classes) else { return f64::NAN };
    let squared_error =
        |row: &Vec<f64>, t: u32| -> f64 { row.iter().enumerate().map(|(c, &p)| (p - (c == t as usize) as u8 as f64).powi(2)).sum() };
    let total: f64 = rows.iter().zip(targets).map(|(row, &t)| squared_error(row, t)).sum();
    total / n as f64
}

// ---------------------------------------------------------------------------------------
// Multi-label tasks (ChestMNIST): `n x labels` row-major 0/1 targets and probabilities.
// ---------------------------------------------------------------------------------------

/// Mean over labels of each label's accuracy at threshold 0.5 (`score > 0.5`), MedMNIST's
/// multi-label `getACC`. As every label has all `n` samples, this equals the fraction of
/// correct (sample, label) decisions. NaN on empty or mismatched input.
pub fn multilabel_mean_accuracy(targets: &[u32], scores: &[f32], labels: usize) -> f64 {
    if targets.is_empty() || labels == 0 || targets.len() != scores.len() || !targets.len().is_multiple_of(labels) {
        return f64::NAN;
    }
    let correct = targets.iter().zip(scores).filter(|(&t, &s)| (t == 1) == (s > 0.5)).count();
    correct as f64 / targets.len() as f64
}

/// Mean over labels of each label's AUROC, MedMNIST's multi-label `getAUC`. A label whose
/// targets hold one value has no AUROC: MedMNIST's evaluator (via scikit-learn) would raise
/// there; medmtl leaves it out of the mean and counts it in the second value.
pub fn multilabel_mean_auc(targets: &[u32], scores: &[f32], labels: usize) -> (Option<f64>, usize) {
    if targets.is_empty() || labels == 0 || targets.len() != scores.len() || !targets.len().is_multiple_of(labels) {
        return (None, labels);
    }
    let per_label: Vec<Option<f64>> = (0..labels)
        .map(|l| {
            let positive: Vec<bool> = targets.chunks(labels).map(|row| row[l] == 1).collect();
            let label_scores: Vec<f64> = scores.chunks(labels).map(|row| row[l] as f64).collect();
            roc_auc(&positive, &label_scores)
        })
        .collect();
    let undefined = per_label.iter().filter(|v| v.is_none()).count();
    let mean = mean_defined(&per_label);
    (mean.is_finite().then_some(mean), undefined)
}
