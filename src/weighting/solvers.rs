//! The small optimisation problems of gradient-based MTL methods, on `T x T` Gram matrices
//! (T = number of tasks), in f64. Each is tested on cases with known answers.

/// Euclidean projection onto the probability simplex (Duchi et al. 2008).
pub fn project_to_simplex(y: &[f64]) -> Vec<f64> {
    let mut sorted = y.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut cumsum = 0.0;
    let mut theta = 0.0;
    for (i, &v) in sorted.iter().enumerate() {
        cumsum += v;
        let t = (cumsum - 1.0) / (i + 1) as f64;
        if v - t > 0.0 {
            theta = t;
        }
    }
    y.iter().map(|&v| (v - theta).max(0.0)).collect()
}

fn quad(m: &[Vec<f64>], a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, row) in m.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            s += a[i] * v * b[j];
        }
    }
    s
}

/// `m v` for a small dense matrix.
pub(crate) fn mat_vec(m: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
    m.iter().map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum()).collect()
}

/// The minimum-norm point of the convex hull of the task gradients, as simplex weights
/// (MGDA; Sener & Koltun 2018, whose Frank-Wolfe solver this follows): for two tasks the
/// closed form, otherwise Frank-Wolfe iterations with exact line search.
pub fn min_norm_weights(gram: &[Vec<f64>]) -> Vec<f64> {
    let t = gram.len();
    if t == 1 {
        return vec![1.0];
    }
    // Best pair first (exact for T = 2).
    let mut best = (f64::INFINITY, 0, 1, 0.5);
    for i in 0..t {
        for j in i + 1..t {
            let (gamma, cost) = min_norm_pair(gram[i][i], gram[i][j], gram[j][j]);
            if cost < best.0 {
                best = (cost, i, j, gamma);
            }
        }
    }
    let mut w = vec![0.0; t];
    w[best.1] = best.3;
    w[best.2] = 1.0 - best.3;
    if t == 2 {
        return w;
    }
    for _ in 0..250 {
        // Frank-Wolfe: the vertex minimising the linearised objective.
        let grad = mat_vec(gram, &w);
        let k = (0..t).min_by(|&a, &b| grad[a].total_cmp(&grad[b])).unwrap_or(0);
        let mut e = vec![0.0; t];
        e[k] = 1.0;
        let (v1v1, v1v2, v2v2) = (quad(gram, &w, &w), quad(gram, &w, &e), gram[k][k]);
        let (gamma, _) = min_norm_pair(v1v1, v1v2, v2v2);
        let next: Vec<f64> = w.iter().zip(&e).map(|(a, b)| gamma * a + (1.0 - gamma) * b).collect();
        let change: f64 = next.iter().zip(&w).map(|(a, b)| (a - b).abs()).sum();
        w = next;
        if change < 1e-10 {
            break;
        }
    }
    w
}

/// `argmin_gamma |gamma v1 + (1 - gamma) v2|^2` over [0, 1] from the inner products; returns
/// (gamma, squared norm).
fn min_norm_pair(v1v1: f64, v1v2: f64, v2v2: f64) -> (f64, f64) {
    if v1v2 >= v1v1 {
        return (1.0, v1v1);
    }
    if v1v2 >= v2v2 {
        return (0.0, v2v2);
    }
    let gamma = (v2v2 - v1v2) / (v1v1 + v2v2 - 2.0 * v1v2);
    (gamma, v2v2 + gamma * (v1v2 - v2v2))
}

/// CAGrad's inner problem (Liu et al. 2021): simplex weights `w` minimising
/// `g_w . g_0 + c |g_w|` with `g_0` the mean gradient, by projected gradient descent with
/// backtracking (the objective is convex in `w`).
pub fn cagrad_weights(gram: &[Vec<f64>], c: f64) -> Vec<f64> {
    let t = gram.len();
    let uniform = vec![1.0 / t as f64; t];
    let a_b = mat_vec(gram, &uniform);
    let objective = |w: &[f64]| -> f64 {
        let lin: f64 = w.iter().zip(&a_b).map(|(x, y)| x * y).sum();
        lin + c * (quad(gram, w, w) + 1e-8).sqrt()
    };
    let gradient = |w: &[f64]| -> Vec<f64> {
        let aw = mat_vec(gram, w);
        let n = (quad(gram, w, w) + 1e-8).sqrt();
        a_b.iter().zip(&aw).map(|(lin, q)| lin + c * q / n).collect()
    };
    let scale = gram.iter().enumerate().map(|(i, r)| r[i]).fold(0.0f64, f64::max).max(1e-12);
    let mut w = uniform.clone();
    let mut step = 1.0 / scale;
    let mut f = objective(&w);
    for _ in 0..500 {
        let g = gradient(&w);
        loop {
            let cand = project_to_simplex(&w.iter().zip(&g).map(|(x, d)| x - step * d).collect::<Vec<_>>());
            let fc = objective(&cand);
            if fc <= f - 1e-12 || step < 1e-12 / scale {
                let moved: f64 = cand.iter().zip(&w).map(|(a, b)| (a - b).abs()).sum();
                w = cand;
                f = fc;
                if moved < 1e-12 {
                    return w;
                }
                step *= 1.5;
                break;
            }
            step *= 0.5;
        }
    }
    w
}

