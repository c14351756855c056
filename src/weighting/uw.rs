//! Uncertainty weighting (UW; Kendall, Gal & Cipolla, "Multi-task learning using
//! uncertainty to weigh losses for scene geometry and semantics", CVPR 2018).

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub(super) const ENTRY: Method = Method {
    name: "uw",
    title: "UW",
    citation: "Kendall, Gal & Cipolla, Multi-task learning using uncertainty to weigh losses for scene geometry and semantics, CVPR 2018",
    family: Family::Loss,
    construct,
    params: hyper::resolve::<UwParams>,
};

/// UW's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UwParams {
    /// Starting log-variance of every task (LibMTL: -0.5).
    pub initial_log_var: f64,
}

impl Default for UwParams {
    fn default() -> Self {
        UwParams { initial_log_var: -0.5 }
    }
}

impl HyperParams for UwParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.initial_log_var.is_finite(), "initial_log_var", "finite", self.initial_log_var)
    }
}

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    let p: UwParams = hyper::parse("weighting.uw", table)?;
    Ok(Box::new(Uncertainty::with_initial(context.tasks, p.initial_log_var, context.device)?))
}

/// A learned log-variance `s_t` per task, loss `sum_t L_t / (2 exp(s_t)) + s_t / 2` (LibMTL's
/// form; `s_t` is trained by the model's optimiser). Noisier tasks, whose losses stay high,
/// learn a larger `s_t` and so a smaller weight `1 / (2 exp(s_t))`.
pub struct Uncertainty {
    log_var: Var,
}

impl Uncertainty {
    /// UW with LibMTL's starting log-variance.
    pub fn new(tasks: usize, device: &candle_core::Device) -> Result<Self> {
        Self::with_initial(tasks, UwParams::default().initial_log_var, device)
    }

    fn with_initial(tasks: usize, initial: f64, device: &candle_core::Device) -> Result<Self> {
        Ok(Uncertainty { log_var: Var::from_vec(vec![initial as f32; tasks], tasks, device)? })
    }
}

impl Weighting for Uncertainty {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<Backward> {
        let mut total: Option<Tensor> = None;
        for (t, l) in losses.iter().enumerate() {
            let s = self.log_var.as_tensor().get(t)?;
            let term = ((l / (s.exp()? * 2.0)?)? + (&s / 2.0)?)?;
            total = Some(match total {
                Some(x) => (x + term)?,
                None => term,
            });
        }
        Ok(total.ok_or_else(|| Error::Invalid("no task losses".into()))?.backward()?.into())
    }

    fn extra_vars(&self) -> Vec<Var> {
        vec![self.log_var.clone()]
    }

    fn weights(&self) -> Option<Vec<f64>> {
        let s: Vec<f32> = self.log_var.as_tensor().to_vec1().ok()?;
        Some(s.iter().map(|&v| 1.0 / (2.0 * (v as f64).exp())).collect())
    }
}
