//! Geometric loss strategy (GLS; Chennupati, Sistu, Yogamani & Rawashdeh, "MultiNet++:
//! multi-stream feature aggregation and geometric loss strategy for multi-task learning",
//! CVPR Workshops 2019).

use candle_core::Tensor;

use super::combine::weighted_total;
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, NoParams, ParamTable};
use crate::model::params::ParamStore;
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "gls",
    title: "GLS",
    citation: "Chennupati, Sistu, Yogamani & Rawashdeh, MultiNet++: multi-stream feature aggregation and geometric loss strategy for multi-task learning, CVPR Workshops 2019",
    family: Family::Loss,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(_: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    hyper::parse::<NoParams>("weighting.gls", table)?;
    Ok(Box::new(GeometricLoss::default()))
}

/// Minimises the geometric mean `(prod_t L_t)^(1/T)`, which makes each task's effective
/// weight inversely proportional to its own loss.
#[derive(Default)]
pub struct GeometricLoss {
    last: Vec<f64>,
}

impl Weighting for GeometricLoss {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<Backward> {
        let values = super::loss_values(losses)?;
        let t = values.len() as f64;
        let geometric = (values.iter().map(|l| l.ln()).sum::<f64>() / t).exp();
        // d/dL_t of (prod L)^(1/T) = G / (T L_t): the weight the step gave task t.
        self.last = values.iter().map(|l| geometric / (t * l)).collect();
        let logs = losses.iter().map(|l| Ok(l.log()?)).collect::<Result<Vec<_>>>()?;
        let mean_log = (weighted_total(&logs, &vec![1.0; logs.len()])? / logs.len() as f64)?;
        Ok(mean_log.exp()?.backward()?.into())
    }

    fn weights(&self) -> Option<Vec<f64>> {
        (!self.last.is_empty()).then(|| self.last.clone())
    }
}