/// Nash-MTL's bargaining solution (Navon et al. 2022): the positive `a` with
/// `(G G^T) a = 1 / a` elementwise. It is the unique minimiser of the strictly convex
/// `f(a) = a^T M a / 2 - sum_i log a_i`, found here by damped Newton steps (the original
/// solves a sequence of convex programs with cvxpy).
pub fn nash_weights(gram: &[Vec<f64>]) -> Vec<f64> {
    let t = gram.len();
    let f = |a: &[f64]| quad(gram, a, a) / 2.0 - a.iter().map(|v| v.ln()).sum::<f64>();
    let mut a: Vec<f64> = (0..t).map(|i| 1.0 / gram[i][i].max(1e-12).sqrt()).collect();
    for _ in 0..100 {
        let ma = mat_vec(gram, &a);
        let grad: Vec<f64> = ma.iter().zip(&a).map(|(m, x)| m - 1.0 / x).collect();
        if grad.iter().map(|g| g * g).sum::<f64>().sqrt() < 1e-10 {
            break;
        }
        let mut hess = gram.to_vec();
        for i in 0..t {
            hess[i][i] += 1.0 / (a[i] * a[i]);
        }
        let Some(dir) = solve(&hess, &grad) else { break };
        let mut step = 1.0;
        let f0 = f(&a);
        loop {
            let cand: Vec<f64> = a.iter().zip(&dir).map(|(x, d)| x - step * d).collect();
            if cand.iter().all(|&v| v > 0.0) && f(&cand) <= f0 {
                a = cand;
                break;
            }
            step *= 0.5;
            if step < 1e-12 {
                return a;
            }
        }
    }
    a
}

/// UPGrad's weights (Quinton & Rey 2024): for each task i, the projection of `g_i / T` onto
/// the dual cone of the task gradients is `J^T v_i` with `v_i = argmin v^T G v` subject to
/// `v >= e_i / T`; the aggregate is `J^T sum_i v_i`. The bound-constrained QPs are solved
/// by cyclic coordinate descent (exact per coordinate, convergent for positive-definite G).
pub fn upgrad_weights(gram: &[Vec<f64>]) -> Vec<f64> {
    let t = gram.len();
    let mut total = vec![0.0; t];
    for i in 0..t {
        let mut lower = vec![0.0; t];
        lower[i] = 1.0 / t as f64;
        let mut v = lower.clone();
        for _ in 0..10_000 {
            let mut change = 0.0f64;
            for k in 0..t {
                if gram[k][k] <= 0.0 {
                    continue;
                }
                let others: f64 = (0..t).filter(|&j| j != k).map(|j| gram[k][j] * v[j]).sum();
                let next = (-others / gram[k][k]).max(lower[k]);
                change = change.max((next - v[k]).abs());
                v[k] = next;
            }
            if change < 1e-14 {
                break;
            }
        }
        for k in 0..t {
            total[k] += v[k];
        }
    }
    total
}

