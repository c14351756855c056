//! FairGrad (Ban & Ji, "Fair resource allocation in multi-task learning", ICML 2024).

use serde::{Deserialize, Serialize};

use super::gram::GramWeighting;
use super::solvers::mat_vec;
use super::{Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "fairgrad",
    title: "FairGrad",
    citation: "Ban & Ji, Fair resource allocation in multi-task learning, ICML 2024",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<FairGradParams>,
};

/// FairGrad's hyper-parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FairGradParams {
    /// The fairness exponent `alpha` of alpha-fair utility: 1 is proportional fairness,
    /// larger values favour the worst-served task more (LibMTL's default 1.0).
    pub alpha: f64,
}

impl Default for FairGradParams {
    fn default() -> Self {
        FairGradParams { alpha: 1.0 }
    }
}

impl HyperParams for FairGradParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.alpha > 0.0 && self.alpha.is_finite(), "alpha", "> 0", self.alpha)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: FairGradParams = hyper::parse("weighting.fairgrad", table)?;
    Ok(Box::new(FairGrad::weighting(context.tasks, p.alpha)))
}

/// The update `d = G^T w` whose per-task utilities `g_t . d` are alpha-fair: the weights
/// solve `(G G^T w)_t = w_t^(-1/alpha)` with `w > 0` (not normalised), and every parameter
/// takes the gradient of `sum_t w_t L_t`, as in LibMTL.
pub struct FairGrad;

impl FairGrad {
    /// FairGrad with exponent `alpha` as a Gram-matrix weighting.
    pub fn weighting(tasks: usize, alpha: f64) -> GramWeighting {
        GramWeighting::new(tasks, move |gram: &[Vec<f64>]| Self::weights_from_gram(gram, alpha)).weighting_heads()
    }

    /// The weights for Gram matrix `gram`.
    ///
    /// The system is the stationarity condition of the strictly convex
    /// `phi(w) = w^T A w / 2 - sum_t u(w_t)` with `u'(w) = w^(-1/alpha)`, so damped Newton
    /// on `phi` (backtracking keeps `w > 0` and `phi` decreasing) finds its unique root
    /// where LibMTL calls a bounded least-squares solver. A small ridge on the diagonal
    /// keeps a task with a zero gradient from sending its weight to infinity (its weight
    /// then multiplies a zero gradient).
    pub fn weights_from_gram(gram: &[Vec<f64>], alpha: f64) -> Vec<f64> {
        let t = gram.len();
        let scale = (0..t).map(|i| gram[i][i]).fold(0.0, f64::max).max(1e-30);
        let a: Vec<Vec<f64>> = (0..t).map(|i| (0..t).map(|j| gram[i][j] + if i == j { 1e-9 * scale } else { 0.0 }).collect()).collect();
        let p = 1.0 / alpha;
        let utility = |w: f64| if (p - 1.0).abs() < 1e-12 { w.ln() } else { w.powf(1.0 - p) / (1.0 - p) };
        let phi = |w: &[f64]| {
            let aw = mat_vec(&a, w);
            0.5 * w.iter().zip(&aw).map(|(x, y)| x * y).sum::<f64>() - w.iter().map(|&x| utility(x)).sum::<f64>()
        };
        // The root for orthogonal gradients: A_tt w_t = w_t^(-p).
        let mut w: Vec<f64> = (0..t).map(|i| a[i][i].powf(-1.0 / (1.0 + p))).collect();
        for _ in 0..100 {
            let aw = mat_vec(&a, &w);
            let grad: Vec<f64> = (0..t).map(|i| aw[i] - w[i].powf(-p)).collect();
            let residual = (0..t).map(|i| (grad[i] / w[i].powf(-p)).abs()).fold(0.0, f64::max);
            if residual < 1e-12 {
                break;
            }
            let hessian: Vec<Vec<f64>> =
                (0..t).map(|i| (0..t).map(|j| a[i][j] + if i == j { p * w[i].powf(-p - 1.0) } else { 0.0 }).collect()).collect();
            let Some(step) = super::solvers::solve(&hessian, &grad) else { break };
            let current = phi(&w);
            let mut s = 1.0;
            let mut moved = false;
            for _ in 0..60 {
                let next: Vec<f64> = w.iter().zip(&step).map(|(x, d)| x - s * d).collect();
                if next.iter().all(|&x| x > 0.0) && phi(&next) <= current {
                    w = next;
                    moved = true;
                    break;
                }
                s *= 0.5;
            }
            if !moved {
                break;
            }
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gram_of(rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
        rows.iter().map(|a| rows.iter().map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum()).collect()).collect()
    }

    /// The property that defines alpha = 1 (proportional fairness) on orthogonal gradients:
    /// `w_t = 1 / |g_t|`, so the update has the same projection (1) on every task's unit
    /// gradient, however different their norms.
    #[test]
    fn alpha_one_on_orthogonal_gradients_gives_equal_projections() {
        let rows = vec![vec![3.0, 0.0, 0.0], vec![0.0, 0.5, 0.0], vec![0.0, 0.0, 20.0]];
        let w = FairGrad::weights_from_gram(&gram_of(&rows), 1.0);
        for (i, row) in rows.iter().enumerate() {
            let n = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!((w[i] - 1.0 / n).abs() < 1e-6 / n, "{w:?}");
            let d: Vec<f64> = (0..3).map(|k| rows.iter().zip(&w).map(|(r, wi)| r[k] * wi).sum()).collect();
            let projection = d.iter().zip(row).map(|(a, b)| a * b).sum::<f64>() / n;
            assert!((projection - 1.0).abs() < 1e-6, "task {i}: {projection}");
        }
    }

    /// On correlated gradients the weights solve the fairness system `(A w)_t = w_t^(-1/alpha)`
    /// for several exponents; larger alpha moves weight to the task the update serves worst.
    #[test]
    fn weights_solve_the_fairness_system() {
        let rows = vec![vec![1.0, 0.2, -0.5, 0.3], vec![-0.4, 1.5, 0.1, 0.0], vec![0.6, 0.6, 0.6, -0.9]];
        let a = gram_of(&rows);
        for alpha in [0.5, 1.0, 2.0, 5.0] {
            let w = FairGrad::weights_from_gram(&a, alpha);
            let aw = mat_vec(&a, &w);
            for i in 0..3 {
                assert!(w[i] > 0.0);
                let rhs = w[i].powf(-1.0 / alpha);
                assert!((aw[i] - rhs).abs() < 1e-6 * rhs.max(1.0), "alpha {alpha}, task {i}: {} vs {rhs}", aw[i]);
            }
        }
        // Zero gradients do not break the solver.
        let w = FairGrad::weights_from_gram(&gram_of(&[vec![1.0, 0.0], vec![0.0, 0.0]]), 1.0);
        assert!(w.iter().all(|v| v.is_finite() && *v > 0.0), "{w:?}");
    }
}
