//! Batch normalisation over NCHW channels with an optional fused ReLU.
//!
//! Training forward: one pass for the per-channel sums (f64 accumulators), one pass writing
//! `y = max(0?, gamma * (x - mean) / sqrt(var + eps) + beta)`. Backward: one pass for the
//! two per-channel sums `sum(g)` and `sum(g * xhat)` (with `g = dy` masked by `y > 0`
//! when ReLU is fused), one pass writing
//! `dx = gamma / sqrt(var + eps) * (g - sum(g)/M - xhat * sum(g * xhat)/M)`.
//! The batch statistics are handed back to the layer for its running averages.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::slices::{storage_slice, with_slice};

/// Per-channel statistics of one training batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStats {
    /// Mean per channel.
    pub mean: Vec<f32>,
    /// Biased variance (divided by M), as used for normalisation.
    pub var: Vec<f32>,
    /// Number of values per channel (N * H * W).
    pub count: usize,
}

/// Training-mode batch norm (optionally followed by ReLU) of `x (N, C, H, W)`, returning
/// the output and the batch statistics. On non-CPU devices this is built from candle ops.
pub fn batch_norm_train(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64, relu: bool) -> Result<(Tensor, BatchStats)> {
    if super::use_cpu_kernel(x) {
        let stats = Arc::new(Mutex::new(None));
        let op = BatchNormOp { eps, relu, stats: stats.clone() };
        let y = x.contiguous()?.apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
        let stats = stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let stats = stats.ok_or_else(|| candle_core::Error::Msg("batch norm produced no statistics".into()))?;
        return Ok((y, stats));
    }
    let c = x.dim(1)?;
    let count = x.elem_count() / c;
    let mean = x.mean_keepdim((0, 2, 3))?;
    let centered = x.broadcast_sub(&mean)?;
    let var = centered.sqr()?.mean_keepdim((0, 2, 3))?;
    let inv_std = (&var + eps)?.sqrt()?.recip()?;
    let y = centered.broadcast_mul(&inv_std)?.broadcast_mul(&gamma.reshape((1, c, 1, 1))?)?.broadcast_add(&beta.reshape((1, c, 1, 1))?)?;
    let y = if relu { y.relu()? } else { y };
    let stats = BatchStats { mean: mean.flatten_all()?.to_vec1()?, var: var.flatten_all()?.to_vec1()?, count };
    Ok((y, stats))
}

/// Inference-mode batch norm (optionally followed by ReLU): `y = max(0?, x * scale + shift)`
/// per channel, with `scale` and `shift` folded from the running statistics.
///
/// One parallel pass instead of candle's broadcast multiply and add (each a full pass on the
/// calling thread) and a ReLU pass. The products and sums are the same float operations in
/// the same order, so the output is bit-identical. It has no backward pass: when any input
/// takes part in a gradient, candle's differentiable ops run instead.
pub fn batch_norm_eval(x: &Tensor, scale: &Tensor, shift: &Tensor, relu: bool) -> Result<Tensor> {
    let c = x.dim(1)?;
    let tracked = x.track_op() || scale.track_op() || shift.track_op();
    if super::use_cpu_kernel(x) && !tracked {
        let (_, _, hw) = dims(x.dims())?;
        let y = with_slice(x, |xs| with_slice(scale, |a| with_slice(shift, |b| Ok(scale_shift(xs, a, b, hw, relu)))))?;
        return Tensor::from_vec(y, x.shape(), x.device());
    }
    let y = x.broadcast_mul(&scale.reshape((1, c, 1, 1))?)?.broadcast_add(&shift.reshape((1, c, 1, 1))?)?;
    if relu {
        super::relu(&y)
    } else {
        Ok(y)
    }
}

/// `max(0?, x * scale[ch] + shift[ch])` over NCHW planes of `hw` values, in parallel.
fn scale_shift(x: &[f32], scale: &[f32], shift: &[f32], hw: usize, relu: bool) -> Vec<f32> {
    let c = scale.len();
    let mut y = super::slices::zeroed(x.len());
    y.par_chunks_mut(hw).zip(x.par_chunks(hw)).enumerate().for_each(|(i, (yp, xp))| {
        let (a, b) = (scale[i % c], shift[i % c]);
        if relu {
            for (o, &v) in yp.iter_mut().zip(xp) {
                *o = (v * a + b).max(0.0);
            }
        } else {
            for (o, &v) in yp.iter_mut().zip(xp) {
                *o = v * a + b;
            }
        }
    });
    y
}

