//! Equal weighting (EW): minimise the unweighted sum of task losses, the default of every
//! MTL library and the reference the other methods are compared with.

use candle_core::backprop::GradStore;
use candle_core::Tensor;

use super::Weighting;
use crate::model::params::ParamStore;
use crate::{Error, Result};

pub struct EqualWeighting;

impl Weighting for EqualWeighting {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<GradStore> {
        let mut total = losses.first().cloned().ok_or_else(|| Error::Invalid("no task losses".into()))?;
        for loss in &losses[1..] {
            total = (total + loss)?;
        }
        Ok(total.backward()?)
    }

    fn weights(&self) -> Option<Vec<f64>> {
        None
    }
}
