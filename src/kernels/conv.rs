//! 2-D convolution (NCHW, square stride and zero padding, no dilation or groups) by
//! im2col + GEMM, forward and backward.
//!
//! Forward, per image: `out_i (K x HoWo) = W (K x CKK) . col_i (CKK x HoWo)`.
//! Backward, per image: `dcol = W^T . dy_i`, scattered back into `dx_i` (col2im), and
//! `dW += dy_i . col_i^T`. Images are processed in parallel; the weight gradient is summed
//! over a fixed partition of the batch in a fixed order, so results do not depend on how
//! rayon schedules the work (runs stay bit-for-bit reproducible).
//!
//! Small feature maps (a ResNet's last stages: 7x7, 4x4) make thin products, which `gemm`
//! runs on its narrowest micro-kernel and for which it re-packs the whole weight matrix
//! per image. There, several images are unfolded side by side into one column matrix and
//! the forward product and the input gradient's product run once per group (see
//! [`Geometry::group`]). Grouping leaves every output bit unchanged: each output element
//! is the same dot product, summed in the same blocks (the test below checks it).

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

    /// How many of `available` images to unfold into one column matrix: enough for
    /// [`MIN_GEMM_COLUMNS`] columns, and only where grouping is exact.
    ///
    /// Exact: `gemm` sums the reduction dimension in blocks whose length depends on that
    /// dimension alone, except (a) products whose two other sides are both <= 64, which it
    /// blocks by 512, and (b) degenerate products (a side of 1, a reduction of <= 2) that
    /// go to its matrix-vector paths. Grouping widens one side (the pixels), so it is
    /// exact unless it moves a product across (a) or out of (b). The forward product
    /// reduces over C·kh·kw with sides (pixels, K); the input gradient's over K with sides
    /// (pixels, C·kh·kw).
    fn group(&self, available: usize) -> usize {
        let (hw, ckk, k) = (self.hw_out(), self.ckk(), self.k);
        let degenerate = hw < 2 || k < 3 || ckk < 3;
        let forward_reblocks = hw <= 64 && k <= 64 && ckk > 512;
        let input_grad_reblocks = hw <= 64 && ckk <= 64 && k > 512;
        if self.is_pointwise() || degenerate || forward_reblocks || input_grad_reblocks {
            return 1;
        }
        MIN_GEMM_COLUMNS.div_ceil(hw).clamp(1, available.max(1))
    }
}

/// Column-matrix width that grouping aims for (see [`Geometry::group`]). Measured on an
/// Intel Xeon with AVX-512, 2 threads, batch 128, forward + backward of one 3x3 layer:
/// 512 channels at 4x4 308 -> 193-226 ms for 256-2048 columns; 256 at 7x7 and 128 at 14x14
/// within noise (+-10 %) for 128-1024 columns, slower at 2048 (buffers leave the L2 cache).
const MIN_GEMM_COLUMNS: usize = 512;

