//! Row-major matrix products through the `gemm` crate, with its AVX-512 kernels.
//!
//! `gemm` chooses its micro-kernels at run time: AVX-512F where the CPU has it (built with
//! the crate's `x86-v4` feature, which stable Rust compiles), else AVX2 + FMA, else
//! scalar. One binary therefore runs everywhere and uses the widest vectors available.
//! [`isa`] says which path this machine takes; [`matmul_avx2`] runs the AVX2 path
//! whatever the CPU, so a test can check the two paths against each other on a machine
//! that has both.

use gemm::Parallelism;

/// The micro-kernel family `gemm` dispatches to on this CPU: `"avx512f"`, `"avx2+fma"`
/// or `"scalar"` (on x86-64; the platform's own elsewhere).
pub fn isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512f";
        }
        if std::arch::is_x86_feature_detected!("fma") {
            return "avx2+fma";
        }
        "scalar"
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH
    }
}

/// Checks the operands of a product against the slices that hold them.
#[allow(clippy::too_many_arguments)]
fn check(m: usize, n: usize, k: usize, a: &[f32], (a_rs, a_cs): (usize, usize), b: &[f32], (b_rs, b_cs): (usize, usize), c: &[f32]) {
    assert!(c.len() >= m * n, "gemm: output of {} values for {m} x {n}", c.len());
    assert!(k == 0 || a.len() > (m - 1) * a_rs + (k - 1) * a_cs, "gemm: left operand too short");
    assert!(k == 0 || b.len() > (k - 1) * b_rs + (n - 1) * b_cs, "gemm: right operand too short");
}

/// `c (m x n) = [c +] a (m x k) * b (k x n)` with explicit row and column strides, so that
/// transposed operands need no copy. `accumulate` adds to `c` instead of overwriting it.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
    c: &mut [f32],
    accumulate: bool,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    check(m, n, k, a, a_strides, b, b_strides, c);
    let parallelism = if threads > 1 { Parallelism::Rayon(threads) } else { Parallelism::None };
    // SAFETY: `check` bounds every index the product touches; `c` is exclusively borrowed
    // and does not alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_strides.1 as isize,
            a_strides.0 as isize,
            b.as_ptr(),
            b_strides.1 as isize,
            b_strides.0 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// [`matmul`] on the AVX2 + FMA micro-kernels even where AVX-512 is available (single
/// thread); `None` on CPUs without AVX2 + FMA.
#[allow(clippy::too_many_arguments)]
pub fn matmul_avx2(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
    c: &mut [f32],
    accumulate: bool,
) -> Option<()> {
    #[cfg(target_arch = "x86_64")]
    {
        use gemm_f32::microkernel::fma::f32 as ukr;
        let simd = <gemm_common::simd::V3 as gemm_common::simd::MixedSimd<f32, f32, f32, f32>>::try_new()?;
        if m == 0 || n == 0 {
            return Some(());
        }
        check(m, n, k, a, a_strides, b, b_strides, c);
        // SAFETY: as in `matmul`; the V3 token proves the CPU runs AVX2 + FMA.
        unsafe {
            gemm_common::gemm::gemm_basic_generic::<
                _,
                f32,
                8,
                { ukr::MR_DIV_N * 8 },
                { ukr::NR },
                { ukr::MR_DIV_N },
                { ukr::H_M },
                { ukr::H_N },
            >(
                simd,
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                accumulate,
                a.as_ptr(),
                a_strides.1 as isize,
                a_strides.0 as isize,
                b.as_ptr(),
                b_strides.1 as isize,
                b_strides.0 as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                |x, y, z| x * y + z,
                &ukr::UKR,
                &ukr::H_UKR,
                false,
                Parallelism::None,
            );
        }
        Some(())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (m, n, k, a, a_strides, b, b_strides, c, accumulate);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], b: &[f32]) -> Vec<f64> {
        (0..m).flat_map(|i| (0..n).map(move |j| (0..k).map(|p| a[i * k + p] as f64 * b[p * n + j] as f64).sum())).collect()
    }

    /// The dispatched kernels (AVX-512 on CPUs that have it) and the AVX2 ones agree with a
    /// float64 reference and with each other, on shapes with ragged edges and transposed
    /// operands; and the dispatch decision is the CPU's.
    #[test]
    fn dispatched_and_avx2_paths_agree() {
        #[cfg(target_arch = "x86_64")]
        assert_eq!(isa() == "avx512f", std::arch::is_x86_feature_detected!("avx512f"));
        for (m, n, k) in [(1, 1, 1), (7, 13, 5), (64, 576, 33), (33, 17, 300), (128, 9, 64)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 97) as f32 - 48.0) / 24.0).collect();
            let want = naive(m, n, k, &a, &b);
            let mut dispatched = vec![0f32; m * n];
            matmul(m, n, k, &a, (k, 1), &b, (n, 1), &mut dispatched, false, 2);
            let mut avx2 = vec![1f32; m * n];
            let ran = matmul_avx2(m, n, k, &a, (k, 1), &b, (n, 1), &mut avx2, false).is_some();
            for i in 0..m * n {
                let tol = 1e-5 * (k as f64).sqrt() * (1.0 + want[i].abs());
                assert!((dispatched[i] as f64 - want[i]).abs() <= tol, "{m}x{n}x{k} [{i}]: {} vs {}", dispatched[i], want[i]);
                if ran {
                    assert!((avx2[i] - dispatched[i]).abs() as f64 <= tol, "{m}x{n}x{k} [{i}]: avx2 {} vs {}", avx2[i], dispatched[i]);
                }
            }
            // Transposed left operand and accumulation.
            let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
            let mut acc = dispatched.clone();
            matmul(m, n, k, &at, (1, m), &b, (n, 1), &mut acc, true, 1);
            for i in 0..m * n {
                let tol = 2e-5 * (k as f64).sqrt() * (1.0 + want[i].abs());
                assert!((acc[i] as f64 - 2.0 * want[i]).abs() <= 2.0 * tol, "{m}x{n}x{k} accumulate [{i}]");
            }
        }
    }
}
