//! Layer kernels forward + backward at the suites' shapes: medmtl's fused CPU kernels
//! against candle's own ops, measured in the same run (compare as ratios).
//!
//! `cargo bench --bench kernels`

use candle_core::{Device, Tensor, Var};
use criterion::{criterion_group, criterion_main, Criterion};
use medmtl::kernels;

fn random(shape: &[usize]) -> Var {
    Var::from_tensor(&Tensor::randn(0f32, 1.0, shape, &Device::Cpu).unwrap()).unwrap()
}

/// Times `forward` + backward of `sum(forward(x) * r)` with fused kernels on and off.
fn fwd_bwd(c: &mut Criterion, name: &str, shape: &[usize], forward: impl Fn(&Tensor) -> Tensor) {
    let x = random(shape);
    let r = forward(x.as_tensor()).ones_like().unwrap();
    let mut group = c.benchmark_group(name);
    for (label, on) in [("medmtl", true), ("candle", false)] {
        group.bench_function(label, |b| {
            kernels::set_enabled(on);
            b.iter(|| (forward(x.as_tensor()) * &r).unwrap().sum_all().unwrap().backward().unwrap());
        });
    }
    kernels::set_enabled(true);
    group.finish();
}

fn benches(c: &mut Criterion) {
    let w32 = random(&[32, 32, 3, 3]);
    fwd_bwd(c, "conv2d/fwd+bwd/32ch/28x28/batch128", &[128, 32, 28, 28], |x| kernels::conv2d(x, w32.as_tensor(), 1, 1).unwrap());
    let w64 = random(&[64, 64, 3, 3]);
    fwd_bwd(c, "conv2d/fwd+bwd/64ch/14x14/batch128", &[128, 64, 14, 14], |x| kernels::conv2d(x, w64.as_tensor(), 1, 1).unwrap());
    // ResNet-18 (28)'s last stage: 4x4 maps, where images are grouped into one product.
    let w512 = random(&[512, 512, 3, 3]);
    fwd_bwd(c, "conv2d/fwd+bwd/512ch/4x4/batch128", &[128, 512, 4, 4], |x| kernels::conv2d(x, w512.as_tensor(), 1, 1).unwrap());
    let (g, b) = (random(&[32]), random(&[32]));
    fwd_bwd(c, "batchnorm+relu/fwd+bwd/32ch/28x28/batch128", &[128, 32, 28, 28], |x| {
        kernels::batch_norm_train(x, g.as_tensor(), b.as_tensor(), 1e-5, true).unwrap().0
    });
    fwd_bwd(c, "relu/fwd+bwd/32ch/28x28/batch128", &[128, 32, 28, 28], |x| kernels::relu(x).unwrap());
    fwd_bwd(c, "maxpool2/fwd+bwd/32ch/28x28/batch128", &[128, 32, 28, 28], |x| kernels::max_pool2(x).unwrap());
    fwd_bwd(c, "upsample2/fwd+bwd/32ch/16x16/batch32", &[32, 32, 16, 16], |x| kernels::upsample_nearest2(x).unwrap());
}

criterion_group! {
    name = kernel_benches;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(kernel_benches);
