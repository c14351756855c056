//! Parameters with names, owners and seeded initialisation.
//!
//! candle's `VarBuilder` initialises from an unseeded RNG on CPU (the CPU device cannot be
//! seeded) and keeps BatchNorm running statistics beside trainable weights. medmtl needs
//! both fixed: every weight is drawn from a ChaCha stream seeded by the run, and every
//! parameter records whether it is trainable and which task owns it (`Shared` for the parts
//! gradient-weighting methods operate on, `Task(t)` for heads and single-task columns).

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Result;

thread_local! {
    static NO_GRAD: Cell<bool> = const { Cell::new(false) };
}

/// While alive, layers use detached parameters, so no operation is recorded for
/// backpropagation and every activation is freed as soon as it is consumed (candle has no
/// `no_grad` mode of its own: any op touching a `Var` keeps its inputs alive).
pub struct NoGradGuard {
    previous: bool,
}

/// Starts a no-gradient region on this thread (evaluation, inference timing).
pub fn no_grad() -> NoGradGuard {
    NoGradGuard { previous: NO_GRAD.with(|f| f.replace(true)) }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        NO_GRAD.with(|f| f.set(self.previous));
    }
}

/// A parameter as the current region should use it: detached inside [`no_grad`].
pub fn live(param: &Tensor) -> Tensor {
    if NO_GRAD.with(Cell::get) {
        param.detach()
    } else {
        param.clone()
    }
}

/// Which part of a multi-task model a parameter belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// Shared by every task (a shared trunk, cross-stitch units, gates).
    Shared,
    /// Used by one task only (index into the run's task list).
    Task(usize),
}

/// One named parameter.
#[derive(Debug, Clone)]
pub struct Param {
    /// The builders' prefixes and the parameter's own name, dot-separated.
    pub name: String,
    /// The value, updated in place by the optimiser (or, for buffers, by the layer).
    pub var: Var,
    /// The part of the model it belongs to: shared, or one task's.
    pub owner: Owner,
    /// False for buffers such as BatchNorm running statistics, which no optimiser touches.
    pub trainable: bool,
}

/// Name prefix of the representation levels in a [`ParamStore::with_representation`] store.
const REPRESENTATION: &str = "representation.";

/// All parameters of a model.
#[derive(Debug, Clone, Default)]
pub struct ParamStore {
    params: Vec<Param>,
}

/// A deep copy of parameter values (not a shared reference), for best-checkpoint keeping.
#[derive(Debug, Clone)]
pub struct Snapshot {
    values: Vec<(usize, Tensor)>,
}

impl Snapshot {
    /// The copied values with the index of their parameter in the store.
    pub fn entries(&self) -> &[(usize, Tensor)] {
        &self.values
    }

    /// A snapshot from saved values (a checkpoint), each with its parameter's index.
    pub fn from_entries(values: Vec<(usize, Tensor)>) -> Self {
        Snapshot { values }
    }
}

