//! DB-MTL, dual-balancing multi-task learning (Lin, Jiang, Ye, Zhang, Chen, Chen, Liu & Kwok,
//! "Dual-balancing for multi-task learning", arXiv:2308.12029, 2023), as in LibMTL.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::combine::{rows_from_state, rows_state};
use super::gradients::{norm, TaskGradients};
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "db-mtl",
    title: "DB-MTL",
    citation: "Lin, Jiang, Ye, Zhang, Chen, Chen, Liu & Kwok, Dual-balancing for multi-task learning, arXiv:2308.12029, 2023",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<DbMtlParams>,
};

/// DB-MTL's hyper-parameters (LibMTL's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DbMtlParams {
    /// Weight of the past in the moving average of each task's gradient (the buffer starts
    /// at zero, without bias correction, as in LibMTL).
    pub beta: f64,
    /// Decay exponent of that weight: step k keeps `beta / k^beta_sigma` of the past.
    pub beta_sigma: f64,
}

impl Default for DbMtlParams {
    fn default() -> Self {
        DbMtlParams { beta: 0.9, beta_sigma: 0.0 }
    }
}

impl HyperParams for DbMtlParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require((0.0..1.0).contains(&self.beta), "beta", "in [0, 1)", self.beta)?;
        hyper::require(self.beta_sigma >= 0.0 && self.beta_sigma.is_finite(), "beta_sigma", ">= 0", self.beta_sigma)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: DbMtlParams = hyper::parse("weighting.db-mtl", table)?;
    Ok(Box::new(DbMtl::new(context.tasks, p)))
}

/// Balances loss scales and gradient magnitudes. Each task trains on `log L_t` (scale
/// balance: `log(c L)` has the gradient of `log L`), each task's gradient of it is averaged
/// over steps, and the averaged gradients are rescaled to the largest one's norm before
/// they are summed (magnitude balance). Task-specific parameters take their `log L_t`
/// gradients unchanged.
pub struct DbMtl {
    params: DbMtlParams,
    step: u64,
    buffer: Vec<Vec<f32>>,
    last: Vec<f64>,
}

impl DbMtl {
    /// DB-MTL over `tasks` tasks.
    pub fn new(tasks: usize, params: DbMtlParams) -> Self {
        DbMtl { params, step: 0, buffer: Vec::new(), last: vec![1.0; tasks] }
    }

    /// The shared update from this step's gradients of the log-losses, updating the
    /// averages; exposed for tests.
    pub fn update(&mut self, rows: &[Vec<f32>]) -> Vec<f32> {
        self.step += 1;
        let rate = self.params.beta / (self.step as f64).powf(self.params.beta_sigma);
        if self.buffer.len() != rows.len() {
            self.buffer = rows.iter().map(|r| vec![0.0; r.len()]).collect();
        }
        for (avg, g) in self.buffer.iter_mut().zip(rows) {
            for (a, &v) in avg.iter_mut().zip(g) {
                *a = (v as f64 + rate * (*a as f64 - v as f64)) as f32;
            }
        }
        let norms: Vec<f64> = self.buffer.iter().map(|r| norm(r)).collect();
        let largest = norms.iter().copied().fold(0.0, f64::max);
        self.last = norms.iter().map(|n| largest / (n + 1e-8)).collect();
        let dim = rows.first().map_or(0, Vec::len);
        (0..dim).map(|k| self.buffer.iter().zip(&self.last).map(|(r, w)| w * r[k] as f64).sum::<f64>() as f32).collect()
    }
}

impl Weighting for DbMtl {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let logs = losses.iter().map(|l| Ok((l + 1e-8)?.log()?)).collect::<Result<Vec<_>>>()?;
        let grads = TaskGradients::compute(&logs, params)?;
        let gram = grads.gram();
        let shared = self.update(&grads.rows);
        Ok(Backward { grads: grads.into_store(&shared, None)?, task_gram: Some(gram) })
    }

    fn supports_representation(&self) -> bool {
        false
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({ "step": self.step, "buffer": rows_state(&self.buffer), "last": self.last })
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        let bad = |_| Error::Invalid("checkpoint: DB-MTL state is malformed".into());
        self.step = serde_json::from_value(state["step"].clone()).map_err(bad)?;
        self.last = serde_json::from_value(state["last"].clone()).map_err(bad)?;
        self.buffer = rows_from_state(&state["buffer"], "DB-MTL")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::ParamBuilder;
    use candle_core::Device;

    /// The update of quadratic task losses `s_t |theta - c_t|^2` for loss scales `s`.
    fn update_for(scales: &[f32], steps: usize) -> Vec<f32> {
        let d = Device::Cpu;
        let pb = ParamBuilder::new(0, &d);
        let theta = pb.constant("theta", &[3], 0.5).unwrap();
        let store = pb.finish();
        let targets = [[1.0f32, -2.0, 0.5], [-3.0, 1.0, 2.0]];
        let mut method = DbMtl::new(2, DbMtlParams::default());
        let mut last = None;
        for _ in 0..steps {
            let losses: Vec<Tensor> = targets
                .iter()
                .zip(scales)
                .map(|(c, &s)| ((&theta - Tensor::new(c, &d).unwrap()).unwrap().sqr().unwrap().sum_all().unwrap() * s as f64).unwrap())
                .collect();
            let out = method.backward(&losses, &store).unwrap();
            last = Some(out.grads.get(&theta).unwrap().to_vec1::<f32>().unwrap());
        }
        last.unwrap()
    }

    /// The property that defines the loss-scale balance: multiplying one task's loss by
    /// any constant leaves the update unchanged.
    #[test]
    fn invariant_to_rescaling_a_task_loss() {
        let base = update_for(&[1.0, 1.0], 3);
        for scales in [[100.0, 1.0], [1.0, 1e-3], [7.0, 0.2]] {
            let scaled = update_for(&scales, 3);
            for (a, b) in base.iter().zip(&scaled) {
                assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{scales:?}: {base:?} vs {scaled:?}");
            }
        }
    }

    /// The magnitude balance: every averaged task gradient enters with the largest one's
    /// norm, and the averages follow the stated rate.
    #[test]
    fn averaged_gradients_enter_with_equal_norms() {
        let mut method = DbMtl::new(2, DbMtlParams { beta: 0.5, beta_sigma: 0.0 });
        let first = method.update(&[vec![4.0, 0.0], vec![0.0, 1.0]]);
        // Step 1 averages with an all-zero buffer: avg = 0.5 g.
        assert_eq!(method.buffer, vec![vec![2.0, 0.0], vec![0.0, 0.5]]);
        assert!((first[0] - 2.0).abs() < 1e-6 && (first[1] - 2.0).abs() < 1e-6, "{first:?}");
        let second = method.update(&[vec![4.0, 0.0], vec![0.0, 1.0]]);
        assert_eq!(method.buffer, vec![vec![3.0, 0.0], vec![0.0, 0.75]]);
        assert!((second[0] - 3.0).abs() < 1e-6 && (second[1] - 3.0).abs() < 1e-6, "{second:?}");
    }
}
