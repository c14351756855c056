//! Per-task gradients: one backward pass per task loss on the same forward graph.
//!
//! candle's `Tensor::backward` walks the graph afresh and returns a new `GradStore` on each
//! call (there is no retain-graph flag to forget), so gradient-based MTL methods take one
//! store per task, flatten the shared parameters' gradients into a `T x D` matrix, combine
//! its rows, and write the result back into one store for the optimiser.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::model::params::{Owner, ParamStore};
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

/// The shared parameters' per-task gradients as a dense `T x D` matrix, plus each task's
/// full store for the task-specific parameters.
pub struct TaskGradients {
    shared: Vec<Var>,
    task_specific: Vec<Var>,
    stores: Vec<GradStore>,
    /// Row t: task t's gradient on all shared parameters, flattened in `shared` order.
    pub rows: Vec<Vec<f32>>,
}

impl TaskGradients {
    /// One backward pass per task loss.
    pub fn compute(losses: &[Tensor], params: &ParamStore) -> Result<Self> {
        let shared = params.trainable_owned_by(Owner::Shared);
        let task_specific: Vec<Var> = params.iter().filter(|p| p.trainable && p.owner != Owner::Shared).map(|p| p.var.clone()).collect();
        let stores = task_gradients(losses)?;
        let dim: usize = shared.iter().map(|v| v.elem_count()).sum();
        let rows = stores
            .iter()
            .map(|store| {
                let mut row = Vec::with_capacity(dim);
                for var in &shared {
                    match store.get(var.as_tensor()) {
                        Some(g) => row.extend(g.flatten_all()?.to_vec1::<f32>()?),
                        None => row.extend(std::iter::repeat_n(0.0, var.elem_count())),
                    }
                }
                Ok(row)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TaskGradients { shared, task_specific, stores, rows })
    }

    /// The shared parameters, in the order of each row's entries.
    pub fn shared_vars(&self) -> &[Var] {
        &self.shared
    }

    /// Number of tasks: the rows of the gradient matrix.
    pub fn tasks(&self) -> usize {
        self.rows.len()
    }

    /// The Gram matrix `G G^T` in f64.
    pub fn gram(&self) -> Vec<Vec<f64>> {
        let t = self.rows.len();
        let mut m = vec![vec![0.0; t]; t];
        for i in 0..t {
            for j in i..t {
                let v = dot(&self.rows[i], &self.rows[j]);
                m[i][j] = v;
                m[j][i] = v;
            }
        }
        m
    }

    /// `sum_t w_t g_t` over the shared parameters.
    pub fn combine(&self, weights: &[f64]) -> Vec<f32> {
        let dim = self.rows.first().map_or(0, Vec::len);
        let mut out = vec![0f64; dim];
        for (row, &w) in self.rows.iter().zip(weights) {
            for (o, &g) in out.iter_mut().zip(row) {
                *o += w * g as f64;
            }
        }
        out.into_iter().map(|v| v as f32).collect()
    }

    /// For each of `vars` (a method's own variables), the sum of its per-task gradients.
    pub fn summed(&self, vars: &[Var]) -> Result<GradStore> {
        weighted_sum(&self.stores, &vec![1.0; self.stores.len()], vars)
    }

    /// The optimiser's store: `shared_grad` for the shared parameters; for task-specific
    /// parameters the sum of their tasks' gradients, scaled by `task_weights` when given
    /// (otherwise unscaled, as LibMTL leaves them for gradient-manipulation methods).
    pub fn into_store(self, shared_grad: &[f32], task_weights: Option<&[f64]>) -> Result<GradStore> {
        let ones = vec![1.0; self.stores.len()];
        let mut out = weighted_sum(&self.stores, task_weights.unwrap_or(&ones), &self.task_specific)?;
        insert_flat(&mut out, &self.shared, shared_grad)?;
        Ok(out)
    }
}

/// The per-task gradients of each of a double-sampling method's three independent batches
/// (MoDo, SDMGrad); `method` names it in the error for another count.
pub(crate) fn three_batches(losses: &[Vec<Tensor>], params: &ParamStore, method: &str) -> Result<Vec<TaskGradients>> {
    if losses.len() != 3 {
        return Err(crate::Error::Invalid(format!("{method} needs 3 independent batches per step, got {}", losses.len())));
    }
    losses.iter().map(|l| TaskGradients::compute(l, params)).collect()
}

/// The optimiser's store for a step over several independent batches (MoDo, SDMGrad):
/// `shared_grad` on the shared parameters, and on each task-specific parameter the mean
/// over the batches of its tasks' gradients.
pub fn into_store_over_batches(batches: Vec<TaskGradients>, shared_grad: &[f32]) -> Result<GradStore> {
    let n = batches.len().max(1) as f64;
    let mut iter = batches.into_iter();
    let Some(first) = iter.next() else { return Ok(GradStore::default()) };
    let mut stores: Vec<GradStore> = first.stores;
    for b in iter {
        stores.extend(b.stores);
    }
    let mut out = weighted_sum(&stores, &vec![1.0 / n; stores.len()], &first.task_specific)?;
    insert_flat(&mut out, &first.shared, shared_grad)?;
    Ok(out)
}

/// Writes the flat gradient `flat` (in `vars` order) into `store`, one tensor per variable.
fn insert_flat(store: &mut GradStore, vars: &[Var], flat: &[f32]) -> Result<()> {
    let mut offset = 0;
    for var in vars {
        let n = var.elem_count();
        store.insert(var.as_tensor(), Tensor::from_slice(&flat[offset..offset + n], var.shape(), var.device())?);
        offset += n;
    }
    Ok(())
}

/// `A B^T` for two sets of task gradients (`A[i] . B[j]`), in f64.
pub fn cross_gram(a: &[Vec<f32>], b: &[Vec<f32>]) -> Vec<Vec<f64>> {
    a.iter().map(|x| b.iter().map(|y| dot(x, y)).collect()).collect()
}

/// `g -= coef * onto`: removes from `g` its component along `onto` (scaled by `coef`).
pub(crate) fn axpy(g: &mut [f64], coef: f64, onto: &[f32]) {
    for (a, &b) in g.iter_mut().zip(onto) {
        *a -= coef * b as f64;
    }
}

/// An f64 update as the f32 gradient the optimiser applies.
pub(crate) fn to_f32(v: Vec<f64>) -> Vec<f32> {
    v.into_iter().map(|x| x as f32).collect()
}

/// `a . b` accumulated in f64.
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// Euclidean norm, accumulated in f64.
pub fn norm(a: &[f32]) -> f64 {
    dot(a, a).sqrt()
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
        let summed = weighted_sum(&stores, &[1.0, 1.0], std::slice::from_ref(&w)).unwrap();
        let joint = (l1 + l2).unwrap().backward().unwrap();
        assert_eq!(
            summed.get(w.as_tensor()).unwrap().to_vec1::<f32>().unwrap(),
            joint.get(w.as_tensor()).unwrap().to_vec1::<f32>().unwrap()
        );
    }
}
