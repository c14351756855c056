//! Access to the raw `f32` buffers of contiguous CPU tensors.

use candle_core::{bail, CpuStorage, Layout, Result, Storage, Tensor};
use rayon::prelude::*;

/// The elements of a contiguous CPU storage seen through `layout`.
pub fn storage_slice<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("fused kernel called on a non-contiguous tensor"),
    }
}

/// Runs `f` on the elements of `t` (made contiguous first if needed).
pub fn with_slice<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => f(storage_slice(cpu, layout)?),
        _ => bail!("fused CPU kernel called on a non-CPU tensor"),
    }
}

/// A zeroed buffer of `len` floats, zeroed by the worker threads when it is large.
///
/// `vec![0.0; len]` zeroes on the calling thread: the allocator hands back reused memory,
/// which `calloc` must clear, while both rayon workers wait for the kernel that follows
/// (measured: `memset` on the main thread was 3.7 % of U-Net inference at batch 256).
pub(crate) fn zeroed(len: usize) -> Vec<f32> {
    const SERIAL_UP_TO: usize = 1 << 16;
    if len <= SERIAL_UP_TO {
        return vec![0.0; len];
    }
    let mut v = Vec::new();
    rayon::iter::repeat_n(0f32, len).collect_into_vec(&mut v);
    v
}
