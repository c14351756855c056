//! The fused CPU kernels against candle's own ops (forward and every gradient, relative
//! error <= 1e-4 in f32) on random shapes including odd sizes, stride 2, padding 0/1 and
//! batch 1, and against finite differences on tiny inputs.

use candle_core::{Device, Tensor, Var};
use medmtl::kernels;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(shape: &[usize], rng: &mut ChaCha8Rng) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

/// max |a - b| / max(|b|) (relative to the reference's scale).
fn rel_err(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let (a, b) = (values(a), values(b));
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    a.iter().zip(&b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// Forward outputs and gradients of `sum(f(inputs) * r)` for two implementations.
fn compare(
    inputs: &[Tensor],
    ours: impl Fn(&[Tensor]) -> Tensor,
    reference: impl Fn(&[Tensor]) -> Tensor,
    rng: &mut ChaCha8Rng,
    what: &str,
) {
    let vars: Vec<Var> = inputs.iter().map(|t| Var::from_tensor(&t.copy().unwrap()).unwrap()).collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let (a, b) = (ours(&ts), reference(&ts));
    assert!(rel_err(&a, &b) <= 1e-4, "{what}: forward error {}", rel_err(&a, &b));
    let r = random(a.dims(), rng);
    let ga = (&a * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let gb = (&b * &r).unwrap().sum_all().unwrap().backward().unwrap();
    for (i, t) in ts.iter().enumerate() {
        let (da, db) = (ga.get(t).unwrap(), gb.get(t).unwrap());
        let e = rel_err(da, db);
        assert!(e <= 1e-4, "{what}: gradient of input {i} error {e}");
    }
}

#[test]
fn conv2d_matches_candle_forward_and_gradients() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // (n, c, h, w, k, kernel, stride, pad)
    let cases = [
        (2, 3, 7, 5, 4, 3, 1, 1),
        (1, 1, 28, 28, 8, 3, 1, 1),
        (3, 4, 9, 9, 5, 3, 2, 1),
        (2, 2, 8, 6, 3, 3, 2, 0),
        (4, 5, 6, 7, 6, 1, 1, 0),
        (2, 6, 7, 7, 4, 1, 2, 0),
        (9, 2, 5, 5, 3, 3, 1, 0),
    ];
    for (n, c, h, w, k, ks, s, p) in cases {
        let x = random(&[n, c, h, w], &mut rng);
        let wt = random(&[k, c, ks, ks], &mut rng);
        compare(
            &[x, wt],
            |t| kernels::conv2d(&t[0], &t[1], s, p).unwrap(),
            |t| t[0].conv2d(&t[1], p, s, 1, 1).unwrap(),
            &mut rng,
            &format!("conv {n}x{c}x{h}x{w} k{k} {ks}x{ks} s{s} p{p}"),
        );
    }
}

fn reference_bn(x: &Tensor, gamma: &Tensor, beta: &Tensor, relu: bool) -> Tensor {
    let c = x.dim(1).unwrap();
    let mean = x.mean_keepdim((0, 2, 3)).unwrap();
    let centered = x.broadcast_sub(&mean).unwrap();
    let var = centered.sqr().unwrap().mean_keepdim((0, 2, 3)).unwrap();
    let y = centered
        .broadcast_div(&(var + 1e-5).unwrap().sqrt().unwrap())
        .unwrap()
        .broadcast_mul(&gamma.reshape((1, c, 1, 1)).unwrap())
        .unwrap()
        .broadcast_add(&beta.reshape((1, c, 1, 1)).unwrap())
        .unwrap();
    if relu {
        y.relu().unwrap()
    } else {
        y
    }
}

#[test]
fn batch_norm_matches_candle_with_and_without_relu() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (n, c, h, w) in [(4, 3, 5, 7), (1, 2, 6, 6), (16, 8, 3, 3), (3, 5, 1, 1)] {
        for relu in [false, true] {
            let x = random(&[n, c, h, w], &mut rng).affine(3.0, 0.5).unwrap();
            let gamma = (random(&[c], &mut rng) + 1.5).unwrap();
            let beta = random(&[c], &mut rng);
            compare(
                &[x.clone(), gamma, beta],
                |t| kernels::batch_norm_train(&t[0], &t[1], &t[2], 1e-5, relu).unwrap().0,
                |t| reference_bn(&t[0], &t[1], &t[2], relu),
                &mut rng,
                &format!("bn {n}x{c}x{h}x{w} relu={relu}"),
            );
            let (_, stats) = kernels::batch_norm_train(
                &x,
                &Tensor::ones(c, candle_core::DType::F32, &Device::Cpu).unwrap(),
                &Tensor::zeros(c, candle_core::DType::F32, &Device::Cpu).unwrap(),
                1e-5,
                relu,
            )
            .unwrap();
            let want_mean = values(&x.mean_keepdim((0, 2, 3)).unwrap());
            for (a, b) in stats.mean.iter().zip(&want_mean) {
                assert!((a - b).abs() < 1e-5);
            }
            assert_eq!(stats.count, n * h * w);
        }
    }
}

/// Inference-mode batch norm: bit-identical to candle's broadcast multiply, add and ReLU
/// (the fused pass must not change evaluation metrics), and differentiable when an input
/// takes part in a gradient (it then runs candle's ops).
#[test]
fn batch_norm_eval_is_bit_identical_to_candle_and_falls_back_under_autograd() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for (n, c, h, w) in [(4, 3, 5, 7), (1, 2, 6, 6), (64, 16, 32, 32), (3, 5, 1, 1)] {
        let x = random(&[n, c, h, w], &mut rng).affine(3.0, 0.5).unwrap();
        let (scale, shift) = (random(&[c], &mut rng), random(&[c], &mut rng));
        for relu in [false, true] {
            let fused = kernels::batch_norm_eval(&x, &scale, &shift, relu).unwrap();
            let want = x.broadcast_mul(&scale.reshape((1, c, 1, 1)).unwrap()).unwrap();
            let want = want.broadcast_add(&shift.reshape((1, c, 1, 1)).unwrap()).unwrap();
            let want = if relu { want.relu().unwrap() } else { want };
            let same = values(&fused).iter().zip(values(&want)).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{n}x{c}x{h}x{w} relu={relu}");
        }
    }
    let x = Var::from_tensor(&random(&[2, 3, 4, 4], &mut rng)).unwrap();
    let (scale, shift) = (random(&[3], &mut rng), random(&[3], &mut rng));
    let y = kernels::batch_norm_eval(x.as_tensor(), &scale, &shift, false).unwrap();
    let grads = y.sum_all().unwrap().backward().unwrap();
    let dx = values(grads.get(x.as_tensor()).expect("a gradient for x"));
    let scale = values(&scale);
    for (i, d) in dx.iter().enumerate() {
        assert!((d - scale[(i / 16) % 3]).abs() < 1e-6);
    }
}

