//! DSelect-k (Hazimeh, Zhao, Chowdhery, Sathiamoorthy, Chen, Mazumder, Hong & Chi,
//! "DSelect-k: differentiable selection in the mixture of experts with applications to
//! multi-task learning", NeurIPS 2021): MMoE's experts with sparse, differentiable gates.

use candle_core::{Tensor, D};
use serde::{Deserialize, Serialize};

use super::experts::forward_gated;
use super::{task_heads, Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::layers::Linear;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "dselect-k",
    title: "DSelect-k",
    citation: "Hazimeh, Zhao, Chowdhery, Sathiamoorthy, Chen, Mazumder, Hong & Chi, DSelect-k: differentiable selection in the mixture of experts with applications to multi-task learning, NeurIPS 2021",
    single_task: false,
    construct,
    params: hyper::resolve::<DselectKParams>,
};

/// DSelect-k's hyper-parameters (LibMTL's `num_nonzeros` and `kgamma` defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DselectKParams {
    /// Shared experts (whole encoders); a power of two, so that every binary code selects
    /// an expert.
    pub experts: usize,
    /// Experts each task's gate may select (`k`).
    pub num_nonzeros: usize,
    /// Width of the smooth step's transition; also scales the gate logits' initial range.
    pub gamma: f64,
}

impl Default for DselectKParams {
    fn default() -> Self {
        DselectKParams { experts: 4, num_nonzeros: 2, gamma: 1.0 }
    }
}

impl HyperParams for DselectKParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.experts >= 2 && self.experts.is_power_of_two(), "experts", "a power of two >= 2", self.experts)?;
        hyper::require(self.num_nonzeros >= 1, "num_nonzeros", ">= 1", self.num_nonzeros)?;
        hyper::require(self.gamma > 0.0 && self.gamma.is_finite(), "gamma", "> 0", self.gamma)
    }
}

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: DselectKParams = hyper::parse("design.dselect-k", table)?;
    Ok(Box::new(DselectK::new(pb, spec, &p)?))
}

/// The cubic smooth step: 0 below `-gamma / 2`, 1 above `gamma / 2`, and
/// `-2 t^3 / gamma^3 + 3 t / (2 gamma) + 1/2` between (continuously differentiable; exactly
/// 0 or 1 outside the transition, so a gate can switch an expert off completely).
pub fn smooth_step(t: &Tensor, gamma: f64) -> Result<Tensor> {
    let t = t.clamp(-gamma / 2.0, gamma / 2.0)?;
    let cubic = (t.powf(3.0)? * (-2.0 / gamma.powi(3)))?;
    Ok(((cubic + (t * (3.0 / (2.0 * gamma)))?)? + 0.5)?)
}

/// One task's gate: `k` single-expert selectors, each a smooth binary code over
/// `m = log2(experts)` bits read from the flattened image, combined by a softmax over the
/// selectors. Once the bits saturate, each selector picks exactly one expert, so at most
/// `k` experts get weight.
pub struct DselectGate {
    codes: Linear,
    selector_weights: Linear,
    k: usize,
    bits: usize,
    experts: usize,
    gamma: f64,
}

impl DselectGate {
    fn new(pb: &ParamBuilder, spec: &ModelSpec, p: &DselectKParams) -> Result<Self> {
        let (h, w) = spec.input_size;
        let inputs = spec.in_channels * h * w;
        let bits = p.experts.trailing_zeros() as usize;
        Ok(DselectGate {
            codes: Linear::with_bound(&pb.sub("z"), inputs, p.num_nonzeros * bits, p.gamma / 100.0)?,
            selector_weights: Linear::with_bound(&pb.sub("w"), inputs, p.num_nonzeros, 0.05)?,
            k: p.num_nonzeros,
            bits,
            experts: p.experts,
            gamma: p.gamma,
        })
    }

