//! Adam and AdamW with state that can be saved and restored.
//!
//! candle-nn's `AdamW` keeps its moments private, so a run could not be resumed mid-way
//! with the same numbers. This one computes exactly what candle's does, in the same f32
//! operation order (so results are bit-identical to runs made with candle's optimiser), and
//! on the CPU updates each parameter, its moments and nothing else in one pass instead of
//! ten tensor operations with their temporaries.

use std::cell::RefCell;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp1, Layout, Storage, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Adam's hyper-parameters (PyTorch's and candle's defaults for the betas and epsilon).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decoupled weight decay (AdamW); 0 gives Adam.
    pub weight_decay: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator guard.
    pub eps: f64,
}

impl AdamConfig {
    /// Adam (no weight decay) at `lr`.
    pub fn adam(lr: f64) -> Self {
        AdamConfig { lr, weight_decay: 0.0, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

/// One parameter and its moments.
struct Slot {
    var: Var,
    m: Vec<f32>,
    v: Vec<f32>,
}

/// Adam / AdamW over a fixed list of variables.
pub struct Adam {
    slots: Vec<Slot>,
    config: AdamConfig,
    step: usize,
}

/// What [`Adam::state`] saves: the step count and both moments of every variable, in the
/// variables' order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamState {
    /// Steps taken.
    pub step: usize,
    /// First moments, one vector per variable.
    pub m: Vec<Vec<f32>>,
    /// Second moments, one vector per variable.
    pub v: Vec<Vec<f32>>,
}

impl Adam {
    /// Adam over the float variables of `vars` (others are left alone, as candle does).
    pub fn new(vars: Vec<Var>, config: AdamConfig) -> Self {
        let slots = vars
            .into_iter()
            .filter(|v| v.dtype().is_float())
            .map(|var| {
                let n = var.elem_count();
                Slot { var, m: vec![0.0; n], v: vec![0.0; n] }
            })
            .collect();
        Adam { slots, config, step: 0 }
    }

    /// Sets the learning rate of the following steps (schedules).
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    /// The current learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    /// One update of every variable that has a gradient in `grads`.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let c = &self.config;
        let t = self.step as i32;
        let coefficients = Coefficients {
            beta1: c.beta1 as f32,
            one_minus_beta1: (1.0 - c.beta1) as f32,
            beta2: c.beta2 as f32,
            one_minus_beta2: (1.0 - c.beta2) as f32,
            scale_m: (1.0 / (1.0 - c.beta1.powi(t))) as f32,
            scale_v: (1.0 / (1.0 - c.beta2.powi(t))) as f32,
            decay: (1.0 - c.lr * c.weight_decay) as f32,
            eps: c.eps as f32,
            lr: c.lr as f32,
        };
        for slot in &mut self.slots {
            let Some(g) = grads.get(slot.var.as_tensor()) else { continue };
            update(slot, g, &coefficients)?;
        }
        Ok(())
    }

    /// The optimiser's state, for a checkpoint.
    pub fn state(&self) -> AdamState {
        AdamState {
            step: self.step,
            m: self.slots.iter().map(|s| s.m.clone()).collect(),
            v: self.slots.iter().map(|s| s.v.clone()).collect(),
        }
    }

    /// Restores a state saved by [`Adam::state`] for the same variables.
    pub fn load_state(&mut self, state: &AdamState) -> Result<()> {
        let fits = state.m.len() == self.slots.len()
            && state.v.len() == self.slots.len()
            && self.slots.iter().zip(state.m.iter().zip(&state.v)).all(|(s, (m, v))| m.len() == s.m.len() && v.len() == s.v.len());
        if !fits {
            return Err(Error::Invalid("checkpoint: the optimiser state does not match the model's parameters".into()));
        }
        self.step = state.step;
        for (slot, (m, v)) in self.slots.iter_mut().zip(state.m.iter().zip(&state.v)) {
            slot.m.clone_from(m);
            slot.v.clone_from(v);
        }
        Ok(())
    }
}

/// The step's scalars, rounded to f32 as candle's `affine` rounds them.
#[derive(Debug, Clone, Copy)]
struct Coefficients {
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    scale_m: f32,
    scale_v: f32,
    decay: f32,
    eps: f32,
    lr: f32,
}

impl Coefficients {
    /// One element: the operations of candle's `AdamW::step` in its order (`x * a + 0`
    /// where candle applies an affine map, which rounds the same way).
    #[inline(always)]
    fn apply(&self, theta: &mut f32, m: &mut f32, v: &mut f32, g: f32) {
        let next_m = (*m * self.beta1 + 0.0) + (g * self.one_minus_beta1 + 0.0);
        let next_v = (*v * self.beta2 + 0.0) + ((g * g) * self.one_minus_beta2 + 0.0);
        let m_hat = next_m * self.scale_m + 0.0;
        let v_hat = next_v * self.scale_v + 0.0;
        let decayed = *theta * self.decay + 0.0;
        let adjusted = m_hat / (v_hat.sqrt() * 1.0 + self.eps);
        *theta = decayed - (adjusted * self.lr + 0.0);
        *m = next_m;
        *v = next_v;
    }
}

/// Updates one variable in place: on the CPU in one pass; elsewhere with tensor operations.
fn update(slot: &mut Slot, g: &Tensor, c: &Coefficients) -> Result<()> {
    let theta = slot.var.as_tensor();
    if theta.device().is_cpu() && theta.dtype() == candle_core::DType::F32 && theta.is_contiguous() {
        let g = g.contiguous()?;
        let (storage, layout) = g.storage_and_layout();
        let Storage::Cpu(cpu) = &*storage else { return Err(Error::Invalid("gradient and parameter on different devices".into())) };
        let grad = crate::kernels::storage_slice(cpu, layout)?;
        let op = InPlaceAdam { m: RefCell::new(&mut slot.m), v: RefCell::new(&mut slot.v), g: grad, c: *c };
        theta.inplace_op1(&op)?;
        return Ok(());
    }
    // Other devices: the same arithmetic as tensor operations, the moments kept on the host.
    let dev = theta.device();
    let m = Tensor::from_slice(&slot.m, theta.shape(), dev)?;
    let v = Tensor::from_slice(&slot.v, theta.shape(), dev)?;
    let next_m = ((m * c.beta1 as f64)? + (g * c.one_minus_beta1 as f64)?)?;
    let next_v = ((v * c.beta2 as f64)? + (g.sqr()? * c.one_minus_beta2 as f64)?)?;
    let m_hat = (&next_m * c.scale_m as f64)?;
    let v_hat = (&next_v * c.scale_v as f64)?;
    let adjusted = (m_hat / (v_hat.sqrt()? + c.eps as f64)?)?;
    let next_theta = ((theta * c.decay as f64)? - (adjusted * c.lr as f64)?)?;
    slot.var.set(&next_theta)?;
    slot.m = next_m.flatten_all()?.to_vec1()?;
    slot.v = next_v.flatten_all()?.to_vec1()?;
    Ok(())
}

/// The CPU update as an in-place candle op on the parameter's storage.
struct InPlaceAdam<'a> {
    m: RefCell<&'a mut Vec<f32>>,
    v: RefCell<&'a mut Vec<f32>>,
    g: &'a [f32],
    c: Coefficients,
}