struct BatchNormOp {
    eps: f64,
    relu: bool,
    stats: Arc<Mutex<Option<BatchStats>>>,
}

fn dims(shape: &[usize]) -> Result<(usize, usize, usize)> {
    match *shape {
        [n, c, h, w] => Ok((n, c, h * w)),
        _ => candle_core::bail!("batch norm expects NCHW input, got {shape:?}"),
    }
}

fn channel_stats(x: &[f32], n: usize, c: usize, hw: usize) -> BatchStats {
    let m = (n * hw) as f64;
    let (mean, var): (Vec<f32>, Vec<f32>) = (0..c)
        .into_par_iter()
        .map(|ch| {
            let (mut s, mut ss) = (0f64, 0f64);
            for i in 0..n {
                let plane = &x[(i * c + ch) * hw..][..hw];
                let (mut ps, mut pss) = (0f32, 0f32);
                for &v in plane {
                    ps += v;
                    pss += v * v;
                }
                s += ps as f64;
                ss += pss as f64;
            }
            let mean = s / m;
            ((mean) as f32, (ss / m - mean * mean).max(0.0) as f32)
        })
        .unzip();
    BatchStats { mean, var, count: n * hw }
}

impl CustomOp3 for BatchNormOp {
    fn name(&self) -> &'static str {
        "medmtl-batch-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, c, hw) = dims(l1.dims())?;
        let (x, gamma, beta) = (storage_slice(s1, l1)?, storage_slice(s2, l2)?, storage_slice(s3, l3)?);
        let stats = channel_stats(x, n, c, hw);
        let scale: Vec<f32> = (0..c).map(|ch| gamma[ch] / (stats.var[ch] + self.eps as f32).sqrt()).collect();
        let shift: Vec<f32> = (0..c).map(|ch| beta[ch] - stats.mean[ch] * scale[ch]).collect();
        let y = scale_shift(x, &scale, &shift, hw, self.relu);
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) = Some(stats);
        Ok((CpuStorage::F32(y), Shape::from(l1.dims())))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        res: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, hw) = dims(x.dims())?;
        let stats = self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (dx, dgamma, dbeta) = with_slice(x, |xs| {
            let stats = stats.unwrap_or_else(|| channel_stats(xs, n, c, hw));
            with_slice(gamma, |gs| {
                with_slice(res, |ys| with_slice(dy, |dys| Ok(backward(xs, gs, ys, dys, &stats, self.eps as f32, self.relu, (n, c, hw)))))
            })
        })?;
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), x.device())?),
            Some(Tensor::from_vec(dgamma, c, x.device())?),
            Some(Tensor::from_vec(dbeta, c, x.device())?),
        ))
    }
}

#[allow(clippy::too_many_arguments)]
fn backward(
    x: &[f32],
    gamma: &[f32],
    y: &[f32],
    dy: &[f32],
    stats: &BatchStats,
    eps: f32,
    relu: bool,
    (n, c, hw): (usize, usize, usize),
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let inv_std: Vec<f32> = stats.var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let masked = |yv: f32, g: f32| if relu && yv <= 0.0 { 0.0 } else { g };
    let (sum_g, sum_gxhat): (Vec<f32>, Vec<f32>) = (0..c)
        .into_par_iter()
        .map(|ch| {
            let (mean, istd) = (stats.mean[ch], inv_std[ch]);
            let (mut sg, mut sgx) = (0f64, 0f64);
            for i in 0..n {
                let off = (i * c + ch) * hw;
                let (mut psg, mut psgx) = (0f32, 0f32);
                for k in off..off + hw {
                    let g = masked(y[k], dy[k]);
                    psg += g;
                    psgx += g * (x[k] - mean);
                }
                sg += psg as f64;
                sgx += psgx as f64;
            }
            (sg as f32, (sgx * istd as f64) as f32)
        })
        .unzip();
    let m = stats.count as f32;
    let mut dx = super::slices::zeroed(x.len());
    dx.par_chunks_mut(hw).enumerate().for_each(|(i, dxp)| {
        let ch = i % c;
        let (mean, istd) = (stats.mean[ch], inv_std[ch]);
        let a = gamma[ch] * istd;
        let (mg, mgx) = (sum_g[ch] / m, sum_gxhat[ch] / m);
        let off = i * hw;
        for (j, o) in dxp.iter_mut().enumerate() {
            let k = off + j;
            let xhat = (x[k] - mean) * istd;
            *o = a * (masked(y[k], dy[k]) - mg - xhat * mgx);
        }
    });
    (dx, sum_gxhat, sum_g)
}
