//! Gradient-manipulation methods that edit the per-task gradients on the shared
//! parameters before summing them. All need one backward pass per task; task-specific
//! parameters keep their own (unweighted) gradients, as in LibMTL.

use candle_core::backprop::GradStore;
use candle_core::Tensor;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::gradients::{dot, norm, TaskGradients};
use super::{solvers, Weighting};
use crate::model::params::ParamStore;
use crate::Result;

/// Removes from `g` its component along `onto` (scaled by `coef`): `g -= coef * onto`.
fn axpy(g: &mut [f64], coef: f64, onto: &[f32]) {
    for (a, &b) in g.iter_mut().zip(onto) {
        *a -= coef * b as f64;
    }
}

fn to_f32(v: Vec<f64>) -> Vec<f32> {
    v.into_iter().map(|x| x as f32).collect()
}

/// PCGrad (Yu, Kumar, Gupta, Levine, Hausman & Finn, "Gradient surgery for multi-task
/// learning", NeurIPS 2020): each task gradient, in turn, is projected onto the normal plane
/// of every other task's (original) gradient it conflicts with (negative inner product),
/// visiting the others in a random (seeded) order; the projected gradients are summed.
pub struct PcGrad {
    rng: ChaCha8Rng,
}

impl PcGrad {
    pub fn new(seed: u64) -> Self {
        PcGrad { rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5043) }
    }

    /// The projected gradients (before summation), exposed for tests.
    pub fn project(&mut self, rows: &[Vec<f32>]) -> Vec<Vec<f64>> {
        let t = rows.len();
        let sq: Vec<f64> = rows.iter().map(|r| dot(r, r)).collect();
        (0..t)
            .map(|i| {
                let mut g: Vec<f64> = rows[i].iter().map(|&v| v as f64).collect();
                let mut order: Vec<usize> = (0..t).filter(|&j| j != i).collect();
                order.shuffle(&mut self.rng);
                for j in order {
                    let ip: f64 = g.iter().zip(&rows[j]).map(|(a, &b)| a * b as f64).sum();
                    if ip < 0.0 {
                        axpy(&mut g, ip / (sq[j] + 1e-20), &rows[j]);
                    }
                }
                g
            })
            .collect()
    }
}

impl Weighting for PcGrad {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<GradStore> {
        let grads = TaskGradients::compute(losses, params)?;
        let projected = self.project(&grads.rows);
        let dim = grads.rows.first().map_or(0, Vec::len);
        let sum: Vec<f64> = (0..dim).map(|k| projected.iter().map(|g| g[k]).sum()).collect();
        grads.into_store(&to_f32(sum), None)
    }

    fn needs_task_gradients(&self) -> bool {
        true
    }
}

/// MGDA (Sener & Koltun, "Multi-task learning as multi-objective optimization", NeurIPS
/// 2018): the shared update is the minimum-norm point of the convex hull of the task
/// gradients (weights on the simplex, Frank-Wolfe solver), a common descent direction.
/// medmtl applies it to the shared parameters' gradients (MGDA proper); the "-UB" shortcut
/// through one shared representation only exists for hard-sharing designs. No gradient
/// normalisation (LibMTL's default `mgda_gn = none`).
pub struct Mgda;

impl Mgda {
    pub fn new(tasks: usize) -> GramWeighting {
        GramWeighting::new(tasks, solvers::min_norm_weights)
    }
}

/// A gradient method whose shared update is `sum_t w_t g_t`, with weights computed from the
/// Gram matrix of the task gradients by `rule` (MGDA, IMTL-G, Aligned-MTL, UPGrad).
pub struct GramWeighting {
    rule: fn(&[Vec<f64>]) -> Vec<f64>,
    last: Vec<f64>,
}

impl GramWeighting {
    fn new(tasks: usize, rule: fn(&[Vec<f64>]) -> Vec<f64>) -> Self {
        GramWeighting { rule, last: vec![1.0 / tasks as f64; tasks] }
    }
}

impl Weighting for GramWeighting {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<GradStore> {
        let grads = TaskGradients::compute(losses, params)?;
        self.last = (self.rule)(&grads.gram());
        let shared = grads.combine(&self.last);
        grads.into_store(&shared, None)
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }

    fn needs_task_gradients(&self) -> bool {
        true
    }
}