/// The fused residual join gives the bits of `relu(a + b)` forward and backward.
#[test]
fn add_relu_is_bit_identical_to_add_then_relu() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for shape in [[2usize, 3, 5, 7], [64, 32, 16, 16]] {
        let (a, b) = (Var::from_tensor(&random(&shape, &mut rng)).unwrap(), Var::from_tensor(&random(&shape, &mut rng)).unwrap());
        let r = random(&shape, &mut rng);
        let fused = kernels::add_relu(a.as_tensor(), b.as_tensor()).unwrap();
        let reference = kernels::relu(&(a.as_tensor() + b.as_tensor()).unwrap()).unwrap();
        let bits = |t: &Tensor| values(t).iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fused), bits(&reference), "forward {shape:?}");
        let gf = (&fused * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let gr = (&reference * &r).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [&a, &b] {
            assert_eq!(bits(gf.get(v.as_tensor()).unwrap()), bits(gr.get(v.as_tensor()).unwrap()), "gradient {shape:?}");
        }
    }
}

#[test]
fn relu_pool_upsample_match_candle() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for dims in [[2, 3, 6, 8], [1, 1, 7, 5], [3, 2, 4, 4]] {
        let x = random(&dims, &mut rng);
        compare(std::slice::from_ref(&x), |t| kernels::relu(&t[0]).unwrap(), |t| t[0].relu().unwrap(), &mut rng, "relu");
        // candle's own max-pool backward scales the gradient by 1/4 (it multiplies by the
        // window mean of the max mask instead of dividing by the number of maxima) and
        // misaligns windows for odd sizes, so gradients are checked against the definition
        // here and by finite differences below; forwards against candle.
        let pooled = kernels::max_pool2(&x).unwrap();
        assert!(rel_err(&pooled, &x.max_pool2d(2).unwrap()) <= 1e-6, "max_pool2 forward on {dims:?}");
        check_max_pool_gradient(&x, &mut rng);
        compare(
            &[x],
            |t| kernels::upsample_nearest2(&t[0]).unwrap(),
            |t| {
                let (n, c, h, w) = t[0].dims4().unwrap();
                t[0].reshape((n, c, h, 1, w, 1)).unwrap().broadcast_as((n, c, h, 2, w, 2)).unwrap().reshape((n, c, 2 * h, 2 * w)).unwrap()
            },
            &mut rng,
            "upsample",
        );
    }
}

