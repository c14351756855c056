//! IMTL, impartial multi-task learning with both halves (Liu, Li, Kuang, Xue, Chen, Yang, Liao &
//! Zhang, "Towards impartial multi-task learning", ICLR 2021): IMTL-L's learned loss scales
//! and IMTL-G's equal-projection combination of the scaled losses' gradients.

use candle_core::{Tensor, Var};

use super::gradients::TaskGradients;
use super::imtl_g::ImtlG;
use super::imtl_l::LossScales;
use super::{Backward, Context, Family, Method, Weighting};
use crate::hyper::{self, NoParams, ParamTable};
use crate::model::params::ParamStore;
use crate::Result;

pub(super) const ENTRY: Method = Method {
    name: "imtl",
    title: "IMTL",
    citation: "Liu, Li, Kuang, Xue, Chen, Yang, Liao & Zhang, Towards impartial multi-task learning, ICLR 2021",
    family: Family::Gradient,
    construct,
    params: hyper::resolve::<NoParams>,
};

fn construct(context: &Context, table: Option<&ParamTable>) -> Result<Box<dyn Weighting>> {
    hyper::parse::<NoParams>("weighting.imtl", table)?;
    Ok(Box::new(Imtl::new(context.tasks, context.device)?))
}

/// The per-task gradients of the scaled losses `e^{s_t} L_t - s_t` on the shared parameters
/// combined with IMTL-G's weights; task-specific parameters and the scales take the
/// scaled losses' own gradients (as in the paper's hybrid and LibMTL's `IMTL`).
pub struct Imtl {
    scales: LossScales,
    last: Vec<f64>,
}

impl Imtl {
    /// IMTL over `tasks` tasks, every scale starting at 1.
    pub fn new(tasks: usize, device: &candle_core::Device) -> Result<Self> {
        Ok(Imtl { scales: LossScales::new(tasks, device)?, last: vec![1.0 / tasks as f64; tasks] })
    }
}

impl Weighting for Imtl {
    fn backward(&mut self, losses: &[Tensor], params: &ParamStore) -> Result<Backward> {
        let scaled = self.scales.scaled(losses)?;
        let grads = TaskGradients::compute(&scaled, params)?;
        let gram = grads.gram();
        self.last = ImtlG::weights_from_gram(&gram);
        let shared = grads.combine(&self.last);
        let scale_grads = grads.summed(std::slice::from_ref(self.scales.var()))?;
        let mut store = grads.into_store(&shared, None)?;
        if let Some(g) = scale_grads.get(self.scales.var().as_tensor()) {
            store.insert(self.scales.var().as_tensor(), g.clone());
        }
        Ok(Backward { grads: store, task_gram: Some(gram) })
    }

    fn extra_vars(&self) -> Vec<Var> {
        vec![self.scales.var().clone()]
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::ParamBuilder;
    use candle_core::Device;

    /// Both halves at once: the shared update has equal projections on the scaled losses'
    /// unit gradients (IMTL-G), and the scales receive `e^s L - 1` (IMTL-L).
    #[test]
    fn equal_projections_and_scale_gradients() {
        let d = Device::Cpu;
        let pb = ParamBuilder::new(0, &d);
        let theta = pb.constant("theta", &[3], 0.0).unwrap();
        let store = pb.finish();
        let c = [[1.0f32, -2.0, 0.5], [-3.0, 1.0, 2.0], [0.2, 0.2, -1.0]];
        let losses: Vec<Tensor> = c.iter().map(|ct| ((&theta * Tensor::new(ct, &d).unwrap()).unwrap().sum_all().unwrap() + 2.0).unwrap()).collect();
        let mut m = Imtl::new(3, &d).unwrap();
        let out = m.backward(&losses, &store).unwrap();
        let update: Vec<f32> = out.grads.get(&theta).unwrap().to_vec1().unwrap();
        let projections: Vec<f64> = c
            .iter()
            .map(|ct| {
                let n = ct.iter().map(|v| (v * v) as f64).sum::<f64>().sqrt();
                ct.iter().zip(&update).map(|(a, b)| (a * b) as f64).sum::<f64>() / n
            })
            .collect();
        for p in &projections {
            assert!((p - projections[0]).abs() < 1e-4, "{projections:?}");
        }
        let sg: Vec<f32> = out.grads.get(m.scales.var().as_tensor()).unwrap().to_vec1().unwrap();
        // Every loss is 2 at theta = 0 and every scale 1: e^0 * 2 - 1 = 1.
        assert_eq!(sg, vec![1.0, 1.0, 1.0]);
    }
}
