//! What training records about task relatedness and weighting, epoch by epoch: the cosine
//! of each task pair's gradients on the shared parameters and the ratio of their norms
//! (from the Gram matrix the gradient methods compute anyway, or from an extra backward
//! per task every few steps), and the task weights the method applied.
//!
//! LibMTL keeps the weights as `batch_weight`; gradient cosines and conflict (cosine < 0,
//! the case PCGrad and CAGrad act on) are how Yu et al. (2020) and Fifty et al. (2021)
//! measure whether tasks help or hinder each other.

use serde::{Deserialize, Serialize};

use crate::stats::quantile;

/// One task pair's gradient relatedness over the steps of an epoch where it was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairStats {
    /// First task (index).
    pub a: usize,
    /// Second task (index), `b > a`.
    pub b: usize,
    /// Mean cosine of the two tasks' gradients on the shared parameters.
    #[serde(with = "super::lossless::float")]
    pub cos_mean: f64,
    /// 10 % quantile of the cosine.
    #[serde(with = "super::lossless::float")]
    pub cos_q10: f64,
    /// Median cosine.
    #[serde(with = "super::lossless::float")]
    pub cos_q50: f64,
    /// 90 % quantile of the cosine.
    #[serde(with = "super::lossless::float")]
    pub cos_q90: f64,
    /// Fraction of the measured steps where the gradients conflict (cosine < 0).
    #[serde(with = "super::lossless::float")]
    pub conflict: f64,
    /// Median of `|g_a| / |g_b|`.
    #[serde(with = "super::lossless::float")]
    pub norm_ratio: f64,
    /// Steps measured.
    pub steps: usize,
    /// Mean lookahead affinity `Z(a→b)`: a step on a's gradient alone changes b's loss by
    /// this fraction (positive = lowers it); NaN where not measured.
    #[serde(default = "nan", with = "super::lossless::float")]
    pub affinity_ab: f64,
    /// Mean `Z(b→a)`.
    #[serde(default = "nan", with = "super::lossless::float")]
    pub affinity_ba: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// One task's weight over the steps of an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightStats {
    /// Mean weight.
    #[serde(with = "super::lossless::float")]
    pub mean: f64,
    /// Smallest weight.
    #[serde(with = "super::lossless::float")]
    pub min: f64,
    /// Largest weight.
    #[serde(with = "super::lossless::float")]
    pub max: f64,
}

/// Collects one epoch's measurements step by step.
#[derive(Debug, Clone)]
pub struct EpochProbe {
    tasks: usize,
    /// `cos[p]`, `ratio[p]`: measurements of pair p (pairs in (0,1), (0,2), ..., (1,2) order).
    cos: Vec<Vec<f64>>,
    ratio: Vec<Vec<f64>>,
    weights: Vec<Vec<f64>>,
    /// `affinity[i][j]`: the measured `Z(i→j)` of each probed step.
    affinity: Vec<Vec<Vec<f64>>>,
}

impl EpochProbe {
    /// An empty probe for `tasks` tasks.
    pub fn new(tasks: usize) -> Self {
        let pairs = tasks * tasks.saturating_sub(1) / 2;
        EpochProbe {
            tasks,
            cos: vec![Vec::new(); pairs],
            ratio: vec![Vec::new(); pairs],
            weights: vec![Vec::new(); tasks],
            affinity: vec![vec![Vec::new(); tasks]; tasks],
        }
    }

    /// Records a step's Gram matrix of per-task shared gradients (`G G^T`). Pairs where a
    /// gradient is zero have no direction and are not recorded.
    pub fn record_gram(&mut self, gram: &[Vec<f64>]) {
        let mut p = 0;
        for a in 0..self.tasks {
            for b in a + 1..self.tasks {
                let (na, nb) = (gram[a][a].max(0.0).sqrt(), gram[b][b].max(0.0).sqrt());
                if na > 0.0 && nb > 0.0 && na.is_finite() && nb.is_finite() {
                    self.cos[p].push((gram[a][b] / (na * nb)).clamp(-1.0, 1.0));
                    self.ratio[p].push(na / nb);
                }
                p += 1;
            }
        }
    }

    /// Records a step's lookahead affinities `z[i][j]` (non-finite values are skipped).
    pub fn record_affinity(&mut self, z: &[Vec<f64>]) {
        for (i, row) in z.iter().enumerate().take(self.tasks) {
            for (j, &v) in row.iter().enumerate().take(self.tasks) {
                if v.is_finite() {
                    self.affinity[i][j].push(v);
                }
            }
        }
    }

