//! ReLU whose backward is one masked pass (candle builds it from a comparison, a dtype cast
//! and a multiplication), and the residual join `relu(a + b)` in one pass each way.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::slices::{storage_slice, with_slice};

/// Parallel chunk length for elementwise passes.
pub(crate) const CHUNK: usize = 1 << 14;

/// `max(x, 0)` in one parallel pass each way.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if super::use_cpu_kernel(x) {
        x.contiguous()?.apply_op1(ReluOp)
    } else {
        x.relu()
    }
}

/// `max(a + b, 0)`, the end of a residual block, in one parallel pass each way.
///
/// candle's `a + b` runs on the calling thread while the rayon workers wait, then the ReLU
/// makes a second pass. The sum and the mask are the same float operations as `relu(a + b)`,
/// so outputs and gradients are bit-identical to it.
pub fn add_relu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if super::use_cpu_kernel(a) && a.shape() == b.shape() && b.dtype() == a.dtype() {
        a.contiguous()?.apply_op2(&b.contiguous()?, AddReluOp)
    } else {
        relu(&(a + b)?)
    }
}

/// `dy` where `y > 0`, else 0.
fn masked_gradient(y: &[f32], dy: &[f32]) -> Vec<f32> {
    let mut dx = super::slices::zeroed(y.len());
    dx.par_chunks_mut(CHUNK).zip(y.par_chunks(CHUNK).zip(dy.par_chunks(CHUNK))).for_each(|(o, (y, dy))| {
        for ((o, &y), &g) in o.iter_mut().zip(y).zip(dy) {
            *o = if y > 0.0 { g } else { 0.0 };
        }
    });
    dx
}

struct AddReluOp;

impl CustomOp2 for AddReluOp {
    fn name(&self) -> &'static str {
        "medmtl-add-relu"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (a, b) = (storage_slice(s1, l1)?, storage_slice(s2, l2)?);
        let mut y = super::slices::zeroed(a.len());
        y.par_chunks_mut(CHUNK).zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK))).for_each(|(o, (a, b))| {
            for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
                *o = (a + b).max(0.0);
            }
        });
        Ok((CpuStorage::F32(y), Shape::from(l1.dims())))
    }

    fn bwd(&self, a: &Tensor, _b: &Tensor, res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dx = with_slice(res, |y| with_slice(grad, |dy| Ok(masked_gradient(y, dy))))?;
        let dx = Tensor::from_vec(dx, a.shape(), a.device())?;
        Ok((Some(dx.clone()), Some(dx)))
    }
}

struct ReluOp;

impl CustomOp1 for ReluOp {
    fn name(&self) -> &'static str {
        "medmtl-relu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = storage_slice(storage, layout)?;
        let mut y = super::slices::zeroed(x.len());
        y.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(|(o, i)| {
            for (o, &v) in o.iter_mut().zip(i) {
                *o = v.max(0.0);
            }
        });
        Ok((CpuStorage::F32(y), Shape::from(layout.dims())))
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let dx = with_slice(res, |y| with_slice(grad, |dy| Ok(masked_gradient(y, dy))))?;
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}
