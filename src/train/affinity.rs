//! Lookahead task affinity (Fifty, Amid, Zhao, Yu, Anil & Finn, "Efficiently Identifying
//! Task Groupings for Multi-Task Learning", NeurIPS 2021, the TAG score): how much a step
//! on task i's gradient alone changes task j's loss on the same batch,
//! `Z(i→j) = 1 − L_j(θ_s − η ∇_{θ_s} L_i, θ_j) / L_j(θ_s, θ_j)`. Positive: a step for i also
//! helps j; negative: it hurts j.

use candle_core::Tensor;

use crate::model::params::{no_grad, Owner, ParamStore};
use crate::weighting::gradients::TaskGradients;
use crate::weighting::loss_values;
use crate::Result;

/// `Z[i][j]` for every task pair (diagonal included) at the current parameters: `grads` are
/// the per-task gradients on the shared parameters, `base` the losses before any step and
/// `forward` recomputes the batch's losses. Parameters and buffers (BatchNorm statistics)
/// are restored afterwards, so training continues exactly as without the measurement.
pub fn lookahead_affinity(
    params: &ParamStore,
    grads: &TaskGradients,
    lr: f64,
    base: &[f64],
    mut forward: impl FnMut() -> Result<Vec<Tensor>>,
) -> Result<Vec<Vec<f64>>> {
    let saved = params.snapshot(|p| p.owner == Owner::Shared || !p.trainable)?;
    let shared = grads.shared_vars();
    let originals: Vec<Tensor> = shared.iter().map(|v| v.as_tensor().copy()).collect::<candle_core::Result<_>>()?;
    let _no_grad = no_grad();
    let mut z = Vec::with_capacity(grads.tasks());
    for row in &grads.rows {
        let mut offset = 0;
        for (var, original) in shared.iter().zip(&originals) {
            let n = var.elem_count();
            let g = Tensor::from_slice(&row[offset..offset + n], var.shape(), var.device())?;
            var.set(&(original - (g * lr)?)?)?;
            offset += n;
        }
        let after = loss_values(&forward()?)?;
        params.restore(&saved)?;
        z.push(base.iter().zip(&after).map(|(b, a)| if *b > 0.0 { 1.0 - a / b } else { f64::NAN }).collect());
    }
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::ParamBuilder;
    use candle_core::Device;

    #[test]
    fn a_step_on_a_convex_task_lowers_its_own_loss_and_raises_an_opposed_ones() {
        let pb = ParamBuilder::new(0, &Device::Cpu);
        let w = pb.values("w", &[3], vec![0.5, -0.2, 0.1]).unwrap();
        let params = pb.finish();
        let target = Tensor::new(&[1f32, 1.0, 1.0], &Device::Cpu).unwrap();
        // Task 0 pulls w toward +1, task 1 toward −1 (convex quadratics), task 2 = 3 x task 0.
        let losses = || -> Result<Vec<Tensor>> {
            let l0 = (&w - &target)?.sqr()?.sum_all()?;
            let l1 = (&w + &target)?.sqr()?.sum_all()?;
            let l2 = (l0.clone() * 3.0)?;
            Ok(vec![l0, l1, l2])
        };
        let first = losses().unwrap();
        let base = loss_values(&first).unwrap();
        let grads = TaskGradients::compute(&first, &params).unwrap();
        let before = w.to_vec1::<f32>().unwrap();
        let z = lookahead_affinity(&params, &grads, 0.05, &base, losses).unwrap();
        assert_eq!(w.to_vec1::<f32>().unwrap(), before, "parameters are restored exactly");
        for t in 0..3 {
            assert!(z[t][t] > 0.0, "self-affinity of task {t}: {}", z[t][t]);
        }
        assert!(z[0][1] < 0.0 && z[1][0] < 0.0, "opposed tasks hurt each other: {z:?}");
        assert!(z[0][2] > 0.0 && z[2][0] > 0.0, "aligned tasks help each other: {z:?}");
        // Exact value for task 0 on itself: w' = w − η·2(w − 1), so L0' = (1 − 2η)² L0.
        assert!((z[0][0] - (1.0 - 0.9f64.powi(2))).abs() < 1e-6, "{}", z[0][0]);
    }
}
