//! Access to the raw `f32` buffers of contiguous CPU tensors.

use candle_core::{bail, CpuStorage, Layout, Result, Storage, Tensor};

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