impl ParamStore {
    /// Every parameter, trainable or buffer, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.params.iter()
    }

    /// Trainable variables, in creation order (the optimiser's list).
    pub fn trainable_vars(&self) -> Vec<Var> {
        self.params.iter().filter(|p| p.trainable).map(|p| p.var.clone()).collect()
    }

    /// Trainable variables with the given owner.
    pub fn trainable_owned_by(&self, owner: Owner) -> Vec<Var> {
        self.params.iter().filter(|p| p.trainable && p.owner == owner).map(|p| p.var.clone()).collect()
    }

    /// Number of trainable scalars.
    pub fn trainable_count(&self) -> usize {
        self.params.iter().filter(|p| p.trainable).map(|p| p.var.elem_count()).sum()
    }

    /// True when some parameter is shared between tasks (false for single-task columns).
    pub fn has_shared(&self) -> bool {
        self.params.iter().any(|p| p.owner == Owner::Shared)
    }

    /// The store a gradient method sees when it acts on the shared representation
    /// (`rep_grad`): `levels` (detached copies of the representation, one variable per
    /// encoder level) stand where the shared parameters stood; the task-specific
    /// parameters are the model's.
    pub fn with_representation(&self, levels: &[Var]) -> ParamStore {
        let mut params: Vec<Param> = levels
            .iter()
            .enumerate()
            .map(|(i, v)| Param { name: format!("{REPRESENTATION}{i}"), var: v.clone(), owner: Owner::Shared, trainable: true })
            .collect();
        params.extend(self.params.iter().filter(|p| p.owner != Owner::Shared).cloned());
        ParamStore { params }
    }

    /// Whether this is a [`ParamStore::with_representation`] store: its shared entries are
    /// representation levels, not parameters.
    pub fn is_representation(&self) -> bool {
        let mut shared = self.params.iter().filter(|p| p.owner == Owner::Shared).peekable();
        shared.peek().is_some() && shared.all(|p| p.name.starts_with(REPRESENTATION))
    }

    /// Copies the values of every parameter (trainable or buffer) that `keep` selects.
    pub fn snapshot(&self, keep: impl Fn(&Param) -> bool) -> Result<Snapshot> {
        let values = self
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| keep(p))
            .map(|(i, p)| Ok((i, p.var.as_tensor().copy()?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Snapshot { values })
    }

    /// Writes a snapshot's values back into the live parameters.
    pub fn restore(&self, snapshot: &Snapshot) -> Result<()> {
        for (i, value) in &snapshot.values {
            self.params[*i].var.set(value)?;
        }
        Ok(())
    }
}

struct BuilderState {
    params: Vec<Param>,
    rng: ChaCha8Rng,
    device: Device,
}

/// Creates parameters under a name prefix and owner; cheap to clone into sub-builders.
#[derive(Clone)]
pub struct ParamBuilder {
    state: Arc<Mutex<BuilderState>>,
    prefix: String,
    owner: Owner,
}

impl ParamBuilder {
    /// A builder whose initial values are a pure function of `seed`.
    pub fn new(seed: u64, device: &Device) -> Self {
        ParamBuilder {
            state: Arc::new(Mutex::new(BuilderState { params: Vec::new(), rng: ChaCha8Rng::seed_from_u64(seed), device: device.clone() })),
            prefix: String::new(),
            owner: Owner::Shared,
        }
    }

    /// A builder for a sub-module; names become `prefix.name`.
    pub fn sub(&self, name: &str) -> Self {
        let prefix = if self.prefix.is_empty() { name.to_owned() } else { format!("{}.{name}", self.prefix) };
        ParamBuilder { prefix, ..self.clone() }
    }

    /// The same prefix with another owner.
    pub fn owned_by(&self, owner: Owner) -> Self {
        ParamBuilder { owner, ..self.clone() }
    }

    /// The device parameters are created on.
    pub fn device(&self) -> Device {
        self.lock().device.clone()
    }

    /// A trainable parameter drawn uniformly from `[-bound, bound]`.
    pub fn uniform(&self, name: &str, shape: &[usize], bound: f64) -> Result<Tensor> {
        let mut state = self.lock();
        let n: usize = shape.iter().product();
        let bound = bound as f32;
        let values: Vec<f32> = (0..n).map(|_| state.rng.random_range(-bound..=bound)).collect();
        let var = Var::from_vec(values, shape, &state.device)?;
        Ok(self.push(&mut state, name, var, true))
    }

    /// A trainable parameter filled with `value`.
    pub fn constant(&self, name: &str, shape: &[usize], value: f32) -> Result<Tensor> {
        let mut state = self.lock();
        let var = Var::from_tensor(&Tensor::full(value, shape, &state.device)?)?;
        Ok(self.push(&mut state, name, var, true))
    }

    /// A trainable parameter with explicit values (e.g. cross-stitch units at identity).
    pub fn values(&self, name: &str, shape: &[usize], values: Vec<f32>) -> Result<Tensor> {
        let mut state = self.lock();
        let var = Var::from_vec(values, shape, &state.device)?;
        Ok(self.push(&mut state, name, var, true))
    }

