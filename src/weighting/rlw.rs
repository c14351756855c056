//! Random loss weighting (RLW; Lin, Ye, Xu, Shi & Zhang, "Reasonable effectiveness of random
//! weighting: a litmus test for multi-task learning", TMLR 2022).

use candle_core::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::combine::{rng_state, set_rng_state, softmax, weighted_total};
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, NoParams, ParamTable};
use crate::model::params::ParamStore;
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "rlw",
    title: "RLW",
    citation: "Lin, Ye, Xu, Shi & Zhang, Reasonable effectiveness of random weighting: a litmus test for multi-task learning, TMLR 2022",
    family: Family::Loss,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    hyper::parse::<NoParams>("weighting.rlw", table)?;
    Ok(Box::new(RandomWeighting::new(context.tasks, context.seed)))
}

/// Each step draws `w = softmax(z)`, `z ~ N(0, I)` (seeded), so weights are positive and
/// sum to 1.
pub struct RandomWeighting {
    rng: ChaCha8Rng,
    last: Vec<f64>,
}

impl RandomWeighting {
    /// RLW over `tasks` tasks, drawing from `seed`.
    pub fn new(tasks: usize, seed: u64) -> Self {
        RandomWeighting { rng: ChaCha8Rng::seed_from_u64(seed ^ 0x524c57), last: vec![1.0 / tasks as f64; tasks] }
    }
}

impl Weighting for RandomWeighting {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<Backward> {
        let z: Vec<f64> = (0..losses.len())
            .map(|_| {
                // Box-Muller: a standard normal draw.
                let u1: f64 = self.rng.random_range(f64::EPSILON..1.0);
                let u2: f64 = self.rng.random();
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
            .collect();
        self.last = softmax(&z);
        Ok(weighted_total(losses, &self.last)?.backward()?.into())
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }

    fn state(&self) -> serde_json::Value {
        rng_state(&self.rng)
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<()> {
        set_rng_state(&mut self.rng, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlw_weights_are_positive_on_the_simplex_seeded_and_resumable() {
        let d = candle_core::Device::Cpu;
        let losses: Vec<Tensor> = (0..3).map(|i| Tensor::new(1.0f32 + i as f32, &d).unwrap()).collect();
        let mut rlw = RandomWeighting::new(3, 7);
        let mut seen = Vec::new();
        let mut saved = serde_json::Value::Null;
        for step in 0..20 {
            if step == 10 {
                saved = rlw.state();
            }
            rlw.backward(&losses, &ParamStore::default()).unwrap();
            let w = rlw.weights().unwrap();
            assert!(w.iter().all(|&v| v > 0.0));
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            seen.push(w);
        }
        assert_ne!(seen[0], seen[1], "weights are redrawn every step");
        let mut again = RandomWeighting::new(3, 7);
        again.backward(&losses, &ParamStore::default()).unwrap();
        assert_eq!(again.weights().unwrap(), seen[0], "seeded");
        again.load_state(&saved).unwrap();
        again.backward(&losses, &ParamStore::default()).unwrap();
        assert_eq!(again.weights().unwrap(), seen[10], "resumed at the saved position");
    }
}
