//! Loss-weighting methods: they combine the task losses into one scalar and need a single
//! backward pass.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{loss_values, Weighting};
use crate::model::params::ParamStore;
use crate::{Error, Result};

fn weighted_total(losses: &[Tensor], weights: &[f64]) -> Result<Tensor> {
    let mut total: Option<Tensor> = None;
    for (l, &w) in losses.iter().zip(weights) {
        let term = if w == 1.0 { l.clone() } else { (l * w)? };
        total = Some(match total {
            Some(t) => (t + term)?,
            None => term,
        });
    }
    total.ok_or_else(|| Error::Invalid("no task losses".into()))
}

fn softmax(x: &[f64]) -> Vec<f64> {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Equal weighting (EW): minimise the unweighted sum of task losses, the default of every
/// MTL library and the reference the other methods are compared with.
pub struct EqualWeighting;

impl Weighting for EqualWeighting {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<GradStore> {
        Ok(weighted_total(losses, &vec![1.0; losses.len()])?.backward()?)
    }
}

/// Uncertainty weighting (UW; Kendall, Gal & Cipolla, "Multi-task learning using
/// uncertainty to weigh losses for scene geometry and semantics", CVPR 2018): a learned
/// log-variance `s_t` per task, loss `sum_t L_t / (2 exp(s_t)) + s_t / 2` (LibMTL's form;
/// `s_t` starts at -0.5 and is trained by the model's optimiser). Noisier tasks, whose
/// losses stay high, learn a larger `s_t` and so a smaller weight `1 / (2 exp(s_t))`.
pub struct Uncertainty {
    log_var: Var,
}

impl Uncertainty {
    pub fn new(tasks: usize, device: &candle_core::Device) -> Result<Self> {
        Ok(Uncertainty { log_var: Var::from_vec(vec![-0.5f32; tasks], tasks, device)? })
    }
}

impl Weighting for Uncertainty {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<GradStore> {
        let mut total: Option<Tensor> = None;
        for (t, l) in losses.iter().enumerate() {
            let s = self.log_var.as_tensor().get(t)?;
            let term = ((l / (s.exp()? * 2.0)?)? + (&s / 2.0)?)?;
            total = Some(match total {
                Some(x) => (x + term)?,
                None => term,
            });
        }
        Ok(total.ok_or_else(|| Error::Invalid("no task losses".into()))?.backward()?)
    }

    fn extra_vars(&self) -> Vec<Var> {
        vec![self.log_var.clone()]
    }

    fn weights(&self) -> Option<Vec<f64>> {
        let s: Vec<f32> = self.log_var.as_tensor().to_vec1().ok()?;
        Some(s.iter().map(|&v| 1.0 / (2.0 * (v as f64).exp())).collect())
    }
}

/// Dynamic weight average (DWA; Liu, Johns & Davison, "End-to-end multi-task learning with
/// attention", CVPR 2019): from the third epoch on, `w_t = T softmax(r_t / tau)` with
/// `r_t = L_t(e-1) / L_t(e-2)` the ratio of the task's last two epoch-mean training losses;
/// weights are 1 before. `tau = 2` as in the paper.
pub struct DynamicWeightAverage {
    temperature: f64,
    history: Vec<Vec<f64>>,
    weights: Vec<f64>,
}

impl DynamicWeightAverage {
    pub fn new(tasks: usize, temperature: f64) -> Self {
        DynamicWeightAverage { temperature, history: Vec::new(), weights: vec![1.0; tasks] }
    }
}

impl Weighting for DynamicWeightAverage {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<GradStore> {
        Ok(weighted_total(losses, &self.weights)?.backward()?)
    }

    fn end_epoch(&mut self, mean_losses: &[f64]) {
        self.history.push(mean_losses.to_vec());
        if let [.., older, newer] = &self.history[..] {
            let ratios: Vec<f64> = newer.iter().zip(older).map(|(n, o)| n / o / self.temperature).collect();
            let t = ratios.len() as f64;
            self.weights = softmax(&ratios).into_iter().map(|w| t * w).collect();
        }
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.weights.clone())
    }
}

/// Random loss weighting (RLW; Lin, Ye, Xu, Shi & Zhang, "Reasonable effectiveness of
/// random weighting: a litmus test for multi-task learning", TMLR 2022): each step draws
/// `w = softmax(z)`, `z ~ N(0, I)` (seeded), so weights are positive and sum to 1.
pub struct RandomWeighting {
    rng: ChaCha8Rng,
    last: Vec<f64>,
}

impl RandomWeighting {
    pub fn new(tasks: usize, seed: u64) -> Self {
        RandomWeighting { rng: ChaCha8Rng::seed_from_u64(seed ^ 0x524c57), last: vec![1.0 / tasks as f64; tasks] }
    }
}