    /// A non-trainable buffer (running statistics), returned as a `Var` so it can be updated.
    pub fn buffer(&self, name: &str, shape: &[usize], value: f32) -> Result<Var> {
        let mut state = self.lock();
        let var = Var::from_tensor(&Tensor::full(value, shape, &state.device)?.to_dtype(DType::F32)?)?;
        self.push(&mut state, name, var.clone(), false);
        Ok(var)
    }

    /// A seed drawn from the builder's stream, for a module's own seeded randomness (a VAE's
    /// sampling noise), so it too is a pure function of the run's seed.
    pub fn draw_seed(&self) -> u64 {
        self.lock().rng.random()
    }

    /// All parameters created through this builder and its sub-builders.
    pub fn finish(&self) -> ParamStore {
        ParamStore { params: self.lock().params.clone() }
    }

    fn push(&self, state: &mut BuilderState, name: &str, var: Var, trainable: bool) -> Tensor {
        let tensor = var.as_tensor().clone();
        let name = if self.prefix.is_empty() { name.to_owned() } else { format!("{}.{name}", self.prefix) };
        state.params.push(Param { name, var, owner: self.owner, trainable });
        tensor
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BuilderState> {
        // The lock is never held across user code, so poisoning cannot happen; recover anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A module's own seeded random stream (a VAE's sampling noise, Gumbel draws) that a resumed
/// run continues where the uninterrupted one was: the seed comes from the builder, and a
/// counter kept as a buffer (saved with the checkpoint) numbers the passes, each pass one
/// ChaCha stream.
pub struct CountedStream {
    seed: u64,
    draws: Var,
}

impl CountedStream {
    /// A stream seeded from `pb`, its counter the buffer `draws` of `pb`.
    pub fn new(pb: &ParamBuilder) -> Result<Self> {
        Ok(CountedStream { seed: pb.draw_seed(), draws: pb.buffer("draws", &[1], 0.0)? })
    }

    /// The generator of the next pass; the counter moves on.
    pub fn next_pass(&self) -> Result<ChaCha8Rng> {
        let draw = self.draws.as_tensor().to_vec1::<f32>()?[0];
        self.draws.set(&Tensor::new(&[draw + 1.0], self.draws.device())?)?;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(draw as u64);
        Ok(rng)
    }

    /// The pass counter (a buffer of the model).
    pub fn counter(&self) -> &Var {
        &self.draws
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_weights_and_names_nest() {
        let make = |seed| {
            let pb = ParamBuilder::new(seed, &Device::Cpu);
            pb.sub("trunk").sub("conv").uniform("weight", &[4, 3], 0.5).unwrap();
            pb.finish()
        };
        let (a, b, c) = (make(1), make(1), make(2));
        let va = a.iter().next().unwrap().var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let vb = b.iter().next().unwrap().var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let vc = c.iter().next().unwrap().var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(va, vb);
        assert_ne!(va, vc);
        assert!(va.iter().all(|v| v.abs() <= 0.5));
        assert_eq!(a.iter().next().unwrap().name, "trunk.conv.weight");
    }

    #[test]
    fn snapshot_is_a_copy_not_a_reference() {
        let pb = ParamBuilder::new(0, &Device::Cpu);
        let w = pb.constant("w", &[2], 1.0).unwrap();
        let store = pb.finish();
        let snap = store.snapshot(|_| true).unwrap();
        store.iter().next().unwrap().var.set(&Tensor::new(&[5f32, 5.], &Device::Cpu).unwrap()).unwrap();
        assert_eq!(w.to_vec1::<f32>().unwrap(), vec![5., 5.]);
        store.restore(&snap).unwrap();
        assert_eq!(w.to_vec1::<f32>().unwrap(), vec![1., 1.]);
    }

    #[test]
    fn buffers_are_not_trainable() {
        let pb = ParamBuilder::new(0, &Device::Cpu);
        pb.constant("w", &[3], 1.0).unwrap();
        pb.buffer("running_mean", &[3], 0.0).unwrap();
        let store = pb.finish();
        assert_eq!(store.trainable_vars().len(), 1);
        assert_eq!(store.trainable_count(), 3);
    }
}
