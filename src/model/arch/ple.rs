//! Progressive layered extraction (PLE; Tang, Liu, Zhao & Gong, RecSys 2020): CGC's
//! extraction applied stage by stage, with a shared gate feeding the next stage's shared
//! experts.

use candle_core::Tensor;

use super::experts::{ExtractionParams, StageGate};
use super::{mix, task_heads, Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::params::{Owner, ParamBuilder, ParamStore};
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "ple",
    title: "PLE",
    citation: "Tang, Liu, Zhao & Gong, Progressive layered extraction (PLE): a novel multi-task learning model for personalized recommendations, RecSys 2020",
    single_task: false,
    construct,
    params: hyper::resolve::<ExtractionParams>,
};

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: ExtractionParams = hyper::parse("design.ple", table)?;
    Ok(Box::new(Ple::new(pb, spec, &p)?))
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
    /// The shared and task experts of `p` at every stage, with their gates.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, p: &ExtractionParams) -> Result<Self> {
        let (s, k, t) = (p.shared_experts, p.task_experts, spec.tasks());
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
