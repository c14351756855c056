//! 2-D convolution (NCHW, square stride and zero padding, no dilation or groups) by
//! im2col + GEMM, forward and backward.
//!
//! Forward, per image: `out_i (K x HoWo) = W (K x CKK) . col_i (CKK x HoWo)`.
//! Backward, per image: `dcol = W^T . dy_i`, scattered back into `dx_i` (col2im), and
//! `dW += dy_i . col_i^T`. Images are processed in parallel; the weight gradient is summed
//! over a fixed partition of the batch in a fixed order, so results do not depend on how
//! rayon schedules the work (runs stay bit-for-bit reproducible).

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::gemm::matmul;
use super::slices::{storage_slice, with_slice};

/// Convolution of `x (N, C, H, W)` with `w (K, C, kh, kw)`.
pub fn conv2d(x: &Tensor, w: &Tensor, stride: usize, padding: usize) -> Result<Tensor> {
    if super::use_cpu_kernel(x) {
        x.contiguous()?.apply_op2(&w.contiguous()?, Conv2dOp { stride, padding })
    } else {
        x.conv2d(w, padding, stride, 1, 1)
    }
}

#[derive(Debug, Clone, Copy)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    pad: usize,
    ho: usize,
    wo: usize,
}

impl Geometry {
    fn new(x: &[usize], w: &[usize], stride: usize, pad: usize) -> Result<Self> {
        let (&[n, c, h, wd], &[k, cw, kh, kw]) = (x, w) else {
            candle_core::bail!("conv2d expects 4-d input and kernel, got {x:?} and {w:?}")
        };
        if c != cw {
            candle_core::bail!("conv2d: input has {c} channels, kernel expects {cw}");
        }
        if stride == 0 || h + 2 * pad < kh || wd + 2 * pad < kw {
            candle_core::bail!("conv2d: kernel {kh}x{kw} does not fit input {h}x{wd} with padding {pad}");
        }
        let ho = (h + 2 * pad - kh) / stride + 1;
        let wo = (wd + 2 * pad - kw) / stride + 1;
        Ok(Geometry { n, c, h, w: wd, k, kh, kw, stride, pad, ho, wo })
    }
    fn ckk(&self) -> usize {
        self.c * self.kh * self.kw
    }
    fn hw_out(&self) -> usize {
        self.ho * self.wo
    }
    fn image(&self) -> usize {
        self.c * self.h * self.w
    }
    /// 1x1, stride 1, no padding: the image itself is its column matrix.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == 1 && self.pad == 0
    }
    fn out_shape(&self) -> Shape {
        Shape::from((self.n, self.k, self.ho, self.wo))
    }
}

/// Unfolds one image into its `CKK x HoWo` column matrix.
fn im2col(x: &[f32], g: &Geometry, col: &mut [f32]) {
    let (ho, wo) = (g.ho, g.wo);
    for c in 0..g.c {
        let plane = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &mut col[((c * g.kh + i) * g.kw + j) * ho * wo..][..ho * wo];
                for oy in 0..ho {
                    let iy = (oy * g.stride + i) as isize - g.pad as isize;
                    let out = &mut row[oy * wo..(oy + 1) * wo];
                    if iy < 0 || iy >= g.h as isize {
                        out.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    if g.stride == 1 {
                        // A contiguous run of the input row, zero-padded at the edges.
                        let (lo, hi) = valid_range(j, g);
                        let shift = j as isize - g.pad as isize;
                        out[..lo].fill(0.0);
                        out[hi..].fill(0.0);
                        if lo < hi {
                            let from = (lo as isize + shift) as usize;
                            out[lo..hi].copy_from_slice(&src[from..from + hi - lo]);
                        }
                    } else {
                        for (ox, o) in out.iter_mut().enumerate() {
                            let ix = (ox * g.stride + j) as isize - g.pad as isize;
                            *o = if ix >= 0 && ix < g.w as isize { src[ix as usize] } else { 0.0 };
                        }
                    }
                }
            }
        }
    }
}

/// Adds a `CKK x HoWo` column matrix back into one image (the adjoint of [`im2col`]).
fn col2im_add(col: &[f32], g: &Geometry, dx: &mut [f32]) {
    let (ho, wo) = (g.ho, g.wo);
    for c in 0..g.c {
        let plane = &mut dx[c * g.h * g.w..(c + 1) * g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &col[((c * g.kh + i) * g.kw + j) * ho * wo..][..ho * wo];
                for oy in 0..ho {
                    let iy = (oy * g.stride + i) as isize - g.pad as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    let dst = &mut plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    let src = &row[oy * wo..(oy + 1) * wo];
                    if g.stride == 1 {
                        let (lo, hi) = valid_range(j, g);
                        if lo < hi {
                            let from = (lo as isize + j as isize - g.pad as isize) as usize;
                            for (d, &v) in dst[from..from + hi - lo].iter_mut().zip(&src[lo..hi]) {
                                *d += v;
                            }
                        }
                        continue;
                    }
                    for (ox, &v) in src.iter().enumerate() {
                        let ix = (ox * g.stride + j) as isize - g.pad as isize;
                        if ix >= 0 && ix < g.w as isize {
                            dst[ix as usize] += v;
                        }
                    }
                }
            }
        }
    }
}

