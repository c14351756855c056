//! Nearest-neighbour 2x upsampling for decoders. Its backward sums each 2x2 block; candle's
//! own backward overwrites rather than adds when the input has another consumer (candle
//! PR #3507), which a U-Net's bottleneck feeding both decoder and classifier would hit.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::slices::{storage_slice, with_slice};

/// Nearest-neighbour 2x upsampling of an NCHW map; its gradient sums each 2x2 block
/// (candle's overwrites instead of summing).
pub fn upsample_nearest2(x: &Tensor) -> Result<Tensor> {
    if super::use_cpu_kernel(x) {
        x.contiguous()?.apply_op1(Upsample2Op)
    } else {
        // Built from reshapes and a broadcast, whose backward (a sum) accumulates correctly.
        let (n, c, h, w) = x.dims4()?;
        x.reshape((n, c, h, 1, w, 1))?.broadcast_as((n, c, h, 2, w, 2))?.reshape((n, c, 2 * h, 2 * w))
    }
}

struct Upsample2Op;

impl CustomOp1 for Upsample2Op {
    fn name(&self) -> &'static str {
        "medmtl-upsample-nearest2"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let &[n, c, h, w] = layout.dims() else { candle_core::bail!("upsample expects NCHW input, got {:?}", layout.dims()) };
        let x = storage_slice(storage, layout)?;
        let mut y = super::slices::zeroed(n * c * 4 * h * w);
        y.par_chunks_mut(4 * h * w).zip(x.par_chunks(h * w)).for_each(|(yp, xp)| {
            for iy in 0..h {
                let src = &xp[iy * w..(iy + 1) * w];
                let row = &mut yp[2 * iy * 2 * w..(2 * iy + 1) * 2 * w];
                for (ix, &v) in src.iter().enumerate() {
                    row[2 * ix] = v;
                    row[2 * ix + 1] = v;
                }
                let (first, second) = yp[2 * iy * 2 * w..(2 * iy + 2) * 2 * w].split_at_mut(2 * w);
                second.copy_from_slice(first);
            }
        });
        Ok((CpuStorage::F32(y), Shape::from((n, c, 2 * h, 2 * w))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (n, c, h, w) = arg.dims4()?;
        let dx = with_slice(grad, |dy| {
            let mut dx = super::slices::zeroed(n * c * h * w);
            dx.par_chunks_mut(h * w).zip(dy.par_chunks(4 * h * w)).for_each(|(dxp, dyp)| {
                for iy in 0..h {
                    let (r0, r1) = (&dyp[2 * iy * 2 * w..][..2 * w], &dyp[(2 * iy + 1) * 2 * w..][..2 * w]);
                    for ix in 0..w {
                        dxp[iy * w + ix] = r0[2 * ix] + r0[2 * ix + 1] + r1[2 * ix] + r1[2 * ix + 1];
                    }
                }
            });
            Ok(dx)
        })?;
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}
