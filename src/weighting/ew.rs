//! Equal weighting (EW): minimise the unweighted sum of task losses, the default of every
//! MTL library and the reference the other methods are compared with.

use candle_core::Tensor;

use super::combine::weighted_total;
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, NoParams, ParamTable};
use crate::model::params::ParamStore;
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "ew",
    title: "EW",
    citation: "equal weighting: the unweighted sum of the task losses",
    family: Family::Loss,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    hyper::parse::<NoParams>("weighting.ew", table)?;
    Ok(Box::new(EqualWeighting::new(context.tasks)))
}

/// Equal weighting: every task loss with weight 1.
pub struct EqualWeighting {
    tasks: usize,
}

impl EqualWeighting {
    /// EW over `tasks` tasks.
    pub fn new(tasks: usize) -> Self {
        EqualWeighting { tasks }
    }
}

impl Weighting for EqualWeighting {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<Backward> {
        Ok(weighted_total(losses, &vec![1.0; losses.len()])?.backward()?.into())
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(vec![1.0; self.tasks])
    }
}
