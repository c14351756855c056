//! Assembling mini-batches: image tensors and per-task target tensors from sample indices.

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::{ImageShape, Split};
use crate::task::{Corruption, NoiseDraw, Targets, Task, TaskKind};
use crate::Result;

/// `len(idx) x C x H x W` images.
pub fn images(split: &Split, shape: ImageShape, idx: &[usize], device: &Device) -> Result<Tensor> {
    images_with(split, shape, idx, None, device)
}

/// [`images`], each corrupted by `noise` when given (a denoising group's input): sample `i`
/// of the split gets the noise `draw` assigns to `i`, whatever batch it lands in.
pub fn images_with(
    split: &Split,
    shape: ImageShape,
    idx: &[usize],
    noise: Option<(Corruption, NoiseDraw)>,
    device: &Device,
) -> Result<Tensor> {
    let per = shape.pixels_per_image();
    let all = split.images();
    let mut buf = Vec::with_capacity(idx.len() * per);
    for &i in idx {
        let start = buf.len();
        buf.extend_from_slice(&all[i * per..(i + 1) * per]);
        if let Some((corruption, draw)) = noise {
            corruption.apply(&mut buf[start..], draw, i);
        }
    }
    Ok(Tensor::from_vec(buf, (idx.len(), shape.channels, shape.height, shape.width), device)?)
}

/// The loss's target tensor for one task (see [`crate::task::task_loss`] for the layouts).
pub fn targets(task: &Task, targets: &Targets, idx: &[usize], device: &Device) -> Result<Tensor> {
    let n = idx.len();
    let gather = |per: usize, values: &dyn Fn(usize) -> f32| -> Vec<f32> {
        idx.iter().flat_map(|&i| (0..per).map(move |k| values(i * per + k))).collect()
    };
    Ok(match (&task.kind, targets) {
        (TaskKind::Binary, Targets::Classes(t)) => Tensor::from_vec(idx.iter().map(|&i| t[i] as f32).collect::<Vec<_>>(), (n, 1), device)?,
        (_, Targets::Classes(t)) => Tensor::from_vec(idx.iter().map(|&i| t[i]).collect::<Vec<_>>(), n, device)?,
        (_, Targets::MultiLabels { width, values }) => Tensor::from_vec(gather(*width, &|k| values[k] as f32), (n, *width), device)?,
        (_, Targets::Params { width, values }) => Tensor::from_vec(gather(*width, &|k| values[k]), (n, *width), device)?,
        (_, Targets::Values(t)) => {
            let (mean, std) = task.target_scale;
            Tensor::from_vec(idx.iter().map(|&i| (t[i] - mean) / std).collect::<Vec<_>>(), (n, 1), device)?
        }
        (TaskKind::Segmentation { classes: 2 }, Targets::Masks { height, width, values }) => {
            Tensor::from_vec(gather(height * width, &|k| values[k] as f32), (n, 1, *height, *width), device)?
        }
        (_, Targets::Masks { height, width, values }) => {
            let per = height * width;
            let v: Vec<u32> = idx.iter().flat_map(|&i| values[i * per..(i + 1) * per].iter().map(|&x| x as u32)).collect();
            Tensor::from_vec(v, (n, *height, *width), device)?
        }
        (_, Targets::Images { channels, height, width, values }) => {
            Tensor::from_vec(gather(channels * height * width, &|k| values[k]), (n, *channels, *height, *width), device)?
        }
    })
}

/// A seeded random order of `n` samples.
pub fn shuffled(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}
