//! Fused CPU kernels as candle custom ops, forward and backward.
//!
//! candle's CPU backward passes are its bottleneck for CNN training: the conv2d input
//! gradient runs through a direct `conv_transpose2d` loop, and BatchNorm / ReLU / pooling
//! gradients are chains of small unfused tensor ops, each a full pass over memory. These
//! kernels do each layer's forward and backward in one or two passes: convolution by im2col
//! and the `gemm` crate (the GEMM candle itself uses), BatchNorm with optional fused ReLU,
//! ReLU, 2x2 max pooling and nearest 2x upsampling, parallelised over the batch or channels
//! with rayon.
//!
//! The layer types in [`crate::model::layers`] call these functions, which fall back to
//! candle's own ops on non-CPU devices (CUDA), so every model uses them without change.
//! Each kernel is tested against candle's ops (forward and every gradient) and by finite
//! differences.

mod batchnorm;
mod conv;
pub mod gemm;
mod pool;
mod relu;
mod slices;
mod upsample;

pub use batchnorm::{batch_norm_eval, batch_norm_train, BatchStats};
pub use conv::conv2d;
pub use pool::max_pool2;
pub use relu::{add_relu, relu};
pub(crate) use slices::storage_slice;
pub use upsample::upsample_nearest2;

use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{DType, Tensor};

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Switches the fused kernels on or off for the whole process (off = candle's own ops), so
/// that speed comparisons can measure both in one run. `MEDMTL_KERNELS=candle` in the
/// environment starts with them off.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the fused kernels are in use (see [`set_enabled`]).
pub fn enabled() -> bool {
    static FROM_ENV: std::sync::Once = std::sync::Once::new();
    FROM_ENV.call_once(|| {
        if std::env::var("MEDMTL_KERNELS").is_ok_and(|v| v == "candle") {
            ENABLED.store(false, Ordering::Relaxed);
        }
    });
    ENABLED.load(Ordering::Relaxed)
}

/// True when `t` can go through the fused CPU kernels (f32 on the CPU, kernels enabled).
fn use_cpu_kernel(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32 && enabled()
}
