//! Per-task gradients: one backward pass per task loss on the same forward graph.
//!
//! candle's `Tensor::backward` walks the graph afresh and returns a new `GradStore` on each
//! call (there is no retain-graph flag to forget), so gradient-based MTL methods take one
//! store per task and combine the shared parameters' gradients into one store for the
//! optimiser.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::Result;

/// One gradient store per task loss.
pub fn task_gradients(losses: &[Tensor]) -> Result<Vec<GradStore>> {
    losses.iter().map(|l| Ok(l.backward()?)).collect()
}

/// A store holding, for each of `vars`, the weighted sum of its per-task gradients (tasks
/// without a gradient for a variable contribute nothing).
pub fn weighted_sum(stores: &[GradStore], weights: &[f64], vars: &[Var]) -> Result<GradStore> {
    let mut out = GradStore::default();
    for var in vars {
        let mut total: Option<Tensor> = None;
        for (store, &w) in stores.iter().zip(weights) {
            if let Some(g) = store.get(var.as_tensor()) {
                let g = if w == 1.0 { g.clone() } else { (g * w)? };
                total = Some(match total {
                    Some(t) => (t + g)?,
                    None => g,
                });
            }
        }
        if let Some(t) = total {
            out.insert(var.as_tensor(), t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Two backward passes on one forward graph give each loss's own gradient, and their sum
    /// equals the gradient of the summed loss.
    #[test]
    fn one_backward_per_task_on_a_shared_graph() {
        let d = Device::Cpu;
        let w = Var::new(&[1f32, 2.0], &d).unwrap();
        let shared = (w.as_tensor() * 3.0).unwrap(); // shared representation
        let l1 = shared.sqr().unwrap().sum_all().unwrap(); // d/dw = 2*3w*3 = 18w
        let l2 = (shared.sum_all().unwrap() * 2.0).unwrap(); // d/dw = 6
        let stores = task_gradients(&[l1.clone(), l2.clone()]).unwrap();
        let g1: Vec<f32> = stores[0].get(w.as_tensor()).unwrap().to_vec1().unwrap();
        let g2: Vec<f32> = stores[1].get(w.as_tensor()).unwrap().to_vec1().unwrap();
        assert_eq!(g1, vec![18.0, 36.0]);
        assert_eq!(g2, vec![6.0, 6.0]);
        let summed = weighted_sum(&stores, &[1.0, 1.0], &[w.clone()]).unwrap();
        let joint = (l1 + l2).unwrap().backward().unwrap();
        assert_eq!(
            summed.get(w.as_tensor()).unwrap().to_vec1::<f32>().unwrap(),
            joint.get(w.as_tensor()).unwrap().to_vec1::<f32>().unwrap()
        );
    }
}
