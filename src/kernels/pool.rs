//! 2x2 max pooling with stride 2 (odd trailing rows/columns dropped, as PyTorch and candle
//! do). The backward routes each output gradient to the first maximum of its window.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::slices::{storage_slice, with_slice};

/// 2x2 max pooling with stride 2 (odd trailing rows and columns dropped, as PyTorch's
/// floor mode), with a correct gradient (candle's scales it by 1/4).
pub fn max_pool2(x: &Tensor) -> Result<Tensor> {
    if super::use_cpu_kernel(x) {
        x.contiguous()?.apply_op1(MaxPool2Op)
    } else {
        x.max_pool2d(2)
    }
}

struct MaxPool2Op;

fn plane_dims(dims: &[usize]) -> Result<(usize, usize, usize)> {
    match *dims {
        [n, c, h, w] if h >= 2 && w >= 2 => Ok((n * c, h, w)),
        _ => candle_core::bail!("max_pool2 expects NCHW input of at least 2x2, got {dims:?}"),
    }
}

impl CustomOp1 for MaxPool2Op {
    fn name(&self) -> &'static str {
        "medmtl-max-pool2"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (planes, h, w) = plane_dims(layout.dims())?;
        let (ho, wo) = (h / 2, w / 2);
        let x = storage_slice(storage, layout)?;
        let mut y = super::slices::zeroed(planes * ho * wo);
        y.par_chunks_mut(ho * wo).zip(x.par_chunks(h * w)).for_each(|(yp, xp)| {
            for oy in 0..ho {
                let (r0, r1) = (&xp[2 * oy * w..][..w], &xp[(2 * oy + 1) * w..][..w]);
                for ox in 0..wo {
                    let i = 2 * ox;
                    yp[oy * wo + ox] = r0[i].max(r0[i + 1]).max(r1[i]).max(r1[i + 1]);
                }
            }
        });
        let d = layout.dims();
        Ok((CpuStorage::F32(y), Shape::from((d[0], d[1], ho, wo))))
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (planes, h, w) = plane_dims(arg.dims())?;
        let (ho, wo) = (h / 2, w / 2);
        let dx = with_slice(arg, |x| {
            with_slice(res, |y| {
                with_slice(grad, |dy| {
                    let mut dx = super::slices::zeroed(planes * h * w);
                    dx.par_chunks_mut(h * w).zip(x.par_chunks(h * w)).zip(y.par_chunks(ho * wo).zip(dy.par_chunks(ho * wo))).for_each(
                        |((dxp, xp), (yp, dyp))| {
                            for oy in 0..ho {
                                for ox in 0..wo {
                                    let m = yp[oy * wo + ox];
                                    let window = [
                                        2 * oy * w + 2 * ox,
                                        2 * oy * w + 2 * ox + 1,
                                        (2 * oy + 1) * w + 2 * ox,
                                        (2 * oy + 1) * w + 2 * ox + 1,
                                    ];
                                    let at = window.into_iter().find(|&k| xp[k] == m).unwrap_or(window[0]);
                                    dxp[at] += dyp[oy * wo + ox];
                                }
                            }
                        },
                    );
                    Ok(dx)
                })
            })
        })?;
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}