/// CAGrad (Liu, Liu, Jin, Stone & Liu, "Conflict-averse gradient descent for multi-task
/// learning", NeurIPS 2021): the update `d = g0 + (c |g0| / |g_w|) g_w`, rescaled by
/// `1 / (1 + c^2)`, where `g0` is the mean gradient and `w` on the simplex minimises
/// `g_w . g0 + c |g0| |g_w|`; `c = 0.5` (the paper's default). With `c = 0` it is the
/// mean gradient.
pub struct CaGrad {
    c: f64,
    last: Vec<f64>,
}

impl CaGrad {
    pub fn new(tasks: usize, c: f64) -> Self {
        CaGrad { c, last: vec![1.0 / tasks as f64; tasks] }
    }

    /// The combined update from per-task gradient rows (exposed for tests).
    pub fn direction(&mut self, grads: &TaskGradients) -> Vec<f32> {
        let t = grads.tasks();
        let gram = grads.gram();
        let g0_norm = (gram.iter().flatten().sum::<f64>() / (t * t) as f64 + 1e-8).sqrt();
        let c = self.c * g0_norm + 1e-8;
        self.last = solvers::cagrad_weights(&gram, c);
        let gw = grads.combine(&self.last);
        let lambda = c / (norm(&gw) + 1e-8);
        let mean = grads.combine(&vec![1.0 / t as f64; t]);
        mean.iter().zip(&gw).map(|(&m, &w)| ((m as f64 + lambda * w as f64) / (1.0 + self.c * self.c)) as f32).collect()
    }
}

impl Weighting for CaGrad {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<GradStore> {
        let grads = TaskGradients::compute(losses, params)?;
        let d = self.direction(&grads);
        grads.into_store(&d, None)
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }

    fn needs_task_gradients(&self) -> bool {
        true
    }
}

/// IMTL-G, the gradient half of impartial multi-task learning (Liu, Li, Kuang, Xue, Chen,
/// Yang, Liao & Zhang, "Towards impartial multi-task learning", ICLR 2021): closed-form
/// weights summing to 1 such that the combined gradient has the same projection onto every
/// task's unit gradient. (LibMTL's `IMTL` also learns loss scales, IMTL-L; medmtl's is the
/// gradient part the issue asks for.)
pub struct ImtlG;