impl Weighting for RandomWeighting {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<GradStore> {
        let z: Vec<f64> = (0..losses.len())
            .map(|_| {
                // Box-Muller: a standard normal draw.
                let u1: f64 = self.rng.random_range(f64::EPSILON..1.0);
                let u2: f64 = self.rng.random();
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
            .collect();
        self.last = softmax(&z);
        Ok(weighted_total(losses, &self.last)?.backward()?)
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(self.last.clone())
    }
}

/// Geometric loss strategy (GLS; Chennupati, Sistu, Yogamani & Rawashdeh, "MultiNet++:
/// multi-stream feature aggregation and geometric loss strategy for multi-task learning",
/// CVPR Workshops 2019): minimise the geometric mean `(prod_t L_t)^(1/T)`, which makes each
/// task's effective weight inversely proportional to its own loss.
pub struct GeometricLoss;

impl Weighting for GeometricLoss {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<GradStore> {
        let logs = losses.iter().map(|l| Ok(l.log()?)).collect::<Result<Vec<_>>>()?;
        let mean_log = (weighted_total(&logs, &vec![1.0; logs.len()])? / logs.len() as f64)?;
        Ok(mean_log.exp()?.backward()?)
    }
}

/// Fast adaptive multitask optimisation (FAMO; Liu, Liang, Wang & Liu, "FAMO: fast
/// adaptive multitask optimization", NeurIPS 2023): task logits `xi`, weights
/// `z = softmax(xi)`, model loss `sum_t z_t log(L_t) / c` with `c = sum_t z_t / L_t`; after
/// each optimiser step the logits move by Adam (lr 0.025, weight decay 1e-3, the defaults)
/// along the gradient of `z . delta`, where `delta_t = log L_t(before) - log L_t(after)` on
/// the same batch. O(1) backward passes per step (plus one extra forward).
pub struct Famo {
    logits: Vec<f64>,
    adam: SmallAdam,
    previous: Vec<f64>,
}

impl Famo {
    pub fn new(tasks: usize) -> Self {
        Famo { logits: vec![0.0; tasks], adam: SmallAdam::new(tasks, 0.025, 1e-3), previous: vec![] }
    }
}

impl Weighting for Famo {
    fn backward(&mut self, losses: &[Tensor], _params: &ParamStore) -> Result<GradStore> {
        let z = softmax(&self.logits);
        let values = loss_values(losses)?;
        let c: f64 = z.iter().zip(&values).map(|(zt, l)| zt / (l + 1e-8)).sum();
        let logs = losses.iter().map(|l| Ok((l + 1e-8)?.log()?)).collect::<Result<Vec<_>>>()?;
        let weights: Vec<f64> = z.iter().map(|zt| zt / c).collect();
        self.previous = values;
        Ok(weighted_total(&logs, &weights)?.backward()?)
    }

    fn wants_losses_after_step(&self) -> bool {
        true
    }

    fn after_step(&mut self, losses_after: &[f64]) {
        if self.previous.len() != losses_after.len() {
            return;
        }
        let delta: Vec<f64> = self.previous.iter().zip(losses_after).map(|(b, a)| (b + 1e-8).ln() - (a + 1e-8).ln()).collect();
        let z = softmax(&self.logits);
        let zd: f64 = z.iter().zip(&delta).map(|(a, b)| a * b).sum();
        // d/dxi (z . delta) = z * (delta - z . delta) (the softmax Jacobian applied to delta).
        let grad: Vec<f64> = z.iter().zip(&delta).map(|(zt, dt)| zt * (dt - zd)).collect();
        self.adam.step(&mut self.logits, &grad);
    }

    fn weights(&self) -> Option<Vec<f64>> {
        Some(softmax(&self.logits))
    }
}

/// Adam with L2 weight decay (PyTorch's `torch.optim.Adam(weight_decay=...)`) on a few f64
/// parameters.
pub(crate) struct SmallAdam {
    lr: f64,
    weight_decay: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl SmallAdam {
    pub(crate) fn new(n: usize, lr: f64, weight_decay: f64) -> Self {
        SmallAdam { lr, weight_decay, m: vec![0.0; n], v: vec![0.0; n], t: 0 }
    }

    pub(crate) fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        self.t += 1;
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        for i in 0..params.len() {
            let g = grad[i] + self.weight_decay * params[i];
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g;
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g;
            let m_hat = self.m[i] / (1.0 - b1.powi(self.t));
            let v_hat = self.v[i] / (1.0 - b2.powi(self.t));
            params[i] -= self.lr * m_hat / (v_hat.sqrt() + eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dwa_weights_follow_the_formula_from_recorded_losses() {
        let mut dwa = DynamicWeightAverage::new(2, 2.0);
        assert_eq!(dwa.weights(), Some(vec![1.0, 1.0]));
        dwa.end_epoch(&[1.0, 2.0]);
        assert_eq!(dwa.weights(), Some(vec![1.0, 1.0]), "one epoch is not enough");
        dwa.end_epoch(&[0.5, 1.8]);
        let (r0, r1): (f64, f64) = (0.5 / 1.0 / 2.0, 1.8 / 2.0 / 2.0);
        let w0 = 2.0 * r0.exp() / (r0.exp() + r1.exp());
        let w = dwa.weights().unwrap();
        assert!((w[0] - w0).abs() < 1e-12 && (w[1] - (2.0 - w0)).abs() < 1e-12);
        assert!(w[1] > w[0], "the task whose loss fell less gets more weight");
    }

    #[test]
    fn rlw_weights_are_positive_and_on_the_simplex() {
        let d = candle_core::Device::Cpu;
        let losses: Vec<Tensor> = (0..3).map(|i| Tensor::new(1.0f32 + i as f32, &d).unwrap()).collect();
        let mut rlw = RandomWeighting::new(3, 7);
        let mut seen = Vec::new();
        for _ in 0..20 {
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
    }

    #[test]
    fn famo_weights_stay_on_the_simplex_and_favour_the_slower_task() {
        let d = candle_core::Device::Cpu;
        let mut famo = Famo::new(2);
        for _ in 0..50 {
            let losses = [Tensor::new(1.0f32, &d).unwrap(), Tensor::new(1.0f32, &d).unwrap()];
            famo.backward(&losses, &ParamStore::default()).unwrap();
            // Task 0 improves a lot each step, task 1 barely.
            famo.after_step(&[0.5, 0.99]);
            let w = famo.weights().unwrap();
            assert!(w.iter().all(|&v| v > 0.0) && (w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let w = famo.weights().unwrap();
        assert!(w[1] > w[0], "{w:?}");
    }
}
