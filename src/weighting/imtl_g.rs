//! IMTL-G, the gradient half of impartial multi-task learning (Liu, Li, Kuang, Xue, Chen,
//! Yang, Liao & Zhang, "Towards impartial multi-task learning", ICLR 2021).

use super::gram::GramWeighting;
use super::{solvers, Context, Family, Method, Weighting};
use crate::hyper::{self, NoParams, ParamTable};
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "imtl-g",
    title: "IMTL-G",
    citation: "Liu, Li, Kuang, Xue, Chen, Yang, Liao & Zhang, Towards impartial multi-task learning, ICLR 2021",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    hyper::parse::<NoParams>("weighting.imtl-g", table)?;
    Ok(Box::new(ImtlG::weighting(context.tasks)))
}

/// Closed-form weights summing to 1 such that the combined gradient has the same projection
/// onto every task's unit gradient. (LibMTL's `IMTL` also learns loss scales, IMTL-L;
/// medmtl's is the gradient part.)
pub struct ImtlG;

impl ImtlG {
    /// IMTL-G over `tasks` tasks, as a Gram-matrix weighting.
    pub fn weighting(tasks: usize) -> GramWeighting {
        GramWeighting::new(tasks, Self::weights_from_gram)
    }

    /// Weights from the Gram matrix: `alpha_{2..T} = g_1 U^T (D U^T)^-1`, `alpha_1 = 1 - sum`,
    /// with rows `D_t = g_1 - g_t`, `U_t = u_1 - u_t`, `u = g / |g|`.
    pub fn weights_from_gram(gram: &[Vec<f64>]) -> Vec<f64> {
        let t = gram.len();
        if t == 1 {
            return vec![1.0];
        }
        let n: Vec<f64> = (0..t).map(|i| gram[i][i].sqrt().max(1e-20)).collect();
        // (g_a . u_b) = G_ab / n_b
        let gu = |a: usize, b: usize| gram[a][b] / n[b];
        let rhs: Vec<f64> = (1..t).map(|b| gu(0, 0) - gu(0, b)).collect();
        // DU^T[a][b] = (g_1 - g_a) . (u_1 - u_b)
        let du: Vec<Vec<f64>> = (1..t).map(|a| (1..t).map(|b| gu(0, 0) - gu(0, b) - gu(a, 0) + gu(a, b)).collect()).collect();
        // alpha' (D U^T) = rhs  <=>  (D U^T)^T alpha'^T = rhs^T
        let du_t: Vec<Vec<f64>> = (0..t - 1).map(|i| (0..t - 1).map(|j| du[j][i]).collect()).collect();
        match solvers::solve(&du_t, &rhs) {
            Some(rest) => std::iter::once(1.0 - rest.iter().sum::<f64>()).chain(rest).collect(),
            None => vec![1.0 / t as f64; t],
        }
    }
}