impl ImtlG {
    pub fn new(tasks: usize) -> GramWeighting {
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

/// Gradient Vaccine (GradVac; Wang, Tsvetkov, Firat & Cao, "Gradient vaccine: investigating
/// and improving multi-task optimization in massively multilingual models", ICLR 2021):
/// like PCGrad, but each pair (i, j) keeps an EMA target cosine similarity (beta = 0.5,
/// whole-model granularity); when `g_i`'s similarity to `g_j` falls below it, `g_j` is added
/// to `g_i` with the coefficient that raises the similarity exactly to the target. The EMA
/// is updated after every comparison as in the paper's Algorithm 1 (LibMTL updates it only
/// when the correction fires).
pub struct GradVac {
    beta: f64,
    targets: Vec<Vec<f64>>,
    rng: ChaCha8Rng,
}

impl GradVac {
    pub fn new(tasks: usize, beta: f64, seed: u64) -> Self {
        GradVac { beta, targets: vec![vec![0.0; tasks]; tasks], rng: ChaCha8Rng::seed_from_u64(seed ^ 0x4756) }
    }
}

impl Weighting for GradVac {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<GradStore> {
        let grads = TaskGradients::compute(losses, params)?;
        let t = grads.tasks();
        let norms: Vec<f64> = grads.rows.iter().map(|r| norm(r)).collect();
        let dim = grads.rows.first().map_or(0, Vec::len);
        let mut sum = vec![0f64; dim];
        for i in 0..t {
            let mut g: Vec<f64> = grads.rows[i].iter().map(|&v| v as f64).collect();
            let mut order: Vec<usize> = (0..t).filter(|&j| j != i).collect();
            order.shuffle(&mut self.rng);
            for j in order {
                let gi_norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
                let ip: f64 = g.iter().zip(&grads.rows[j]).map(|(a, &b)| a * b as f64).sum();
                let phi = ip / (gi_norm * norms[j] + 1e-8);
                let target = self.targets[i][j];
                if phi < target {
                    let coef = gi_norm * (target * (1.0 - phi * phi).max(0.0).sqrt() - phi * (1.0 - target * target).max(0.0).sqrt())
                        / (norms[j] * (1.0 - target * target).max(0.0).sqrt() + 1e-8);
                    axpy(&mut g, -coef, &grads.rows[j]);
                }
                self.targets[i][j] = (1.0 - self.beta) * target + self.beta * phi;
            }
            for (s, v) in sum.iter_mut().zip(&g) {
                *s += v;
            }
        }
        grads.into_store(&to_f32(sum), None)
    }

    fn needs_task_gradients(&self) -> bool {
        true
    }
}

/// Aligned-MTL (Senushkin, Patakin, Kuznetsov & Konushin, "Independent component alignment
/// for multi-task learning", CVPR 2023): makes the linear system of task gradients
/// well-conditioned. With `G G^T = V diag(l) V^T`, `B = sqrt(l_min) V diag(1/sqrt(l)) V^T`
/// aligns the gradients (the rows of `B G` are orthogonal with equal norms sqrt(l_min));
/// the update is `sum_t alpha_t g_t` with `alpha = B 1` (column sums, as the reference
/// implementation). Directions with eigenvalues below numerical tolerance are dropped.
pub struct AlignedMtl;

impl AlignedMtl {
    pub fn new(tasks: usize) -> GramWeighting {
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

/// Nash-MTL (Navon, Shamsian, Achituve, Maron, Kawaguchi, Chechik & Fetaya, "Multi-task
/// learning as a bargaining game", ICML 2022): weights `a > 0` with `(G G^T) a = 1 / a` on
/// the Frobenius-normalised Gram matrix (as the reference code), update
/// `sum_t a_t g_t` with the shared gradient's norm clipped to `max_norm = 1.0`; task-specific
/// parameters are weighted by `a` as the reference's `sum_t a_t L_t` backward does.
pub struct NashMtl {
    max_norm: f64,
    last: Vec<f64>,
}

impl NashMtl {
    pub fn new(tasks: usize, max_norm: f64) -> Self {
        NashMtl { max_norm, last: vec![1.0; tasks] }
    }
}

impl Weighting for NashMtl {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<GradStore> {
        let grads = TaskGradients::compute(losses, params)?;
        let mut gram = grads.gram();
        let fro = gram.iter().flatten().map(|v| v * v).sum::<f64>().sqrt().max(1e-20);
        gram.iter_mut().flatten().for_each(|v| *v /= fro);
        self.last = solvers::nash_weights(&gram);
        let mut shared = grads.combine(&self.last);
        let n = norm(&shared);
        if self.max_norm > 0.0 && n > self.max_norm {
            let scale = (self.max_norm / n) as f32;
            shared.iter_mut().for_each(|v| *v *= scale);
        }
        let weights = self.last.clone();
        grads.into_store(&shared, Some(&weights))
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }

    fn needs_task_gradients(&self) -> bool {
        true
    }
}

/// UPGrad (Quinton & Rey, "Jacobian descent for multi-objective optimization", arXiv
/// 2406.16232, 2024): averages the projections of each task gradient (scaled by 1/T) onto
/// the dual cone of all task gradients, so the update never conflicts with any task
/// (`d . g_t >= 0`) and equals the mean gradient when nothing conflicts. The Gram matrix
/// is normalised by its trace and regularised with `1e-4 I` (torchjd's defaults).
pub struct UpGrad;

impl UpGrad {
    pub fn new(tasks: usize) -> GramWeighting {
        GramWeighting::new(tasks, Self::weights_from_gram)
    }

    /// The weights from the raw Gram matrix (normalised and regularised here).
    pub fn weights_from_gram(gram: &[Vec<f64>]) -> Vec<f64> {
        let mut gram = gram.to_vec();
        let t = gram.len();
        let trace: f64 = (0..t).map(|i| gram[i][i]).sum();
        if trace < 1e-4 {
            gram.iter_mut().flatten().for_each(|v| *v = 0.0);
        } else {
            gram.iter_mut().flatten().for_each(|v| *v /= trace);
        }
        (0..t).for_each(|i| gram[i][i] += 1e-4);
        solvers::upgrad_weights(&gram)
    }
}