/// Unfolds one image into its `CKK x HoWo` column matrix, whose rows lie `ld` apart in
/// `col` (`ld = HoWo` for one image, wider when images sit side by side).
fn im2col(x: &[f32], g: &Geometry, col: &mut [f32], ld: usize) {
    let (ho, wo) = (g.ho, g.wo);
    for c in 0..g.c {
        let plane = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &mut col[((c * g.kh + i) * g.kw + j) * ld..][..ho * wo];
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

/// Adds a `CKK x HoWo` column matrix (rows `ld` apart) back into one image (the adjoint
/// of [`im2col`]).
fn col2im_add(col: &[f32], g: &Geometry, dx: &mut [f32], ld: usize) {
    let (ho, wo) = (g.ho, g.wo);
    for c in 0..g.c {
        let plane = &mut dx[c * g.h * g.w..(c + 1) * g.h * g.w];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &col[((c * g.kh + i) * g.kw + j) * ld..][..ho * wo];
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

fn forward(x: &[f32], w: &[f32], g: &Geometry, max_group: usize) -> Vec<f32> {
    let (ckk, hw, k) = (g.ckk(), g.hw_out(), g.k);
    let mut out = super::slices::zeroed(g.n * k * hw);
    let group = g.group(g.n.div_ceil(rayon::current_num_threads()).min(max_group));
    let inner = inner_threads(g.n.div_ceil(group));
    out.par_chunks_mut(group * k * hw).zip(x.par_chunks(group * g.image())).for_each_init(
        || (Vec::new(), Vec::new()),
        |(col, wide_out): &mut (Vec<f32>, Vec<f32>), (out_c, x_c)| {
            let images = x_c.len() / g.image();
            if g.is_pointwise() {
                matmul(k, hw, ckk, w, (ckk, 1), x_c, (hw, 1), out_c, false, inner);
                return;
            }
            let ld = images * hw;
            col.resize(ckk * ld, 0.0);
            for (i, x_i) in x_c.chunks(g.image()).enumerate() {
                im2col(x_i, g, &mut col[i * hw..], ld);
            }
            if images == 1 {
                matmul(k, hw, ckk, w, (ckk, 1), col, (hw, 1), out_c, false, inner);
                return;
            }
            // out (K x images·HW) = W . cols, then each image's K x HW block to its place.
            wide_out.resize(k * ld, 0.0);
            matmul(k, ld, ckk, w, (ckk, 1), col, (ld, 1), wide_out, false, inner);
            for (i, out_i) in out_c.chunks_mut(k * hw).enumerate() {
                for (row, dst) in out_i.chunks_mut(hw).enumerate() {
                    dst.copy_from_slice(&wide_out[row * ld + i * hw..][..hw]);
                }
            }
        },
    );
    out
}

/// Number of batch chunks the weight gradient is summed over: fixed by the batch alone.
const WEIGHT_GRAD_CHUNKS: usize = 8;

/// Per-thread buffers of the backward pass, reused across the images of a chunk.
#[derive(Default)]
struct Scratch {
    col: Vec<f32>,
    dcol: Vec<f32>,
    wide_dy: Vec<f32>,
}

/// The weight gradient is accumulated transposed, as `cols . dy^T`: `gemm` then packs the
/// small `dy_i` instead of the whole column matrix (measured on an Intel Xeon with AVX-512,
/// one thread, K = C = 8 at 64 x 64: 405 -> 164 us per image; K = C = 16 at 32 x 32: 164 ->
/// 68 us). It stays one product per image, added in batch order, whatever the grouping,
/// so that its sums (and the trained weights) do not depend on the group size.
fn backward(x: &[f32], w: &[f32], dy: &[f32], g: &Geometry, max_group: usize) -> (Vec<f32>, Vec<f32>) {
    let (ckk, hw, k) = (g.ckk(), g.hw_out(), g.k);
    let mut dx = super::slices::zeroed(g.n * g.image());
    let chunks = g.n.clamp(1, WEIGHT_GRAD_CHUNKS);
    let per_chunk = g.n.div_ceil(chunks);
    let group = g.group(per_chunk.min(max_group));
    let inner = inner_threads(chunks);
    let partials: Vec<Vec<f32>> = dx
        .par_chunks_mut(per_chunk * g.image())
        .zip(x.par_chunks(per_chunk * g.image()))
        .zip(dy.par_chunks(per_chunk * k * hw))
        .map_init(Scratch::default, |s, ((dx_c, x_c), dy_c)| {
            // Transposed (CKK x K): see `backward`.
            let mut dw_t = vec![0f32; ckk * k];
            for ((dx_g, x_g), dy_g) in
                dx_c.chunks_mut(group * g.image()).zip(x_c.chunks(group * g.image())).zip(dy_c.chunks(group * k * hw))
            {
                backward_group(x_g, w, dy_g, g, dx_g, &mut dw_t, s, inner);
            }
            dw_t
        })
        .collect();
    (dx, sum_transposed(&partials, ckk, k))
}

/// `sum(partials)^T` for `rows x cols` partials, each element summed in partial order (so
/// the result does not depend on the thread count). Parallel over blocks of 16 output rows,
/// which read the partials a cache line at a time.
fn sum_transposed(partials: &[Vec<f32>], rows: usize, cols: usize) -> Vec<f32> {
    const BLOCK: usize = 16;
    let mut out = super::slices::zeroed(rows * cols);
    out.par_chunks_mut(BLOCK * rows).enumerate().for_each(|(b, out_block)| {
        let (c0, width) = (b * BLOCK, out_block.len() / rows);
        let mut acc = [0f32; BLOCK];
        for r in 0..rows {
            acc[..width].fill(0.0);
            for part in partials {
                for (a, &v) in acc[..width].iter_mut().zip(&part[r * cols + c0..][..width]) {
                    *a += v;
                }
            }
            for (j, &a) in acc[..width].iter().enumerate() {
                out_block[j * rows + r] = a;
            }
        }
    });
    out
}

/// The backward pass of a few consecutive images: their weight-gradient terms added to
/// `dw_t` in order, their input gradients written to `dx_g`.
#[allow(clippy::too_many_arguments)]
fn backward_group(x_g: &[f32], w: &[f32], dy_g: &[f32], g: &Geometry, dx_g: &mut [f32], dw_t: &mut [f32], s: &mut Scratch, inner: usize) {
    let (ckk, hw, k) = (g.ckk(), g.hw_out(), g.k);
    let images = x_g.len() / g.image();
    let ld = images * hw;
    if g.is_pointwise() {
        for ((dx_i, x_i), dy_i) in dx_g.chunks_mut(g.image()).zip(x_g.chunks(g.image())).zip(dy_g.chunks(k * hw)) {
            // dW^T (CKK x K) += x_i (CKK x HW) . dy_i^T (HW x K); dx_i = W^T . dy_i
            matmul(ckk, k, hw, x_i, (hw, 1), dy_i, (1, hw), dw_t, true, inner);
            matmul(ckk, hw, k, w, (1, ckk), dy_i, (hw, 1), dx_i, false, inner);
        }
        return;
    }
    s.col.resize(ckk * ld, 0.0);
    s.dcol.resize(ckk * ld, 0.0);
    for (i, (x_i, dy_i)) in x_g.chunks(g.image()).zip(dy_g.chunks(k * hw)).enumerate() {
        im2col(x_i, g, &mut s.col[i * hw..], ld);
        // dW^T (CKK x K) += cols_i (CKK x HW) . dy_i^T (HW x K)
        matmul(ckk, k, hw, &s.col[i * hw..], (ld, 1), dy_i, (1, hw), dw_t, true, inner);
    }
    // dcol (CKK x images·HW) = W^T (CKK x K) . dy (K x images·HW)
    let dy_wide: &[f32] = if images == 1 {
        dy_g
    } else {
        s.wide_dy.resize(k * ld, 0.0);
        for (i, dy_i) in dy_g.chunks(k * hw).enumerate() {
            for (row, src) in dy_i.chunks(hw).enumerate() {
                s.wide_dy[row * ld + i * hw..][..hw].copy_from_slice(src);
            }
        }
        &s.wide_dy
    };
    matmul(ckk, ld, k, w, (1, ckk), dy_wide, (ld, 1), &mut s.dcol, false, inner);
    for (i, dx_i) in dx_g.chunks_mut(g.image()).enumerate() {
        col2im_add(&s.dcol[i * hw..], g, dx_i, ld);
    }
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
        let out = forward(storage_slice(s1, l1)?, storage_slice(s2, l2)?, &g, usize::MAX);
        Ok((CpuStorage::F32(out), g.out_shape()))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _res: &Tensor, dy: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = Geometry::new(x.dims(), w.dims(), self.stride, self.padding)?;
        let (dx, dw) = with_slice(x, |xs| with_slice(w, |ws| with_slice(dy, |dys| Ok(backward(xs, ws, dys, &g, usize::MAX)))))?;
        Ok((Some(Tensor::from_vec(dx, x.shape(), x.device())?), Some(Tensor::from_vec(dw, w.shape(), w.device())?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, salt: usize) -> Vec<f32> {
        (0..len).map(|i| (((i * 7919 + salt * 104_729) % 2003) as f32 - 1001.0) / 997.0).collect()
    }

    /// The parallel blocked sum of the weight-gradient partials is, bit for bit, the
    /// serial sum in partial order followed by a transpose.
    #[test]
    fn blocked_partial_sum_equals_the_serial_sum() {
        for (rows, cols, parts) in [(4608, 512, 8), (27, 64, 3), (5, 17, 1)] {
            let partials: Vec<Vec<f32>> = (0..parts).map(|p| values(rows * cols, p + 5)).collect();
            let mut serial = vec![0f32; rows * cols];
            for part in &partials {
                for (a, b) in serial.iter_mut().zip(part) {
                    *a += b;
                }
            }
            let blocked = sum_transposed(&partials, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(blocked[c * rows + r].to_bits(), serial[r * cols + c].to_bits(), "{rows}x{cols} at {r},{c}");
                }
            }
        }
    }

    /// Unfolding several images into one product changes no bit of the output, the input
    /// gradient or the weight gradient: on the shapes of ResNet-18 (28)'s last two stages,
    /// its strided and 1x1 shortcut convolutions, and a small network's maps.
    #[test]
    fn grouped_images_give_the_same_bits_as_one_image_at_a_time() {
        // (n, c, h, k, kernel, stride, pad)
        let shapes = [
            (6, 512, 4, 512, 3, 1, 1),
            (5, 256, 7, 256, 3, 1, 1),
            (4, 128, 14, 256, 3, 2, 1),
            (4, 128, 14, 256, 1, 2, 0),
            (7, 16, 5, 32, 3, 1, 1),
            (3, 8, 10, 70, 3, 1, 1),
        ];
        for (n, c, h, k, kernel, stride, pad) in shapes {
            let g = Geometry::new(&[n, c, h, h], &[k, c, kernel, kernel], stride, pad).unwrap();
            let (x, w) = (values(n * g.image(), 1), values(k * g.ckk(), 2));
            let dy = values(n * k * g.hw_out(), 3);
            let what = format!("{n}x{c}x{h}x{h} * {k}x{c}x{kernel}x{kernel} stride {stride}");
            let one = forward(&x, &w, &g, 1);
            let grouped = forward(&x, &w, &g, usize::MAX);
            assert!(one.iter().zip(&grouped).all(|(a, b)| a.to_bits() == b.to_bits()), "forward, {what}");
            let (dx1, dw1) = backward(&x, &w, &dy, &g, 1);
            let (dxg, dwg) = backward(&x, &w, &dy, &g, usize::MAX);
            assert!(dx1.iter().zip(&dxg).all(|(a, b)| a.to_bits() == b.to_bits()), "input gradient, {what}");
            assert!(dw1.iter().zip(&dwg).all(|(a, b)| a.to_bits() == b.to_bits()), "weight gradient, {what}");
        }
        // The shapes above do group (else the test would compare a path with itself).
        let layer4 = Geometry::new(&[6, 512, 4, 4], &[512, 512, 3, 3], 1, 1).unwrap();
        assert!(layer4.group(6) > 1);
    }
}