/// Solves `A x = b` by Gaussian elimination with partial pivoting; `None` when singular.
pub fn solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut m: Vec<Vec<f64>> = a.iter().zip(b).map(|(row, &v)| row.iter().copied().chain([v]).collect()).collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 {
            return None;
        }
        m.swap(col, pivot);
        for row in col + 1..n {
            let f = m[row][col] / m[col][col];
            for k in col..=n {
                m[row][k] -= f * m[col][k];
            }
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| m[i][k] * x[k]).sum();
        x[i] = (m[i][n] - s) / m[i][i];
    }
    Some(x)
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.
pub fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut m = a.to_vec();
    let mut v: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| (i == j) as u8 as f64).collect()).collect();
    for _ in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| m[i][j] * m[i][j]).sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if m[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..n {
                    let (mkp, mkq) = (m[k][p], m[k][q]);
                    m[k][p] = c * mkp - s * mkq;
                    m[k][q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p][k], m[q][k]);
                    m[p][k] = c * mpk - s * mqk;
                    m[q][k] = s * mpk + c * mqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| m[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gram(g: &[Vec<f64>]) -> Vec<Vec<f64>> {
        g.iter().map(|a| g.iter().map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum()).collect()).collect()
    }

    fn combine(w: &[f64], g: &[Vec<f64>]) -> Vec<f64> {
        (0..g[0].len()).map(|k| w.iter().zip(g).map(|(wi, gi)| wi * gi[k]).sum()).collect()
    }

    #[test]
    fn simplex_projection() {
        assert_eq!(project_to_simplex(&[0.2, 0.8]), vec![0.2, 0.8]);
        let p = project_to_simplex(&[2.0, 0.0, -1.0]);
        assert_eq!(p, vec![1.0, 0.0, 0.0]);
        let p = project_to_simplex(&[0.5, 0.5, 0.5]);
        assert!(p.iter().all(|v| (v - 1.0 / 3.0).abs() < 1e-12));
    }

    /// The min-norm point of the segment between two vectors in 2-D has the closed form
    /// gamma = (v2.(v2 - v1)) / |v1 - v2|^2; a vertex wins when it is the closest point.
    #[test]
    fn mgda_min_norm_point_matches_closed_forms() {
        let g = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let w = min_norm_weights(&gram(&g));
        assert!((w[0] - 0.5).abs() < 1e-12 && (w[1] - 0.5).abs() < 1e-12);
        let g = vec![vec![3.0, 1.0], vec![-1.0, 2.0]];
        let w = min_norm_weights(&gram(&g));
        let (v1, v2) = (&g[0], &g[1]);
        let d: Vec<f64> = v1.iter().zip(v2).map(|(a, b)| a - b).collect();
        let gamma = v2.iter().zip(&d).map(|(a, b)| -a * b).sum::<f64>() / d.iter().map(|x| x * x).sum::<f64>();
        assert!((w[0] - gamma).abs() < 1e-12, "{w:?} vs {gamma}");
        // v2 lies "before" v1: the point of the hull nearest the origin is v2 itself.
        let g = vec![vec![2.0, 0.0], vec![0.5, 0.0]];
        assert_eq!(min_norm_weights(&gram(&g)), vec![0.0, 1.0]);
        // Three gradients whose hull contains the origin: norm 0.
        let g = vec![vec![1.0, 0.0], vec![-1.0, 1.0], vec![0.0, -1.0]];
        let w = min_norm_weights(&gram(&g));
        let d = combine(&w, &g);
        assert!(d.iter().all(|v| v.abs() < 1e-6), "{d:?}");
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn nash_solution_satisfies_its_bargaining_equation() {
        let g = vec![vec![1.0, 2.0, 0.0], vec![-1.0, 0.5, 1.0], vec![0.3, 0.0, 2.0]];
        let m = gram(&g);
        let a = nash_weights(&m);
        let ma = mat_vec(&m, &a);
        for i in 0..3 {
            assert!((ma[i] - 1.0 / a[i]).abs() < 1e-8, "{ma:?} {a:?}");
        }
        // Orthogonal gradients: a_i = 1 / |g_i|.
        let m = vec![vec![4.0, 0.0], vec![0.0, 0.25]];
        let a = nash_weights(&m);
        assert!((a[0] - 0.5).abs() < 1e-9 && (a[1] - 2.0).abs() < 1e-9);
    }

    #[test]
    fn upgrad_never_conflicts_and_averages_when_nothing_conflicts() {
        let g = vec![vec![1.0, 0.0], vec![-0.9, 0.3]];
        let w = upgrad_weights(&gram(&g));
        let d = combine(&w, &g);
        for gi in &g {
            assert!(d.iter().zip(gi).map(|(a, b)| a * b).sum::<f64>() >= -1e-9);
        }
        let g = vec![vec![1.0, 0.2], vec![0.5, 1.0]];
        let w = upgrad_weights(&gram(&g));
        assert!(w.iter().all(|v| (v - 0.5).abs() < 1e-9), "{w:?}");
    }

    #[test]
    fn jacobi_eigen_reconstructs_the_matrix() {
        let a = vec![vec![4.0, 1.0, 0.5], vec![1.0, 3.0, 0.2], vec![0.5, 0.2, 1.0]];
        let (vals, vecs) = symmetric_eigen(&a);
        for i in 0..3 {
            for j in 0..3 {
                let r: f64 = (0..3).map(|k| vecs[i][k] * vals[k] * vecs[j][k]).sum();
                assert!((r - a[i][j]).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn linear_solve() {
        let x = solve(&[vec![2.0, 1.0], vec![1.0, 3.0]], &[3.0, 5.0]).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
        assert!(solve(&[vec![1.0, 2.0], vec![2.0, 4.0]], &[1.0, 2.0]).is_none());
    }
}
