//! Mixture-of-experts designs, with whole encoders as experts (as LibMTL does for images)
//! and per-sample softmax gates:
//! - MMoE (Ma, Zhao, Yi, Chen, Hong & Chi, "Modeling task relationships in multi-task
//!   learning with multi-gate mixture-of-experts", KDD 2018): shared experts, one gate per
//!   task reading the flattened image;
//! - CGC and PLE (Tang, Liu, Zhao & Gong, "Progressive layered extraction (PLE): a novel
//!   multi-task learning model for personalized recommendations", RecSys 2020): CGC adds
//!   task-specific experts, each task's gate mixing its own and the shared experts; PLE
//!   applies that extraction stage by stage, with a shared gate feeding the next stage's
//!   shared experts.
//! Gates mix every level of the experts' feature pyramids with the same weights, so dense
//! heads get mixed skip connections too.

use candle_core::{Tensor, D};

use super::{mix, task_heads, Architecture, ModelSpec};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::layers::{global_avg_pool, Linear};
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::Result;

/// A softmax gate over `experts` from the flattened image.
struct ImageGate(Linear);

impl ImageGate {
    fn new(pb: &ParamBuilder, spec: &ModelSpec, experts: usize) -> Result<Self> {
        let (h, w) = spec.input_size;
        Ok(ImageGate(Linear::new(pb, spec.in_channels * h * w, experts)?))
    }

    fn weights(&self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::softmax(&self.0.forward(&x.flatten_from(1)?)?, D::Minus1)?)
    }
}

fn check_experts(n: usize, what: &str) -> Result<()> {
    if n == 0 {
        return Err(crate::Error::Invalid(format!("{what} must be at least 1")));
    }
    Ok(())
}

/// Multi-gate mixture of experts.
pub struct Mmoe {
    experts: Vec<Box<dyn Backbone>>,
    gates: Vec<ImageGate>,
    heads: Vec<Head>,
    params: ParamStore,
}

impl Mmoe {
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec) -> Result<Self> {
        let e = spec.experts.experts;
        check_experts(e, "experts")?;
        let experts = (0..e)
            .map(|i| spec.backbone.build(&pb.sub(&format!("expert{i}")), spec.in_channels, spec.width))
            .collect::<Result<Vec<_>>>()?;
        let gates = (0..spec.tasks())
            .map(|t| ImageGate::new(&pb.sub(&format!("gate{t}")).owned_by(Owner::Task(t)), spec, e))
            .collect::<Result<Vec<_>>>()?;
        let heads = task_heads(pb, spec, experts[0].stage_channels())?;
        Ok(Mmoe { experts, gates, heads, params: pb.finish() })
    }

    /// Task `t`'s gate weights, `N x experts` (rows sum to 1).
    pub fn gate_weights(&self, x: &Tensor, t: usize) -> Result<Tensor> {
        self.gates[t].weights(x)
    }
}

impl Architecture for Mmoe {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let expert_levels = self.experts.iter().map(|e| e.forward_levels(x, train)).collect::<Result<Vec<_>>>()?;
        tasks
            .iter()
            .map(|&t| {
                let g = self.gates[t].weights(x)?;
                let levels = (0..expert_levels[0].len())
                    .map(|s| mix(&expert_levels.iter().map(|l| l[s].clone()).collect::<Vec<_>>(), &g))
                    .collect::<Result<Vec<_>>>()?;
                self.heads[t].forward(&levels, train)
            })
            .collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}

/// Customized gate control: one extraction layer over whole-encoder experts.
pub struct Cgc {
    shared: Vec<Box<dyn Backbone>>,
    own: Vec<Vec<Box<dyn Backbone>>>,
    gates: Vec<ImageGate>,
    heads: Vec<Head>,
    params: ParamStore,
}

