//! Smooth Tchebycheff scalarization (STCH; Lin, Zhang, Yang & Liu, "Smooth Tchebycheff
//! scalarization for multi-objective optimization", ICML 2024), in the multi-task form of
//! the authors' LibMTL code.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::combine::{softmax, weighted_total};
use super::{loss_values, Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "stch",
    title: "STCH",
    citation: "Lin, Zhang, Yang & Liu, Smooth Tchebycheff scalarization for multi-objective optimization, ICML 2024",
    family: Family::Loss,
    construct,
    params: hyper::resolve::<StchParams>,
};

/// STCH's hyper-parameters (LibMTL's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StchParams {
    /// Smoothing `mu`: towards 0 the scalarization is the worst task's loss (Tchebycheff),
    /// large values average the tasks.
    pub mu: f64,
    /// Epochs of plain log-loss training before the nadir point is estimated; the nadir is
    /// the mean loss per task over the epoch that follows them.
    pub warmup_epochs: usize,
}

impl Default for StchParams {
    fn default() -> Self {
        StchParams { mu: 1.0, warmup_epochs: 4 }
    }
}

impl HyperParams for StchParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.mu > 0.0 && self.mu.is_finite(), "mu", "> 0", self.mu)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: StchParams = hyper::parse("weighting.stch", table)?;
    Ok(Box::new(Stch::new(context.tasks, p)))
}

/// `mu log sum_t exp(l_t / mu)`, the smooth maximum of `l` (computed with the maximum
/// factored out). It lies in `[max l, max l + mu log T]`: the maximum as `mu -> 0`, the
/// mean plus `mu log T` as `mu` grows.
pub fn smooth_max(l: &[f64], mu: f64) -> f64 {
    let m = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + mu * l.iter().map(|v| ((v - m) / mu).exp()).sum::<f64>().ln()
}

/// Training minimises `T mu log sum_t exp(l_t / mu)` over the log-normalised losses
/// `l_t = log(L_t / z_t)`, where the nadir `z` is each task's mean loss over the epoch after
/// the warm-up; during warm-up (and while `z` is estimated) it minimises `sum_t log L_t`.
/// The gradient gives task t the weight `T softmax(l / mu)_t` on `l_t`: most to the task
/// that is furthest above its nadir.
pub struct Stch {
    params: StchParams,
    tasks: usize,
    epoch: usize,
    sum: Vec<f64>,
    count: usize,
    nadir: Option<Vec<f64>>,
    last: Vec<f64>,
}

impl Stch {
    /// STCH over `tasks` tasks.
    pub fn new(tasks: usize, params: StchParams) -> Self {
        Stch { params, tasks, epoch: 0, sum: vec![0.0; tasks], count: 0, nadir: None, last: vec![1.0; tasks] }
    }
}

impl Weighting for Stch {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<Backward> {
        let logs = losses.iter().map(|l| Ok((l + 1e-20)?.log()?)).collect::<Result<Vec<_>>>()?;
        let Some(nadir) = &self.nadir else {
            if self.epoch == self.params.warmup_epochs {
                for (s, v) in self.sum.iter_mut().zip(loss_values(losses)?) {
                    *s += v;
                }
                self.count += 1;
            }
            self.last = vec![1.0; self.tasks];
            return Ok(weighted_total(&logs, &self.last)?.backward()?.into());
        };
        let normalised: Vec<Tensor> = logs.iter().zip(nadir).map(|(l, z)| Ok((l - z.ln())?)).collect::<Result<_>>()?;
        let values = normalised.iter().map(|l| Ok(l.to_scalar::<f32>()? as f64)).collect::<Result<Vec<_>>>()?;
        let mu = self.params.mu;
        let m = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // T mu log sum exp((l - m) / mu), m constant: the same gradient as the smooth max.
        let mut sum: Option<Tensor> = None;
        for l in &normalised {
            let term = ((l - m)? / mu)?.exp()?;
            sum = Some(match sum {
                Some(s) => (s + term)?,
                None => term,
            });
        }
        let total = (sum.ok_or_else(|| Error::Invalid("no task losses".into()))?.log()? * (mu * self.tasks as f64))?;
        self.last = softmax(&values.iter().map(|v| v / mu).collect::<Vec<_>>()).into_iter().map(|w| w * self.tasks as f64).collect();
        Ok(total.backward()?.into())
    }

    fn end_epoch(&mut self, _mean_losses: &[f64]) {
        if self.epoch == self.params.warmup_epochs && self.count > 0 {
            self.nadir = Some(self.sum.iter().map(|s| s / self.count as f64).collect());
        }
        self.epoch += 1;
    }

    fn warming_up(&self) -> bool {
        self.nadir.is_none()
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "epoch": self.epoch, "sum": self.sum, "count": self.count, "nadir": self.nadir, "last": self.last })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let bad = |_| Error::Invalid("checkpoint: STCH state is malformed".into());
        self.epoch = serde_json::from_value(state["epoch"].clone()).map_err(bad)?;
        self.sum = serde_json::from_value(state["sum"].clone()).map_err(bad)?;
        self.count = serde_json::from_value(state["count"].clone()).map_err(bad)?;
        self.nadir = serde_json::from_value(state["nadir"].clone()).map_err(bad)?;
        self.last = serde_json::from_value(state["last"].clone()).map_err(bad)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The property that defines the scalarization: the worst loss as `mu -> 0`, the mean
    /// (plus the constant `mu log T`) as `mu` grows.
    #[test]
    fn tends_to_the_max_for_small_mu_and_to_the_mean_for_large_mu() {
        let l = [0.3, -1.2, 0.9, 0.1];
        let max = 0.9;
        let mean = l.iter().sum::<f64>() / 4.0;
        assert!((smooth_max(&l, 1e-4) - max).abs() < 1e-6);
        let big = 1e6;
        assert!((smooth_max(&l, big) - big * 4f64.ln() - mean).abs() < 1e-5);
        for mu in [0.01, 0.1, 1.0, 10.0] {
            let v = smooth_max(&l, mu);
            assert!(v >= max && v <= max + mu * 4f64.ln() + 1e-12, "mu {mu}: {v}");
        }
    }

    /// After warm-up, the weights concentrate on the task furthest above its nadir for a
    /// small `mu`, and are equal for a large one; before, every log-loss weighs 1.
    #[test]
    fn weights_follow_the_smoothing() {
        let d = candle_core::Device::Cpu;
        let run = |mu: f64| {
            let mut stch = Stch::new(2, StchParams { mu, warmup_epochs: 1 });
            let losses = |a: f32, b: f32| [Tensor::new(a, &d).unwrap(), Tensor::new(b, &d).unwrap()];
            stch.backward(&losses(1.0, 1.0), &ParamStore::default()).unwrap();
            assert_eq!(stch.weights().unwrap(), vec![1.0, 1.0]);
            stch.end_epoch(&[1.0, 1.0]);
            stch.backward(&losses(2.0, 4.0), &ParamStore::default()).unwrap();
            stch.end_epoch(&[2.0, 4.0]);
            assert!(!stch.warming_up());
            // Task 0 is at twice its nadir, task 1 at its nadir.
            stch.backward(&losses(4.0, 4.0), &ParamStore::default()).unwrap();
            stch.weights().unwrap()
        };
        let sharp = run(0.01);
        assert!(sharp[0] > 1.99 && sharp[1] < 0.01, "{sharp:?}");
        let flat = run(1e4);
        assert!((flat[0] - 1.0).abs() < 1e-3 && (flat[1] - 1.0).abs() < 1e-3, "{flat:?}");
    }
}
