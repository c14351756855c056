//! Two-time-point input: how a design reads a longitudinal pair (baseline and follow-up,
//! stacked as channels by [`crate::data::longitudinal`]).
//!
//! - [`PairMode::Siamese`]: the design's encoder runs on both time points with the same
//!   weights (the pair is stacked along the batch, so both halves pass through one
//!   encoder and its batch statistics), and every head fuses each feature level of the two
//!   time points as `[f_t0, f_t1, f_t1 - f_t0]`, projected back to the level's width by a
//!   1x1 convolution + BN + ReLU (concatenation and difference, as Siamese
//!   change-detection networks do: Daudt, Le Saux & Boulch, "Fully convolutional Siamese
//!   networks for change detection", ICIP 2018). Works with every design whose heads are
//!   medmtl's shared task heads (STL, HPS, cross-stitch, MTAN, the expert designs).
//! - [`PairMode::Single`]: each task's network sees one time point only (the task's
//!   `time_point`, the follow-up by default): the single-time-point baseline, which cannot
//!   see change except through what one scan shows.
//!
//! Without a mode, a design reads the pair as one image with both time points as channels
//! (early fusion).

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{Architecture, Design, ModelSpec};
use crate::hyper::ParamTable;
use crate::model::params::{ParamBuilder, ParamStore};
use crate::{Error, Result};

/// How a design reads a two-time-point sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum PairMode {
    /// One encoder, shared weights, on both time points; heads fuse the two feature sets.
    Siamese,
    /// Each task's network sees only its own time point.
    Single,
}

/// The pair input of a model: its mode, the channels of one time point and, for
/// [`PairMode::Single`], the time point each task sees.
#[derive(Debug, Clone, PartialEq)]
pub struct PairInput {
    /// How the design reads the pair.
    pub mode: PairMode,
    /// Image channels of one time point.
    pub channels: usize,
    /// Per task, the time point (0 baseline, 1 follow-up) it sees in [`PairMode::Single`].
    pub task_time_points: Vec<usize>,
}

/// `N x 2C x H x W` pairs to `2N x C x H x W`: every baseline first, then every follow-up.
pub fn stack_time_points(x: &Tensor, channels: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if c != 2 * channels {
        return Err(Error::Invalid(format!("a pair batch has {c} channels; two time points of {channels} need {}", 2 * channels)));
    }
    Ok(x.reshape((n, 2, channels, h, w))?.transpose(0, 1)?.contiguous()?.reshape((2 * n, channels, h, w))?)
}

/// A design wrapped to read pairs.
struct Paired {
    inner: Box<dyn Architecture>,
    input: PairInput,
}

impl Paired {
    fn time_point(&self, x: &Tensor, task: usize) -> Result<Tensor> {
        let c = self.input.channels;
        let t = self.input.task_time_points.get(task).copied().unwrap_or(1);
        Ok(x.narrow(1, t * c, c)?.contiguous()?)
    }
}

impl Architecture for Paired {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        match self.input.mode {
            PairMode::Siamese => {
                let n = x.dim(0)?;
                let outputs = self.inner.forward(&stack_time_points(x, self.input.channels)?, tasks, train)?;
                if let Some(bad) = outputs.iter().find(|o| o.dim(0).is_ok_and(|d| d != n)) {
                    return Err(Error::Invalid(format!(
                        "this design's heads do not fuse the two time points (an output of batch {} for {n} pairs): \
                         Siamese pairs need medmtl's shared task heads (stl, hps, cross-stitch, mtan, mmoe, cgc, ple)",
                        bad.dim(0)?
                    )));
                }
                Ok(outputs)
            }
            PairMode::Single => tasks
                .iter()
                .map(|&t| {
                    let mut out = self.inner.forward(&self.time_point(x, t)?, &[t], train)?;
                    out.pop().ok_or_else(|| Error::Invalid("a design returned no output".into()))
                })
                .collect(),
        }
    }

    fn params(&self) -> &ParamStore {
        self.inner.params()
    }

    fn start_epoch(&self, epoch: usize) {
        self.inner.start_epoch(epoch)
    }

    fn take_auxiliary_loss(&self) -> Option<(usize, Tensor)> {
        self.inner.take_auxiliary_loss()
    }

    fn task_encoder_levels(&self, x: &Tensor, task: usize) -> Option<Result<Vec<Tensor>>> {
        let input = match self.input.mode {
            PairMode::Siamese => stack_time_points(x, self.input.channels),
            PairMode::Single => self.time_point(x, task),
        };
        match input {
            Ok(input) => self.inner.task_encoder_levels(&input, task),
            Err(e) => Some(Err(e)),
        }
    }
}

/// Builds `design` for pairs: the design itself sees one time point's channels; in Siamese
/// mode its heads fuse the time points. A design whose heads cannot fuse is refused here,
/// before any training, by a forward pass on one blank pair.
pub fn build_paired(
    design: Design,
    pb: &ParamBuilder,
    spec: &ModelSpec,
    input: &PairInput,
    params: Option<&ParamTable>,
    device: &Device,
) -> Result<Box<dyn Architecture>> {
    let mut inner_spec = spec.clone();
    inner_spec.pairs = None;
    inner_spec.in_channels = input.channels;
    for head in &mut inner_spec.heads {
        head.fuse_pairs = input.mode == PairMode::Siamese;
    }
    let inner = (design.construct)(pb, &inner_spec, params)?;
    let paired = Paired { inner, input: input.clone() };
    if input.mode == PairMode::Siamese {
        let (h, w) = spec.input_size;
        let blank = Tensor::zeros((1, 2 * input.channels, h, w), DType::F32, device)?;
        let tasks: Vec<usize> = (0..spec.tasks()).collect();
        paired
            .forward(&blank, &tasks, false)
            .map_err(|e| Error::Invalid(format!("design '{}' with pairs = \"siamese\": {e}", design.as_str())))?;
    }
    Ok(Box::new(paired))
}