    /// Records a step's task weights.
    pub fn record_weights(&mut self, weights: &[f64]) {
        for (w, &v) in self.weights.iter_mut().zip(weights) {
            w.push(v);
        }
    }

    /// The epoch's pair statistics (pairs never measured are left out).
    pub fn pairs(&self) -> Vec<PairStats> {
        let mut out = Vec::new();
        let mut p = 0;
        for a in 0..self.tasks {
            for b in a + 1..self.tasks {
                let c = &self.cos[p];
                if !c.is_empty() {
                    out.push(PairStats {
                        a,
                        b,
                        cos_mean: c.iter().sum::<f64>() / c.len() as f64,
                        cos_q10: quantile(c, 0.1),
                        cos_q50: quantile(c, 0.5),
                        cos_q90: quantile(c, 0.9),
                        conflict: c.iter().filter(|&&v| v < 0.0).count() as f64 / c.len() as f64,
                        norm_ratio: quantile(&self.ratio[p], 0.5),
                        steps: c.len(),
                        affinity_ab: mean(&self.affinity[a][b]),
                        affinity_ba: mean(&self.affinity[b][a]),
                    });
                }
                p += 1;
            }
        }
        out
    }

    /// The epoch's weight statistics per task; empty when the method has no explicit weights.
    pub fn weights(&self) -> Vec<WeightStats> {
        if self.weights.iter().any(Vec::is_empty) {
            return Vec::new();
        }
        self.weights
            .iter()
            .map(|w| WeightStats {
                mean: w.iter().sum::<f64>() / w.len() as f64,
                min: w.iter().copied().fold(f64::INFINITY, f64::min),
                max: w.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            })
            .collect()
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gram(rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
        rows.iter().map(|a| rows.iter().map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum()).collect()).collect()
    }

    #[test]
    fn identical_opposite_and_orthogonal_gradients() {
        let mut probe = EpochProbe::new(3);
        // task 0 and 1 identical, task 2 the negation of task 0.
        probe.record_gram(&gram(&[vec![1.0, 2.0], vec![1.0, 2.0], vec![-1.0, -2.0]]));
        let pairs = probe.pairs();
        assert_eq!((pairs[0].a, pairs[0].b), (0, 1));
        assert!((pairs[0].cos_mean - 1.0).abs() < 1e-12 && pairs[0].conflict == 0.0 && (pairs[0].norm_ratio - 1.0).abs() < 1e-12);
        assert!((pairs[1].cos_mean + 1.0).abs() < 1e-12 && pairs[1].conflict == 1.0, "{:?}", pairs[1]);
        let mut orthogonal = EpochProbe::new(2);
        orthogonal.record_gram(&gram(&[vec![3.0, 0.0], vec![0.0, 1.5]]));
        let p = &orthogonal.pairs()[0];
        assert!(p.cos_mean.abs() < 1e-12 && p.conflict == 0.0 && (p.norm_ratio - 2.0).abs() < 1e-12, "{p:?}");
        let mut zero = EpochProbe::new(2);
        zero.record_gram(&gram(&[vec![0.0, 0.0], vec![1.0, 0.0]]));
        assert!(zero.pairs().is_empty(), "a zero gradient has no direction");
    }

    #[test]
    fn quantiles_and_conflict_fraction_over_steps() {
        let mut probe = EpochProbe::new(2);
        for c in [-0.5, 0.1, 0.2, 0.3, 0.9] {
            let s = (1.0f64 - c * c).sqrt();
            probe.record_gram(&gram(&[vec![1.0, 0.0], vec![c, s]]));
        }
        let p = &probe.pairs()[0];
        assert_eq!(p.steps, 5);
        assert!((p.conflict - 0.2).abs() < 1e-12);
        assert!((p.cos_q50 - 0.2).abs() < 1e-9 && (p.cos_mean - 0.2).abs() < 1e-9);
        probe.record_weights(&[1.0, 2.0]);
        probe.record_weights(&[3.0, 0.5]);
        let w = probe.weights();
        assert_eq!((w[0].mean, w[0].min, w[0].max), (2.0, 1.0, 3.0));
        assert_eq!((w[1].mean, w[1].min, w[1].max), (1.25, 0.5, 2.0));
    }
}
