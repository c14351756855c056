//! UPGrad (Quinton & Rey, "Jacobian descent for multi-objective optimization", arXiv
//! 2406.16232, 2024).

use super::gram::GramWeighting;
use super::{solvers, Context, Family, Method, Weighting};
use crate::hyper::{self, NoParams, ParamTable};
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "upgrad",
    title: "UPGrad",
    citation: "Quinton & Rey, Jacobian descent for multi-objective optimization, arXiv 2406.16232, 2024",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    hyper::parse::<NoParams>("weighting.upgrad", table)?;
    Ok(Box::new(UpGrad::weighting(context.tasks)))
}

/// Averages the projections of each task gradient (scaled by 1/T) onto the dual cone of all
/// task gradients, so the update never conflicts with any task (`d . g_t >= 0`) and equals
/// the mean gradient when nothing conflicts. The Gram matrix is normalised by its trace and
/// regularised with `1e-4 I` (torchjd's defaults).
pub struct UpGrad;

impl UpGrad {
    /// UPGrad over `tasks` tasks, as a Gram-matrix weighting.
    pub fn weighting(tasks: usize) -> GramWeighting {
        GramWeighting::new(tasks, Self::weights_from_gram)
    }

    /// The weights from the raw Gram matrix (normalised and regularised here).
    pub fn weights_from_gram(gram: &[Vec<f64>]) -> Vec<f64> {
        let mut gram = gram.to_vec();
        let t = gram.len();
        let trace: f64 = (0..t).map(|i| gram[i][i]).sum();
        if trace < 1e-4 {
            gram.iter_mut().flatten().for_each(|v| *v = 0.0);
        } else {
            gram.iter_mut().flatten().for_each(|v| *v /= trace);
        }
        (0..t).for_each(|i| gram[i][i] += 1e-4);
        solvers::upgrad_weights(&gram)
    }
}
