//! Fast adaptive multitask optimisation (FAMO; Liu, Liang, Wang & Liu, "FAMO: fast adaptive
//! multitask optimization", NeurIPS 2023).

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::combine::SmallAdam;
use super::combine::{softmax, weighted_total};
use super::{loss_values, Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "famo",
    title: "FAMO",
    citation: "Liu, Liang, Wang & Liu, FAMO: fast adaptive multitask optimization, NeurIPS 2023",
    family: Family::Loss,
    construct,
    params: hyper::resolve::<FamoParams>,
};

/// FAMO's hyper-parameters (the reference implementation's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FamoParams {
    /// Learning rate of the task logits' Adam.
    pub lr: f64,
    /// L2 weight decay of the task logits.
    pub weight_decay: f64,
}

impl Default for FamoParams {
    fn default() -> Self {
        FamoParams { lr: 0.025, weight_decay: 1e-3 }
    }
}

impl HyperParams for FamoParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.lr > 0.0 && self.lr.is_finite(), "lr", "> 0", self.lr)?;
        hyper::require(self.weight_decay >= 0.0, "weight_decay", ">= 0", self.weight_decay)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: FamoParams = hyper::parse("weighting.famo", table)?;
    Ok(Box::new(Famo::with_params(context.tasks, &p)))
}

/// Task logits `xi`, weights `z = softmax(xi)`, model loss `sum_t z_t log(L_t) / c` with
/// `c = sum_t z_t / L_t`; after each optimiser step the logits move by Adam along the
/// gradient of `z . delta`, where `delta_t = log L_t(before) - log L_t(after)` on the same
/// batch. O(1) backward passes per step (plus one extra forward).
pub struct Famo {
    logits: Vec<f64>,
    adam: SmallAdam,
    previous: Vec<f64>,
}

impl Famo {
    /// FAMO over `tasks` tasks with the reference defaults.
    pub fn new(tasks: usize) -> Self {
        Self::with_params(tasks, &FamoParams::default())
    }

    fn with_params(tasks: usize, p: &FamoParams) -> Self {
        Famo { logits: vec![0.0; tasks], adam: SmallAdam::new(tasks, p.lr, p.weight_decay), previous: vec![] }
    }
}

impl Weighting for Famo {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<Backward> {
        let z = softmax(&self.logits);
        let values = loss_values(losses)?;
        let c: f64 = z.iter().zip(&values).map(|(zt, l)| zt / (l + 1e-8)).sum();
        let logs = losses.iter().map(|l| Ok((l + 1e-8)?.log()?)).collect::<Result<Vec<_>>>()?;
        let weights: Vec<f64> = z.iter().map(|zt| zt / c).collect();
        self.previous = values;
        Ok(weighted_total(&logs, &weights)?.backward()?.into())
    }

    fn wants_losses_after_step(&self) -> bool {
        true
    }

    fn after_step(&mut self, losses_after: &[f64]) {
        if self.previous.len() != losses_after.len() {
            return;
        }
        let delta: Vec<f64> = self.previous.iter().zip(losses_after).map(|(b, a)| (b + 1e-8).ln() - (a + 1e-8).ln()).collect();
        let z = softmax(&self.logits);
        let zd: f64 = z.iter().zip(&delta).map(|(a, b)| a * b).sum();
        // d/dxi (z . delta) = z * (delta - z . delta) (the softmax Jacobian applied to delta).
        let grad: Vec<f64> = z.iter().zip(&delta).map(|(zt, dt)| zt * (dt - zd)).collect();
        self.adam.step(&mut self.logits, &grad);
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(softmax(&self.logits))
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "logits": self.logits, "previous": self.previous, "adam": self.adam })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let bad = |_| Error::Invalid("checkpoint: FAMO state is malformed".into());
        self.logits = serde_json::from_value(state["logits"].clone()).map_err(bad)?;
        self.previous = serde_json::from_value(state["previous"].clone()).map_err(bad)?;
        self.adam = serde_json::from_value(state["adam"].clone()).map_err(bad)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn famo_weights_stay_on_the_simplex_and_favour_the_slower_task() {
        let d = candle_core::Device::Cpu;
        let mut famo = Famo::new(2);
        for _ in 0..50 {
            let losses = [Tensor::new(1.0f32, &d).unwrap(), Tensor::new(1.0f32, &d).unwrap()];
            famo.backward(&losses, &ParamStore::default()).unwrap();
            // Task 0 improves a lot each step, task 1 barely.
            famo.after_step(&[0.5, 0.99]);
            let w = famo.weights().unwrap();
            assert!(w.iter().all(|&v| v > 0.0) && (w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let w = famo.weights().unwrap();
        assert!(w[1] > w[0], "{w:?}");
        let mut restored = Famo::new(2);
        restored.load_state(&famo.state()).unwrap();
        assert_eq!(restored.weights(), famo.weights());
    }
}
