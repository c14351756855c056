//! How similar the representations of separately trained task networks are: linear CKA
//! (Kornblith et al., ICML 2019; [`crate::stats::linear_cka`]) between the STL networks of
//! each task pair at every encoder stage, on test images after training. Two tasks whose
//! own networks learn alike features are candidates for sharing one encoder.

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::batch;
use crate::data::{ImageShape, Split};
use crate::model::arch::Architecture;
use crate::model::params::no_grad;
use crate::stats::linear_cka;
use crate::Result;

/// Test images compared (the first ones of the split): CKA from a few hundred samples is
/// stable to about ±0.01 and the `n x n` Gram matrices stay small.
pub const CKA_SAMPLES: usize = 256;

/// Feature maps are average-pooled to at most this many pixels a side before comparison,
/// so wide early stages do not dominate the cost; CKA stays invariant to what it was.
pub const CKA_MAX_SIDE: usize = 8;

/// CKA between the task networks of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepresentationSimilarity {
    /// Test images compared.
    pub samples: usize,
    /// One entry per task pair.
    pub pairs: Vec<CkaPair>,
}

/// Linear CKA of two tasks' networks at each encoder stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CkaPair {
    /// First task's name.
    pub a: String,
    /// Second task's name.
    pub b: String,
    /// CKA at each encoder stage, first stage first.
    pub per_stage: Vec<f64>,
}

/// CKA between every pair of task networks at each stage; `None` when the design shares its
/// encoder (there is one representation, nothing to compare) or there is one task.
pub fn task_network_similarity(
    model: &dyn Architecture,
    task_names: &[String],
    split: &Split,
    shape: ImageShape,
    device: &Device,
) -> Result<Option<RepresentationSimilarity>> {
    let n = split.len().min(CKA_SAMPLES);
    if task_names.len() < 2 || n < 2 {
        return Ok(None);
    }
    let _no_grad = no_grad();
    // features[task][stage]: n x p, row-major.
    let mut features: Vec<Vec<Vec<f32>>> = Vec::with_capacity(task_names.len());
    for t in 0..task_names.len() {
        let mut stages: Vec<Vec<f32>> = Vec::new();
        for start in (0..n).step_by(64) {
            let idx: Vec<usize> = (start..(start + 64).min(n)).collect();
            let x = batch::images(split, shape, &idx, device)?;
            let Some(levels) = model.task_encoder_levels(&x, t) else { return Ok(None) };
            for (s, level) in levels?.iter().enumerate() {
                let pooled = pool(level)?;
                if stages.len() <= s {
                    stages.push(Vec::new());
                }
                stages[s].extend(pooled.flatten_all()?.to_vec1::<f32>()?);
            }
        }
        features.push(stages);
    }
    let mut pairs = Vec::new();
    for a in 0..task_names.len() {
        for b in a + 1..task_names.len() {
            let per_stage = features[a].iter().zip(&features[b]).map(|(x, y)| linear_cka(x, y, n)).collect();
            pairs.push(CkaPair { a: task_names[a].clone(), b: task_names[b].clone(), per_stage });
        }
    }
    Ok(Some(RepresentationSimilarity { samples: n, pairs }))
}

/// Average-pools an `N x C x H x W` map to at most [`CKA_MAX_SIDE`] a side (when the side
/// divides evenly; otherwise it is left as it is).
fn pool(level: &Tensor) -> Result<Tensor> {
    let level = level.to_dtype(candle_core::DType::F32)?;
    let dims = level.dims();
    if dims.len() != 4 {
        return Ok(level);
    }
    let (h, w) = (dims[2], dims[3]);
    let k = h.div_ceil(CKA_MAX_SIDE);
    if k > 1 && h.is_multiple_of(k) && w.is_multiple_of(k) {
        Ok(level.avg_pool2d(k)?)
    } else {
        Ok(level)
    }
}
