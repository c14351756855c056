//! ReLU whose backward is one masked pass (candle builds it from a comparison, a dtype cast
//! and a multiplication).

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
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
        let dx = with_slice(res, |y| {
            with_slice(grad, |dy| {
                let mut dx = super::slices::zeroed(y.len());
                dx.par_chunks_mut(CHUNK).zip(y.par_chunks(CHUNK).zip(dy.par_chunks(CHUNK))).for_each(|(o, (y, dy))| {
                    for ((o, &y), &g) in o.iter_mut().zip(y).zip(dy) {
                        *o = if y > 0.0 { g } else { 0.0 };
                    }
                });
                Ok(dx)
            })
        })?;
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}
