//! PCGrad (Yu, Kumar, Gupta, Levine, Hausman & Finn, "Gradient surgery for multi-task
//! learning", NeurIPS 2020).

use candle_core::Tensor;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::combine::{rng_state, set_rng_state};
use super::gradients::{axpy, dot, to_f32, TaskGradients};
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, NoParams, ParamTable};
use crate::model::params::ParamStore;
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "pcgrad",
    title: "PCGrad",
    citation: "Yu, Kumar, Gupta, Levine, Hausman & Finn, Gradient surgery for multi-task learning, NeurIPS 2020",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    hyper::parse::<NoParams>("weighting.pcgrad", table)?;
    Ok(Box::new(PcGrad::new(context.seed)))
}

/// Each task gradient, in turn, is projected onto the normal plane of every other task's
/// (original) gradient it conflicts with (negative inner product), visiting the others in a
/// random (seeded) order; the projected gradients are summed.
pub struct PcGrad {
    rng: ChaCha8Rng,
}

impl PcGrad {
    /// PCGrad drawing its visiting orders from `seed`.
    pub fn new(seed: u64) -> Self {
        PcGrad { rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5043) }
    }

    /// The projected gradients (before summation), exposed for tests.
    pub fn project(&mut self, rows: &[Vec<f32>]) -> Vec<Vec<f64>> {
        let t = rows.len();
        let sq: Vec<f64> = rows.iter().map(|r| dot(r, r)).collect();
        (0..t)
            .map(|i| {
                let mut g: Vec<f64> = rows[i].iter().map(|&v| v as f64).collect();
                let mut order: Vec<usize> = (0..t).filter(|&j| j != i).collect();
                order.shuffle(&mut self.rng);
                for j in order {
                    let ip: f64 = g.iter().zip(&rows[j]).map(|(a, &b)| a * b as f64).sum();
                    if ip < 0.0 {
                        axpy(&mut g, ip / (sq[j] + 1e-20), &rows[j]);
                    }
                }
                g
            })
            .collect()
    }
}

impl Weighting for PcGrad {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let grads = TaskGradients::compute(losses, params)?;
        let gram = grads.gram();
        let projected = self.project(&grads.rows);
        let dim = grads.rows.first().map_or(0, Vec::len);
        let sum: Vec<f64> = (0..dim).map(|k| projected.iter().map(|g| g[k]).sum()).collect();
        Ok(Backward { grads: grads.into_store(&to_f32(sum), None)?, task_gram: Some(gram) })
    }

    fn state(&self) -> serde_json::Value {
        rng_state(&self.rng)
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        set_rng_state(&mut self.rng, state)
    }
}
