//! MGDA (Sener & Koltun, "Multi-task learning as multi-objective optimization", NeurIPS
//! 2018).

use super::gram::GramWeighting;
use super::{solvers, Context, Family, Method, Weighting};
use crate::hyper::{self, NoParams, ParamTable};
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "mgda",
    title: "MGDA",
    citation: "Sener & Koltun, Multi-task learning as multi-objective optimization, NeurIPS 2018",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    hyper::parse::<NoParams>("weighting.mgda", table)?;
    Ok(Box::new(Mgda::weighting(context.tasks)))
}

/// The shared update is the minimum-norm point of the convex hull of the task gradients
/// (weights on the simplex, Frank-Wolfe solver), a common descent direction. medmtl applies
/// it to the shared parameters' gradients (MGDA proper); the "-UB" shortcut through one
/// shared representation only exists for hard-sharing designs. No gradient normalisation
/// (LibMTL's default `mgda_gn = none`).
pub struct Mgda;

impl Mgda {
    /// MGDA over `tasks` tasks, as a Gram-matrix weighting.
    pub fn weighting(tasks: usize) -> GramWeighting {
        GramWeighting::new(tasks, solvers::min_norm_weights)
    }
}
