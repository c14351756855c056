//! Aligned-MTL (Senushkin, Patakin, Kuznetsov & Konushin, "Independent component alignment
//! for multi-task learning", CVPR 2023).

use super::gram::GramWeighting;
use super::{solvers, Context, Family, Method, Weighting};
use crate::hyper::{self, NoParams, ParamTable};
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "aligned-mtl",
    title: "Aligned-MTL",
    citation: "Senushkin, Patakin, Kuznetsov & Konushin, Independent component alignment for multi-task learning, CVPR 2023",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    hyper::parse::<NoParams>("weighting.aligned-mtl", table)?;
    Ok(Box::new(AlignedMtl::weighting(context.tasks)))
}

/// Makes the linear system of task gradients well-conditioned. With
/// `G G^T = V diag(l) V^T`, `B = sqrt(l_min) V diag(1/sqrt(l)) V^T` aligns the gradients (the
/// rows of `B G` are orthogonal with equal norms sqrt(l_min)); the update is
/// `sum_t alpha_t g_t` with `alpha = B 1` (column sums, as the reference implementation).
/// Directions with eigenvalues below numerical tolerance are dropped.
pub struct AlignedMtl;

impl AlignedMtl {
    /// Aligned-MTL over `tasks` tasks, as a Gram-matrix weighting.
    pub fn weighting(tasks: usize) -> GramWeighting {
        GramWeighting::new(tasks, Self::weights_from_gram)
    }

    /// `alpha = B 1`, the column sums of the alignment matrix.
    pub fn weights_from_gram(gram: &[Vec<f64>]) -> Vec<f64> {
        let b = Self::alignment(gram);
        let t = b.len();
        (0..t).map(|j| (0..t).map(|i| b[i][j]).sum()).collect()
    }

    /// The alignment matrix `B` for a Gram matrix (exposed for tests).
    pub fn alignment(gram: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let t = gram.len();
        let (values, vectors) = solvers::symmetric_eigen(gram);
        let max = values.iter().copied().fold(0.0f64, f64::max);
        let tol = max * t as f64 * f32::EPSILON as f64;
        let kept: Vec<usize> = (0..t).filter(|&k| values[k] > tol).collect();
        let Some(l_min) = kept.iter().map(|&k| values[k]).reduce(f64::min) else {
            return vec![vec![0.0; t]; t];
        };
        (0..t)
            .map(|i| {
                (0..t).map(|j| kept.iter().map(|&k| vectors[i][k] * vectors[j][k] / values[k].sqrt()).sum::<f64>() * l_min.sqrt()).collect()
            })
            .collect()
    }
}