/// For stride 1 and kernel column `j`: the output columns `lo..hi` whose input column
/// `ox + j - pad` lies inside the image.
fn valid_range(j: usize, g: &Geometry) -> (usize, usize) {
    let shift = j as isize - g.pad as isize;
    let lo = (-shift).max(0) as usize;
    let hi = ((g.w as isize - shift).max(0) as usize).min(g.wo);
    (lo.min(hi), hi)
}

/// GEMM threads per image: when the batch is smaller than the pool, parallelise inside
/// the product instead of across images.
fn inner_threads(n: usize) -> usize {
    let threads = rayon::current_num_threads();
    if n >= threads {
        1
    } else {
        threads
    }
}

fn forward(x: &[f32], w: &[f32], g: &Geometry) -> Vec<f32> {
    let (ckk, hw) = (g.ckk(), g.hw_out());
    let mut out = vec![0f32; g.n * g.k * hw];
    let inner = inner_threads(g.n);
    out.par_chunks_mut(g.k * hw).zip(x.par_chunks(g.image())).for_each_init(
        || if g.is_pointwise() { Vec::new() } else { vec![0f32; ckk * hw] },
        |col, (out_i, x_i)| {
            let cols: &[f32] = if g.is_pointwise() {
                x_i
            } else {
                im2col(x_i, g, col);
                col
            };
            matmul(g.k, hw, ckk, w, (ckk, 1), cols, (hw, 1), out_i, false, inner);
        },
    );
    out
}

/// Number of batch chunks the weight gradient is summed over: fixed by the batch alone.
const WEIGHT_GRAD_CHUNKS: usize = 8;

/// The weight gradient is accumulated transposed, as `cols . dy^T`: `gemm` then packs the
/// small `dy_i` instead of the whole column matrix (measured on an Intel Xeon with AVX-512,
/// one thread, K = C = 8 at 64 x 64: 405 -> 164 us per image; K = C = 16 at 32 x 32: 164 ->
/// 68 us).
fn backward(x: &[f32], w: &[f32], dy: &[f32], g: &Geometry) -> (Vec<f32>, Vec<f32>) {
    let (ckk, hw) = (g.ckk(), g.hw_out());
    let mut dx = vec![0f32; g.n * g.image()];
    let chunks = g.n.clamp(1, WEIGHT_GRAD_CHUNKS);
    let per_chunk = g.n.div_ceil(chunks);
    let inner = inner_threads(chunks);
    let partials: Vec<Vec<f32>> = dx
        .par_chunks_mut(per_chunk * g.image())
        .zip(x.par_chunks(per_chunk * g.image()))
        .zip(dy.par_chunks(per_chunk * g.k * hw))
        .map(|((dx_c, x_c), dy_c)| {
            // Transposed (CKK x K): see `backward`.
            let mut dw_t = vec![0f32; ckk * g.k];
            let mut col = if g.is_pointwise() { Vec::new() } else { vec![0f32; ckk * hw] };
            let mut dcol = if g.is_pointwise() { Vec::new() } else { vec![0f32; ckk * hw] };
            for ((dx_i, x_i), dy_i) in dx_c.chunks_mut(g.image()).zip(x_c.chunks(g.image())).zip(dy_c.chunks(g.k * hw)) {
                let cols: &[f32] = if g.is_pointwise() {
                    x_i
                } else {
                    im2col(x_i, g, &mut col);
                    &col
                };
                // dW^T (CKK x K) += cols (CKK x HW) . dy_i^T (HW x K)
                matmul(ckk, g.k, hw, cols, (hw, 1), dy_i, (1, hw), &mut dw_t, true, inner);
                // dcol (CKK x HW) = W^T (CKK x K) . dy_i (K x HW)
                if g.is_pointwise() {
                    matmul(ckk, hw, g.k, w, (1, ckk), dy_i, (hw, 1), dx_i, false, inner);
                } else {
                    matmul(ckk, hw, g.k, w, (1, ckk), dy_i, (hw, 1), &mut dcol, false, inner);
                    col2im_add(&dcol, g, dx_i);
                }
            }
            dw_t
        })
        .collect();
    let mut dw_t = vec![0f32; ckk * g.k];
    for part in &partials {
        for (a, b) in dw_t.iter_mut().zip(part) {
            *a += b;
        }
    }
    let mut dw = vec![0f32; g.k * ckk];
    for (j, row) in dw_t.chunks(g.k).enumerate() {
        for (k, &v) in row.iter().enumerate() {
            dw[k * ckk + j] = v;
        }
    }
    (dx, dw)
}

struct Conv2dOp {
    stride: usize,
    padding: usize,
}

impl CustomOp2 for Conv2dOp {
    fn name(&self) -> &'static str {
        "medmtl-conv2d"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let g = Geometry::new(l1.dims(), l2.dims(), self.stride, self.padding)?;
        let out = forward(storage_slice(s1, l1)?, storage_slice(s2, l2)?, &g);
        Ok((CpuStorage::F32(out), g.out_shape()))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _res: &Tensor, dy: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = Geometry::new(x.dims(), w.dims(), self.stride, self.padding)?;
        let (dx, dw) = with_slice(x, |xs| with_slice(w, |ws| with_slice(dy, |dys| Ok(backward(xs, ws, dys, &g)))))?;
        Ok((Some(Tensor::from_vec(dx, x.shape(), x.device())?), Some(Tensor::from_vec(dw, w.shape(), w.device())?)))
    }
}
