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
            if denom == 0 { 0.0 } else { 2.0 * tp[c] as f64 / denom as f64 }
        })
        .sum();
    total / present.len() as f64
}

/// Multi-label ACC and AUC as MedMNIST's evaluator computes them for ChestMNIST: per label,
/// accuracy at `score > 0.5` and binary AUROC, each averaged over labels (labels whose AUROC
/// is undefined are left out of the AUC mean).
pub fn multilabel_acc_auc(targets: &[u8], scores: &[f32], labels: usize) -> (f64, f64) {
    let n = targets.len() / labels.max(1);
    let (mut acc, mut auc, mut defined) = (0.0, 0.0, 0);
    for l in 0..labels {
        let t: Vec<u32> = (0..n).map(|i| targets[i * labels + l] as u32).collect();
        let s: Vec<f32> = (0..n).map(|i| scores[i * labels + l]).collect();
        acc += accuracy(&t, &binary_predictions(&s));
        if let Some(a) = binary_auc(&t, &s) {
            auc += a;
            defined += 1;
        }
    }
    let auc = if defined > 0 { auc / defined as f64 } else { f64::NAN };
    (acc / labels.max(1) as f64, auc)
}
