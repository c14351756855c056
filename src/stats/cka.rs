//! Linear centred kernel alignment (CKA; Kornblith, Norouzi, Lee & Hinton, "Similarity of
//! Neural Network Representations Revisited", ICML 2019): how similar two representations
//! of the same samples are, invariant to orthogonal transforms and isotropic scaling of
//! either, so networks trained separately (the STL columns of two tasks) can be compared.

/// Linear CKA of `x` (`n x p`, row-major) and `y` (`n x q`) over the same `n` samples,
/// computed from the centred Gram matrices: `HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))` with
/// `K = X Xᵀ`, `L = Y Yᵀ` and `HSIC(K, L) = tr(K H L H)`. The `n x n` form costs `n² (p + q)`,
/// fine for the few hundred test samples it is used on even with wide feature maps. NaN
/// when either representation is constant over the samples or the sizes disagree.
pub fn linear_cka(x: &[f32], y: &[f32], n: usize) -> f64 {
    if n < 2 || x.is_empty() || y.is_empty() || !x.len().is_multiple_of(n) || !y.len().is_multiple_of(n) {
        return f64::NAN;
    }
    let (kx, ky) = (centred_gram(x, n), centred_gram(y, n));
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
    // For centred (symmetric) K and L, tr(K H L H) = tr(K L) = sum of elementwise products.
    let (xy, xx, yy) = (dot(&kx, &ky), dot(&kx, &kx), dot(&ky, &ky));
    if xx <= 0.0 || yy <= 0.0 {
        return f64::NAN;
    }
    xy / (xx * yy).sqrt()
}

/// `H X Xᵀ H` with `H = I - 11ᵀ/n`, row-major `n x n`.
fn centred_gram(x: &[f32], n: usize) -> Vec<f64> {
    let p = x.len() / n;
    let mut k = vec![0.0f64; n * n];
    for i in 0..n {
        let xi = &x[i * p..(i + 1) * p];
        for j in i..n {
            let xj = &x[j * p..(j + 1) * p];
            let v: f64 = xi.iter().zip(xj).map(|(a, b)| *a as f64 * *b as f64).sum();
            k[i * n + j] = v;
            k[j * n + i] = v;
        }
    }
    let row_means: Vec<f64> = (0..n).map(|i| k[i * n..(i + 1) * n].iter().sum::<f64>() / n as f64).collect();
    let total = row_means.iter().sum::<f64>() / n as f64;
    for i in 0..n {
        for j in 0..n {
            k[i * n + j] += total - row_means[i] - row_means[j];
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(n: usize, p: usize, seed: u32) -> Vec<f32> {
        (0..n * p).map(|i| (((i as u32).wrapping_mul(2654435761u32) ^ seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    #[test]
    fn cka_with_itself_is_one_and_invariant_to_rotation_and_scale() {
        let (n, p) = (20, 3);
        let x = features(n, p, 7);
        assert!((linear_cka(&x, &x, n) - 1.0).abs() < 1e-12);
        // A rotation in the (0, 1) plane, a reflection of feature 2, and scaling by 3.
        let (c, s) = (0.6f32, 0.8f32);
        let y: Vec<f32> = (0..n)
            .flat_map(|i| {
                let r = &x[i * p..(i + 1) * p];
                [3.0 * (c * r[0] - s * r[1]), 3.0 * (s * r[0] + c * r[1]), -3.0 * r[2]]
            })
            .collect();
        assert!((linear_cka(&x, &y, n) - 1.0).abs() < 1e-6, "{}", linear_cka(&x, &y, n));
        // Unrelated features are less similar; a constant one has no similarity defined.
        assert!(linear_cka(&x, &features(n, 4, 99), n) < 0.9);
        assert!(linear_cka(&x, &vec![1.0; n * 2], n).is_nan());
    }
}