    /// The single-expert selectors `N x k x experts` (each row sums to 1) for the bit
    /// activations `a` (`N x k x bits`, in [0, 1]): expert e's entry is the product over bits
    /// of `a` where e's binary code has a 1 and `1 - a` where it has a 0.
    pub fn selectors(a: &Tensor, experts: usize) -> Result<Tensor> {
        let bits = a.dim(D::Minus1)?;
        let off = (1.0 - a)?;
        let per_expert = (0..experts)
            .map(|e| {
                let mut r: Option<Tensor> = None;
                for j in 0..bits {
                    // Most significant bit first, as the paper's code table.
                    let on = (e >> (bits - 1 - j)) & 1 == 1;
                    let factor = if on { a.narrow(D::Minus1, j, 1)? } else { off.narrow(D::Minus1, j, 1)? };
                    r = Some(match r {
                        Some(r) => (r * factor)?,
                        None => factor,
                    });
                }
                r.ok_or_else(|| crate::Error::Invalid("DSelect-k needs at least one code bit".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&per_expert, D::Minus1)?)
    }

    /// The expert weights `N x experts` for a batch (rows sum to 1).
    pub fn weights(&self, x: &Tensor) -> Result<Tensor> {
        let flat = x.flatten_from(1)?;
        let n = flat.dim(0)?;
        let a = smooth_step(&self.codes.forward(&flat)?.reshape((n, self.k, self.bits))?, self.gamma)?;
        let r = Self::selectors(&a, self.experts)?;
        let pi = candle_nn::ops::softmax(&self.selector_weights.forward(&flat)?, D::Minus1)?;
        Ok(r.broadcast_mul(&pi.unsqueeze(2)?)?.sum(1)?)
    }
}

/// Shared whole-encoder experts (as MMoE) mixed per task by a DSelect-k gate.
pub struct DselectK {
    experts: Vec<Box<dyn Backbone>>,
    gates: Vec<DselectGate>,
    heads: Vec<Head>,
    params: ParamStore,
}

impl DselectK {
    /// The experts, one gate per task and the heads.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, p: &DselectKParams) -> Result<Self> {
        let experts = (0..p.experts)
            .map(|i| spec.backbone.build(&pb.sub(&format!("expert{i}")), spec.in_channels, spec.width))
            .collect::<Result<Vec<_>>>()?;
        let gates =
            (0..spec.tasks()).map(|t| DselectGate::new(&pb.sub(&format!("gate{t}")).owned_by(Owner::Task(t)), spec, p)).collect::<Result<Vec<_>>>()?;
        let heads = task_heads(pb, spec, experts[0].stage_channels())?;
        Ok(DselectK { experts, gates, heads, params: pb.finish() })
    }

    /// Task `t`'s expert weights, `N x experts`.
    pub fn gate_weights(&self, x: &Tensor, t: usize) -> Result<Tensor> {
        self.gates[t].weights(x)
    }
}

impl Architecture for DselectK {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        forward_gated(&self.experts, &self.heads, x, tasks, train, |t| self.gates[t].weights(x))
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn smooth_step_is_zero_one_and_cubic_between() {
        let d = Device::Cpu;
        let t = Tensor::new(&[-2.0f32, -0.5, -0.25, 0.0, 0.25, 0.5, 3.0], &d).unwrap();
        let s: Vec<f32> = smooth_step(&t, 1.0).unwrap().to_vec1().unwrap();
        let cubic = |t: f32| -2.0 * t.powi(3) + 1.5 * t + 0.5;
        let expected = [0.0, 0.0, cubic(-0.25), 0.5, cubic(0.25), 1.0, 1.0];
        for (a, b) in s.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{s:?}");
        }
    }

    /// The property that defines the gate: every selector's row sums to 1 for any bit
    /// activations, and saturated bits select exactly the expert whose binary code they
    /// spell, so a gate with k selectors weights at most k experts.
    #[test]
    fn saturated_codes_select_at_most_k_experts() {
        let d = Device::Cpu;
        let a = Tensor::new(&[[[0.3f32, 0.9], [0.5, 0.1]]], &d).unwrap();
        let r: Vec<Vec<Vec<f32>>> = DselectGate::selectors(&a, 4).unwrap().to_vec3().unwrap();
        for row in &r[0] {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{row:?}");
        }
        // Bits (1, 0) spell expert 2 and bits (0, 1) expert 1 (most significant bit first).
        let saturated = Tensor::new(&[[[1.0f32, 0.0], [0.0, 1.0]]], &d).unwrap();
        let r: Vec<Vec<Vec<f32>>> = DselectGate::selectors(&saturated, 4).unwrap().to_vec3().unwrap();
        assert_eq!(r[0], vec![vec![0.0, 0.0, 1.0, 0.0], vec![0.0, 1.0, 0.0, 0.0]]);
        // Through the whole gate, with zero code logits (every bit at 1/2): each selector
        // spreads evenly, and the gate's rows sum to 1.
        let spec_gate = DselectGate {
            codes: Linear::with_bound(&ParamBuilder::new(0, &d), 3, 4, 0.0).unwrap(),
            selector_weights: Linear::with_bound(&ParamBuilder::new(1, &d), 3, 2, 0.5).unwrap(),
            k: 2,
            bits: 2,
            experts: 4,
            gamma: 1.0,
        };
        let x = Tensor::new(&[[0.2f32, -0.4, 0.9], [1.0, 0.3, -0.2]], &d).unwrap();
        let q: Vec<Vec<f32>> = spec_gate.weights(&x).unwrap().to_vec2().unwrap();
        for row in &q {
            assert!(row.iter().all(|v| (v - 0.25).abs() < 1e-6), "{row:?}");
        }
    }
}
