//! Gradient methods on the shared representation (LibMTL's `rep_grad`; Sener & Koltun's
//! MGDA-UB bound, NeurIPS 2018, and GradDrop work this way).
//!
//! The heads read a detached copy of each encoder level, held as a variable; one backward
//! per task then reaches the copies and the heads, not the encoder. The weighting method
//! sees a parameter store in which the copies stand for the shared parameters
//! ([`ParamStore::with_representation`]), so every method runs unchanged on representation
//! gradients (`B x C x H x W` per level instead of the encoder's weights: cheaper when the
//! encoder is larger than its output). The combined gradient is pushed through the encoder
//! with one more backward of `sum_l <z_l, g_l>`.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::model::params::{Owner, ParamStore};
use crate::Result;

/// One encoder level: the representation as the encoder computed it (attached to the
/// encoder's graph) and the detached copy the heads read.
pub struct Level {
    /// The encoder's output.
    pub attached: Tensor,
    /// The copy the heads read, whose gradient the method combines.
    pub copy: Var,
}

/// Detached copies of `levels` for the heads to read.
pub fn detach(levels: Vec<Tensor>) -> Result<Vec<Level>> {
    levels.into_iter().map(|z| Ok(Level { copy: Var::from_tensor(&z.detach())?, attached: z })).collect()
}

/// The copies as the heads' input.
pub fn head_inputs(levels: &[Level]) -> Vec<Tensor> {
    levels.iter().map(|l| l.copy.as_tensor().clone()).collect()
}

/// Replaces the representation gradients in `grads` by the encoder parameters' gradients
/// they imply (chain rule: one backward of `sum_l <z_l, g_l>` through the encoder).
pub fn through_encoder(grads: &mut GradStore, levels: &[Level], model: &ParamStore) -> Result<()> {
    let mut surrogate: Option<Tensor> = None;
    for level in levels {
        if let Some(g) = grads.remove(level.copy.as_tensor()) {
            let term = (&level.attached * g.detach())?.sum_all()?;
            surrogate = Some(match surrogate {
                Some(s) => (s + term)?,
                None => term,
            });
        }
    }
    let Some(surrogate) = surrogate else { return Ok(()) };
    let encoder = surrogate.backward()?;
    for var in model.trainable_owned_by(Owner::Shared) {
        if let Some(g) = encoder.get(var.as_tensor()) {
            grads.insert(var.as_tensor(), g.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::ParamBuilder;
    use candle_core::Device;

    /// Pushing the summed representation gradient through the encoder gives exactly the
    /// gradient of the summed loss (chain rule), and the heads keep their own gradients.
    #[test]
    fn equal_weights_on_the_representation_equal_the_joint_gradient() {
        let d = Device::Cpu;
        let pb = ParamBuilder::new(0, &d);
        let enc = pb.values("encoder", &[2, 3], vec![0.5, -1.0, 0.2, 0.3, 0.8, -0.4]).unwrap();
        let heads = pb.owned_by(Owner::Task(0));
        let h0 = heads.values("head0", &[2], vec![1.0, -2.0]).unwrap();
        let h1 = pb.owned_by(Owner::Task(1)).values("head1", &[2], vec![0.3, 0.7]).unwrap();
        let store = pb.finish();
        let x = Tensor::new(&[[1.0f32, 2.0, -1.0], [0.5, 0.0, 1.0]], &d).unwrap();
        let z = x.matmul(&enc.t().unwrap()).unwrap().relu().unwrap();
        let losses_on = |rep: &Tensor| {
            let l0 = rep.broadcast_mul(&h0.unsqueeze(0).unwrap()).unwrap().sum_all().unwrap().sqr().unwrap();
            let l1 = rep.broadcast_mul(&h1.unsqueeze(0).unwrap()).unwrap().sum_all().unwrap().exp().unwrap();
            vec![l0, l1]
        };
        // Reference: the joint loss on the attached representation.
        let joint = losses_on(&z).into_iter().reduce(|a, b| (a + b).unwrap()).unwrap().backward().unwrap();
        let levels = detach(vec![z.clone()]).unwrap();
        let losses = losses_on(&head_inputs(&levels)[0]);
        let total = (&losses[0] + &losses[1]).unwrap();
        let mut grads = total.backward().unwrap();
        assert!(grads.get(&enc).is_none(), "the heads' backward must stop at the copy");
        through_encoder(&mut grads, &levels, &store).unwrap();
        for t in [&enc, &h0, &h1] {
            let a: Vec<f32> = grads.get(t).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let b: Vec<f32> = joint.get(t).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-5 * y.abs().max(1.0), "{a:?} vs {b:?}");
            }
        }
        assert!(grads.get(levels[0].copy.as_tensor()).is_none());
    }
}