impl InplaceOp1 for InPlaceAdam<'_> {
    fn name(&self) -> &'static str {
        "medmtl-adam"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let CpuStorage::F32(data) = storage else { candle_core::bail!("medmtl-adam: f32 parameters only") };
        let Some((start, end)) = layout.contiguous_offsets() else { candle_core::bail!("medmtl-adam: non-contiguous parameter") };
        let theta = &mut data[start..end];
        let (mut m, mut v) = (self.m.borrow_mut(), self.v.borrow_mut());
        if theta.len() != self.g.len() || theta.len() != m.len() {
            candle_core::bail!("medmtl-adam: gradient of {} elements for a parameter of {}", self.g.len(), theta.len());
        }
        for (((t, m), v), &g) in theta.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(self.g) {
            self.c.apply(t, m, v, g);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::{AdamW, Optimizer, ParamsAdamW};

    /// Ten steps of medmtl's Adam and of candle's AdamW from the same start with the same
    /// gradients give bit-identical parameters, with and without weight decay.
    #[test]
    fn matches_candles_adamw_bit_for_bit() {
        for wd in [0.0, 0.01] {
            let d = Device::Cpu;
            let init: Vec<f32> = (0..37).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
            let a = Var::from_vec(init.clone(), (37,), &d).unwrap();
            let b = Var::from_vec(init, (37,), &d).unwrap();
            let mut ours = Adam::new(vec![a.clone()], AdamConfig { weight_decay: wd, ..AdamConfig::adam(3e-3) });
            let mut theirs = AdamW::new(vec![b.clone()], ParamsAdamW { lr: 3e-3, weight_decay: wd, ..Default::default() }).unwrap();
            for step in 0..10 {
                let target = Tensor::from_vec((0..37).map(|i| ((i + step) % 5) as f32).collect::<Vec<_>>(), (37,), &d).unwrap();
                let la = (a.as_tensor() - &target).unwrap().sqr().unwrap().sum_all().unwrap();
                let lb = (b.as_tensor() - &target).unwrap().sqr().unwrap().sum_all().unwrap();
                ours.step(&la.backward().unwrap()).unwrap();
                theirs.step(&lb.backward().unwrap()).unwrap();
                if step == 4 {
                    ours.set_learning_rate(1e-3);
                    theirs.set_learning_rate(1e-3);
                }
            }
            let (pa, pb): (Vec<f32>, Vec<f32>) = (a.as_tensor().to_vec1().unwrap(), b.as_tensor().to_vec1().unwrap());
            assert_eq!(pa.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), pb.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }
    }

    /// A restored state continues exactly where the saved one stopped.
    #[test]
    fn state_round_trips() {
        let d = Device::Cpu;
        let run = |steps: usize, resume_at: Option<usize>| {
            let x = Var::from_vec(vec![1.0f32, -2.0, 0.5], (3,), &d).unwrap();
            let mut opt = Adam::new(vec![x.clone()], AdamConfig::adam(0.1));
            for s in 0..steps {
                if Some(s) == resume_at {
                    let saved = opt.state();
                    let json = serde_json::to_string(&saved).unwrap();
                    opt = Adam::new(vec![x.clone()], AdamConfig::adam(0.1));
                    opt.load_state(&serde_json::from_str(&json).unwrap()).unwrap();
                }
                let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
                opt.step(&loss.backward().unwrap()).unwrap();
            }
            x.as_tensor().to_vec1::<f32>().unwrap()
        };
        assert_eq!(run(8, None), run(8, Some(3)));
        let x = Var::from_vec(vec![1.0f32], (1,), &d).unwrap();
        let mut opt = Adam::new(vec![x], AdamConfig::adam(0.1));
        let wrong = AdamState { step: 1, m: vec![vec![0.0; 2]], v: vec![vec![0.0; 2]] };
        assert!(opt.load_state(&wrong).is_err());
    }
}