/// The max-pool gradient by its definition: each output's gradient goes to the first
/// maximum of its 2x2 window; odd trailing rows/columns get none.
fn check_max_pool_gradient(x: &Tensor, rng: &mut ChaCha8Rng) {
    let (n, c, h, w) = x.dims4().unwrap();
    let var = Var::from_tensor(&x.copy().unwrap()).unwrap();
    let y = kernels::max_pool2(var.as_tensor()).unwrap();
    let r = random(y.dims(), rng);
    let got = values((&y * &r).unwrap().sum_all().unwrap().backward().unwrap().get(var.as_tensor()).unwrap());
    let (xs, rs) = (values(x), values(&r));
    let mut want = vec![0f32; xs.len()];
    let (ho, wo) = (h / 2, w / 2);
    for p in 0..n * c {
        for oy in 0..ho {
            for ox in 0..wo {
                let cells = [(2 * oy, 2 * ox), (2 * oy, 2 * ox + 1), (2 * oy + 1, 2 * ox), (2 * oy + 1, 2 * ox + 1)];
                let idx = |(yy, xx): (usize, usize)| p * h * w + yy * w + xx;
                let best =
                    cells.iter().copied().max_by(|a, b| xs[idx(*a)].total_cmp(&xs[idx(*b)]).then(std::cmp::Ordering::Greater)).unwrap();
                want[idx(best)] += rs[p * ho * wo + oy * wo + ox];
            }
        }
    }
    assert_eq!(got, want, "max_pool2 gradient on {:?}", x.dims());
}

/// Upsampling a tensor that also feeds another consumer must add both gradients (the
/// candle bug that PR #3507 fixes overwrote one of them).
#[test]
fn upsample_gradient_accumulates_with_other_consumers() {
    let x = Var::from_tensor(&Tensor::new(&[[[[1f32, 2.], [3., 4.]]]], &Device::Cpu).unwrap()).unwrap();
    let up = kernels::upsample_nearest2(x.as_tensor()).unwrap().sum_all().unwrap();
    let other = (x.as_tensor() * 3.0).unwrap().sum_all().unwrap();
    let grads = (up + other).unwrap().backward().unwrap();
    assert_eq!(values(grads.get(x.as_tensor()).unwrap()), vec![7.0; 4]);
}

/// Central finite differences of `sum(f(x) * r)` against the analytic gradient, per element.
fn finite_difference_check(x: &Tensor, f: impl Fn(&Tensor) -> Tensor, eps: f32, tol: f32, what: &str) {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let var = Var::from_tensor(&x.copy().unwrap()).unwrap();
    let out = f(var.as_tensor());
    let r = random(out.dims(), &mut rng);
    let loss = |t: &Tensor| (f(t) * &r).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() as f64;
    let analytic = values((out * &r).unwrap().sum_all().unwrap().backward().unwrap().get(var.as_tensor()).unwrap());
    let base = values(x);
    for i in 0..base.len() {
        let mut plus = base.clone();
        plus[i] += eps;
        let mut minus = base.clone();
        minus[i] -= eps;
        let tp = Tensor::from_vec(plus, x.shape(), &Device::Cpu).unwrap();
        let tm = Tensor::from_vec(minus, x.shape(), &Device::Cpu).unwrap();
        let numeric = ((loss(&tp) - loss(&tm)) / (2.0 * eps as f64)) as f32;
        let err = (numeric - analytic[i]).abs() / analytic[i].abs().max(1.0);
        assert!(err < tol, "{what}: element {i}: numeric {numeric} vs analytic {}", analytic[i]);
    }
}

#[test]
fn gradients_agree_with_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let x = random(&[2, 2, 5, 4], &mut rng);
    let w = random(&[3, 2, 3, 3], &mut rng);
    finite_difference_check(&x, |t| kernels::conv2d(t, &w, 1, 1).unwrap(), 1e-2, 2e-3, "conv input");
    finite_difference_check(&w, |t| kernels::conv2d(&x, t, 2, 1).unwrap(), 1e-2, 2e-3, "conv weight");
    let gamma = (random(&[2], &mut rng) + 1.5).unwrap();
    let beta = random(&[2], &mut rng);
    finite_difference_check(&x, |t| kernels::batch_norm_train(t, &gamma, &beta, 1e-5, false).unwrap().0, 1e-2, 2e-2, "bn");
    finite_difference_check(&gamma, |t| kernels::batch_norm_train(&x, t, &beta, 1e-5, false).unwrap().0, 1e-3, 2e-2, "bn gamma");
    finite_difference_check(&x, |t| kernels::max_pool2(t).unwrap(), 1e-3, 2e-3, "max pool");
    let odd = random(&[1, 2, 7, 5], &mut rng);
    finite_difference_check(&odd, |t| kernels::max_pool2(t).unwrap(), 1e-3, 2e-3, "max pool (odd size)");
}
