//! Dynamic weight average (DWA; Liu, Johns & Davison, "End-to-end multi-task learning with
//! attention", CVPR 2019).

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::combine::{softmax, weighted_total};
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "dwa",
    title: "DWA",
    citation: "Liu, Johns & Davison, End-to-end multi-task learning with attention, CVPR 2019",
    family: Family::Loss,
    construct,
    params: hyper::resolve::<DwaParams>,
};

/// DWA's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DwaParams {
    /// Softmax temperature `T` (the paper's 2).
    pub temperature: f64,
}

impl Default for DwaParams {
    fn default() -> Self {
        DwaParams { temperature: 2.0 }
    }
}

impl HyperParams for DwaParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.temperature > 0.0 && self.temperature.is_finite(), "temperature", "> 0", self.temperature)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: DwaParams = hyper::parse("weighting.dwa", table)?;
    Ok(Box::new(DynamicWeightAverage::new(context.tasks, p.temperature)))
}

/// From the third epoch on, `w_t = T softmax(r_t / tau)` with `r_t = L_t(e-1) / L_t(e-2)`
/// the ratio of the task's last two epoch-mean training losses; weights are 1 before.
pub struct DynamicWeightAverage {
    temperature: f64,
    history: Vec<Vec<f64>>,
    weights: Vec<f64>,
}

impl DynamicWeightAverage {
    /// DWA over `tasks` tasks at `temperature`.
    pub fn new(tasks: usize, temperature: f64) -> Self {
        DynamicWeightAverage { temperature, history: Vec::new(), weights: vec![1.0; tasks] }
    }
}

impl Weighting for DynamicWeightAverage {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<Backward> {
        Ok(weighted_total(losses, &self.weights)?.backward()?.into())
    }

    fn end_epoch(&mut self, mean_losses: &[f64]) {
        self.history.push(mean_losses.to_vec());
        if let [.., older, newer] = &self.history[..] {
            let ratios: Vec<f64> = newer.iter().zip(older).map(|(n, o)| n / o / self.temperature).collect();
            let t = ratios.len() as f64;
            self.weights = softmax(&ratios).into_iter().map(|w| t * w).collect();
        }
    }

    fn warming_up(&self) -> bool {
        self.history.len() < 2
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.weights.clone())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "history": self.history, "weights": self.weights })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let bad = |_| Error::Invalid("checkpoint: DWA state is malformed".into());
        self.history = serde_json::from_value(state["history"].clone()).map_err(bad)?;
        self.weights = serde_json::from_value(state["weights"].clone()).map_err(bad)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dwa_weights_follow_the_formula_from_recorded_losses() {
        let mut dwa = DynamicWeightAverage::new(2, 2.0);
        assert_eq!(dwa.weights(), Some(vec![1.0, 1.0]));
        dwa.end_epoch(&[1.0, 2.0]);
        assert_eq!(dwa.weights(), Some(vec![1.0, 1.0]), "one epoch is not enough");
        assert!(dwa.warming_up());
        dwa.end_epoch(&[0.5, 1.8]);
        assert!(!dwa.warming_up());
        let (r0, r1): (f64, f64) = (0.5 / 1.0 / 2.0, 1.8 / 2.0 / 2.0);
        let w0 = 2.0 * r0.exp() / (r0.exp() + r1.exp());
        let w = dwa.weights().unwrap();
        assert!((w[0] - w0).abs() < 1e-12 && (w[1] - (2.0 - w0)).abs() < 1e-12);
        assert!(w[1] > w[0], "the task whose loss fell less gets more weight");
        let mut restored = DynamicWeightAverage::new(2, 2.0);
        restored.load_state(&dwa.state()).unwrap();
        assert_eq!(restored.weights(), dwa.weights());
        assert_eq!(restored.history, dwa.history);
    }
}
