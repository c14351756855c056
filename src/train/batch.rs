//! Assembling mini-batches: image tensors and per-task target tensors from sample indices.

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::{ImageShape, Split};
use crate::task::{Targets, Task, TaskKind};
use crate::Result;

/// `len(idx) x C x H x W` images.
pub fn images(split: &Split, shape: ImageShape, idx: &[usize], device: &Device) -> Result<Tensor> {
    let per = shape.pixels_per_image();
    let all = split.images();
    let mut buf = Vec::with_capacity(idx.len() * per);
    for &i in idx {
        buf.extend_from_slice(&all[i * per..(i + 1) * per]);
    }
    Ok(Tensor::from_vec(buf, (idx.len(), shape.channels, shape.height, shape.width), device)?)
}

/// The loss's target tensor for one task: `N x 1` floats (binary; regression normalised
/// with the training mean and std) or `N` class indices.
pub fn targets(task: &Task, targets: &Targets, idx: &[usize], device: &Device) -> Result<Tensor> {
    Ok(match (&task.kind, targets) {
        (TaskKind::Binary, Targets::Classes(t)) => {
            let v: Vec<f32> = idx.iter().map(|&i| t[i] as f32).collect();
            Tensor::from_vec(v, (idx.len(), 1), device)?
        }
        (_, Targets::Classes(t)) => {
            let v: Vec<u32> = idx.iter().map(|&i| t[i]).collect();
            Tensor::from_vec(v, idx.len(), device)?
        }
        (_, Targets::Values(t)) => {
            let (mean, std) = task.target_scale;
            let v: Vec<f32> = idx.iter().map(|&i| (t[i] - mean) / std).collect();
            Tensor::from_vec(v, (idx.len(), 1), device)?
        }
    })
}

/// A seeded random order of `n` samples.
pub fn shuffled(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}