impl Cgc {
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec) -> Result<Self> {
        let (s, k) = (spec.experts.shared_experts, spec.experts.task_experts);
        check_experts(s + k, "shared_experts + task_experts")?;
        let build = |p: &ParamBuilder| spec.backbone.build(p, spec.in_channels, spec.width);
        let shared = (0..s).map(|i| build(&pb.sub(&format!("shared{i}")))).collect::<Result<Vec<_>>>()?;
        let own = (0..spec.tasks())
            .map(|t| {
                let tp = pb.sub(&format!("task{t}")).owned_by(Owner::Task(t));
                (0..k).map(|i| build(&tp.sub(&format!("expert{i}")))).collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let gates = (0..spec.tasks())
            .map(|t| ImageGate::new(&pb.sub(&format!("gate{t}")).owned_by(Owner::Task(t)), spec, k + s))
            .collect::<Result<Vec<_>>>()?;
        let channels = shared.first().or(own[0].first()).map(|b| b.stage_channels().to_vec()).unwrap_or_default();
        let heads = task_heads(pb, spec, &channels)?;
        Ok(Cgc { shared, own, gates, heads, params: pb.finish() })
    }
}

impl Architecture for Cgc {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let shared = self.shared.iter().map(|e| e.forward_levels(x, train)).collect::<Result<Vec<_>>>()?;
        tasks
            .iter()
            .map(|&t| {
                let mut experts = self.own[t].iter().map(|e| e.forward_levels(x, train)).collect::<Result<Vec<_>>>()?;
                experts.extend(shared.iter().cloned());
                let g = self.gates[t].weights(x)?;
                let levels = (0..experts[0].len())
                    .map(|s| mix(&experts.iter().map(|l| l[s].clone()).collect::<Vec<_>>(), &g))
                    .collect::<Result<Vec<_>>>()?;
                self.heads[t].forward(&levels, train)
            })
            .collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}

/// A gate of one PLE stage: reads the flattened image at the first stage, the globally
/// pooled stage input afterwards.
enum StageGate {
    Image(ImageGate),
    Pooled(Linear),
}

impl StageGate {
    fn new(pb: &ParamBuilder, spec: &ModelSpec, stage: usize, c_in: usize, experts: usize) -> Result<Self> {
        Ok(if stage == 0 {
            StageGate::Image(ImageGate::new(pb, spec, experts)?)
        } else {
            StageGate::Pooled(Linear::new(pb, c_in, experts)?)
        })
    }

    fn weights(&self, input: &Tensor) -> Result<Tensor> {
        match self {
            StageGate::Image(g) => g.weights(input),
            StageGate::Pooled(l) => Ok(candle_nn::ops::softmax(&l.forward(&global_avg_pool(input)?)?, D::Minus1)?),
        }
    }
}

/// Progressive layered extraction.
pub struct Ple {
    /// Experts as whole encoders; stage s of expert e is that expert's stage-s module.
    shared: Vec<Box<dyn Backbone>>,
    own: Vec<Vec<Box<dyn Backbone>>>,
    /// `task_gates[t][s]` mixes task t's and the shared experts at stage s.
    task_gates: Vec<Vec<StageGate>>,
    /// `shared_gates[s]` mixes all experts into the next stage's shared input.
    shared_gates: Vec<StageGate>,
    heads: Vec<Head>,
    params: ParamStore,
}

impl Ple {
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec) -> Result<Self> {
        let (s, k, t) = (spec.experts.shared_experts, spec.experts.task_experts, spec.tasks());
        check_experts(s + k, "shared_experts + task_experts")?;
        let build = |p: &ParamBuilder| spec.backbone.build(p, spec.in_channels, spec.width);
        // Task experts feed the shared gate before the last stage, so other tasks' losses
        // reach them: like LibMTL, medmtl counts every expert as a shared parameter.
        let shared = (0..s).map(|i| build(&pb.sub(&format!("shared{i}")))).collect::<Result<Vec<_>>>()?;
        let own = (0..t)
            .map(|ti| (0..k).map(|i| build(&pb.sub(&format!("task{ti}.expert{i}")))).collect::<Result<Vec<_>>>())
            .collect::<Result<Vec<_>>>()?;
        let channels = shared.first().or(own[0].first()).map(|b| b.stage_channels().to_vec()).unwrap_or_default();
        let stages = channels.len();
        let c_in = |stage: usize| if stage == 0 { spec.in_channels } else { channels[stage - 1] };
        let task_gates = (0..t)
            .map(|ti| {
                let gp = pb.sub(&format!("gate{ti}")).owned_by(Owner::Task(ti));
                (0..stages).map(|st| StageGate::new(&gp.sub(&format!("stage{st}")), spec, st, c_in(st), k + s)).collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let shared_gates = (0..stages.saturating_sub(1))
            .map(|st| StageGate::new(&pb.sub(&format!("shared_gate.stage{st}")), spec, st, c_in(st), k * t + s))
            .collect::<Result<Vec<_>>>()?;
        let heads = task_heads(pb, spec, &channels)?;
        Ok(Ple { shared, own, task_gates, shared_gates, heads, params: pb.finish() })
    }
}

impl Architecture for Ple {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let t = self.own.len();
        let stages = self.task_gates.first().map_or(0, Vec::len);
        let mut task_inputs = vec![x.clone(); t];
        let mut shared_input = x.clone();
        let mut levels: Vec<Vec<Tensor>> = vec![Vec::with_capacity(stages); t];
        for st in 0..stages {
            let shared_out = self.shared.iter().map(|e| e.forward_stage(st, &shared_input, train)).collect::<Result<Vec<_>>>()?;
            let own_out = self
                .own
                .iter()
                .zip(&task_inputs)
                .map(|(experts, input)| experts.iter().map(|e| e.forward_stage(st, input, train)).collect::<Result<Vec<_>>>())
                .collect::<Result<Vec<_>>>()?;
            let mut next = Vec::with_capacity(t);
            for ti in 0..t {
                let mut candidates = own_out[ti].clone();
                candidates.extend(shared_out.iter().cloned());
                let g = self.task_gates[ti][st].weights(&task_inputs[ti])?;
                let out = mix(&candidates, &g)?;
                levels[ti].push(out.clone());
                next.push(out);
            }
            if st + 1 < stages {
                let mut all: Vec<Tensor> = own_out.into_iter().flatten().collect();
                all.extend(shared_out);
                let g = self.shared_gates[st].weights(&shared_input)?;
                shared_input = mix(&all, &g)?;
            }
            task_inputs = next;
        }
        tasks.iter().map(|&ti| self.heads[ti].forward(&levels[ti], train)).collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
