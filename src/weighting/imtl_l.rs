//! IMTL-L, the loss half of impartial multi-task learning (Liu, Li, Kuang, Xue, Chen, Yang,
//! Liao & Zhang, "Towards impartial multi-task learning", ICLR 2021).

use candle_core::{Tensor, Var};

use super::combine::weighted_total;
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, NoParams, ParamTable};
use crate::model::params::ParamStore;
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "imtl-l",
    title: "IMTL-L",
    citation: "Liu, Li, Kuang, Xue, Chen, Yang, Liao & Zhang, Towards impartial multi-task learning, ICLR 2021",
    family: Family::Loss,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    hyper::parse::<NoParams>("weighting.imtl-l", table)?;
    Ok(Box::new(ImtlL::new(context.tasks, context.device)?))
}

/// The learned loss scales of IMTL-L, shared with IMTL (IMTL-L + IMTL-G).
pub(super) struct LossScales {
    log_scale: Var,
}

impl LossScales {
    /// Scales `e^s = 1` for `tasks` tasks.
    pub(super) fn new(tasks: usize, device: &candle_core::Device) -> Result<Self> {
        Ok(LossScales { log_scale: Var::from_vec(vec![0f32; tasks], tasks, device)? })
    }

    /// `e^{s_t} L_t - s_t` per task: the scaled losses, whose gradient in `s_t`
    /// (`e^{s_t} L_t - 1`) vanishes exactly when the scaled loss `e^{s_t} L_t` is 1.
    pub(super) fn scaled(&self, losses: &[Tensor]) -> Result<Vec<Tensor>> {
        losses
            .iter()
            .enumerate()
            .map(|(t, l)| {
                let s = self.log_scale.as_tensor().get(t)?;
                Ok(((l * s.exp()?)? - s)?)
            })
            .collect()
    }

    pub(super) fn var(&self) -> &Var {
        &self.log_scale
    }

    /// The current scales `e^{s_t}`.
    pub(super) fn weights(&self) -> Option<Vec<f64>> {
        let s: Vec<f32> = self.log_scale.as_tensor().to_vec1().ok()?;
        Some(s.iter().map(|&v| (v as f64).exp()).collect())
    }
}

/// A learned scale `e^{s_t}` per task, trained with the model on `sum_t e^{s_t} L_t - s_t`:
/// each scale moves towards the one that brings its task's scaled loss to 1, so that no
/// task dominates by its loss's magnitude.
pub struct ImtlL {
    scales: LossScales,
}

impl ImtlL {
    /// IMTL-L over `tasks` tasks, every scale starting at 1.
    pub fn new(tasks: usize, device: &candle_core::Device) -> Result<Self> {
        Ok(ImtlL { scales: LossScales::new(tasks, device)? })
    }
}

impl Weighting for ImtlL {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<Backward> {
        let scaled = self.scales.scaled(losses)?;
        Ok(weighted_total(&scaled, &vec![1.0; scaled.len()])?.backward()?.into())
    }

    fn extra_vars(&self) -> Vec<Var> {
        vec![self.scales.var().clone()]
    }

    fn weights(&self) -> Option<Vec<f64>> {
        self.scales.weights()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// The property that defines the loss balance: the scale's gradient `e^s L - 1`
    /// vanishes where the scaled loss is 1, so training the scales alone drives every task's
    /// scaled loss to 1 whatever its raw magnitude.
    #[test]
    fn scales_drive_every_scaled_loss_to_one() {
        let d = Device::Cpu;
        let mut m = ImtlL::new(3, &d).unwrap();
        let raw = [0.01f32, 1.0, 250.0];
        for _ in 0..4000 {
            let losses: Vec<Tensor> = raw.iter().map(|&v| Tensor::new(v, &d).unwrap()).collect();
            let out = m.backward(&losses, &ParamStore::default()).unwrap();
            let g = out.grads.get(m.scales.var().as_tensor()).unwrap();
            // Plain gradient descent on the scales (log-space step).
            m.scales.var().set(&(m.scales.var().as_tensor() - (g * 0.05).unwrap()).unwrap()).unwrap();
        }
        let w = m.weights().unwrap();
        for (wt, &l) in w.iter().zip(&raw) {
            assert!((wt * l as f64 - 1.0).abs() < 1e-3, "scale {wt} for loss {l}");
        }
    }
}
