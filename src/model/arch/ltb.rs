//! Learning to Branch (Guo, Lee & Ulbricht, "Learning to branch for multi-task learning",
//! ICML 2020): the tree of shared and task-specific encoder stages is learned with
//! Gumbel-softmax choices of each node's parent, then fixed.

use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::{Tensor, D};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{task_heads, Architecture, DesignInfo, ModelSpec};
use crate::hyper::{self, HyperParams, ParamTable};
use crate::model::backbone::Backbone;
use crate::model::head::Head;
use crate::model::params::{live, CountedStream, ParamBuilder, ParamStore};
use crate::Result;

pub(super) const ENTRY: DesignInfo = DesignInfo {
    name: "ltb",
    title: "Learning to Branch",
    citation: "Guo, Lee & Ulbricht, Learning to branch for multi-task learning, ICML 2020",
    single_task: false,
    construct,
    params: hyper::resolve::<LtbParams>,
};

/// Learning to Branch's hyper-parameters (medmtl's choices: the paper anneals the
/// temperature over a search phase and then trains the chosen tree).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LtbParams {
    /// Epochs of the search, in which every node's input is a Gumbel-softmax mixture of the
    /// previous layer's nodes; afterwards each node keeps its most likely parent.
    pub search_epochs: usize,
    /// Gumbel-softmax temperature at the first search epoch.
    pub temperature: f64,
    /// Factor applied to the temperature after every search epoch.
    pub temperature_decay: f64,
}

impl Default for LtbParams {
    fn default() -> Self {
        LtbParams { search_epochs: 5, temperature: 1.0, temperature_decay: 0.8 }
    }
}

impl HyperParams for LtbParams {
    fn check(&self) -> std::result::Result<(), String> {
        hyper::require(self.temperature > 0.0 && self.temperature.is_finite(), "temperature", "> 0", self.temperature)?;
        hyper::require(
            self.temperature_decay > 0.0 && self.temperature_decay <= 1.0,
            "temperature_decay",
            "in (0, 1]",
            self.temperature_decay,
        )
    }
}

fn construct(pb: &ParamBuilder, spec: &ModelSpec, table: Option<&ParamTable>) -> Result<Box<dyn Architecture>> {
    let p: LtbParams = hyper::parse("design.ltb", table)?;
    Ok(Box::new(Ltb::new(pb, spec, p)?))
}

/// One node per task at every encoder stage (node `(l, j)` is stage `l` of column `j`); node
/// `(l, j)` for `l >= 1` reads a mixture of the nodes of layer `l - 1`, weighted by
/// `P_l[j] = gumbel_softmax(alpha_l[j])` during the search and by the one-hot of
/// `argmax alpha_l[j]` afterwards and at evaluation. Task `t` reads node `(L-1, t)`; its
/// shallower levels (skip connections of dense heads) are the path-weighted node outputs
/// `sum_i w_l[i] h_{l,i}` with `w_{L-1} = e_t`, `w_{l-1} = w_l P_l`, which along a fixed tree
/// are exactly the nodes of the task's path. Tasks whose paths meet at a node share it.
pub struct Ltb {
    columns: Vec<Box<dyn Backbone>>,
    logits: Vec<Tensor>,
    heads: Vec<Head>,
    params: ParamStore,
    settings: LtbParams,
    epoch: AtomicUsize,
    stream: CountedStream,
}

impl Ltb {
    /// The columns, the parent logits (uniform) and the heads.
    pub fn new(pb: &ParamBuilder, spec: &ModelSpec, settings: LtbParams) -> Result<Self> {
        let t = spec.tasks();
        let columns = (0..t)
            .map(|j| spec.backbone.build(&pb.sub(&format!("node{j}")), spec.in_channels, spec.width))
            .collect::<Result<Vec<_>>>()?;
        let stages = columns[0].stage_channels().len();
        let branch = pb.sub("branch");
        let logits = (1..stages).map(|l| branch.constant(&format!("alpha{l}"), &[t, t], 0.0)).collect::<Result<Vec<_>>>()?;
        let heads = task_heads(pb, spec, columns[0].stage_channels())?;
        Ok(Ltb {
            columns,
            logits,
            heads,
            settings,
            epoch: AtomicUsize::new(0),
            stream: CountedStream::new(pb)?,
            params: pb.finish(),
        })
    }

    fn searching(&self) -> bool {
        self.epoch.load(Ordering::Relaxed) < self.settings.search_epochs
    }

    /// The parent weights of layer `l >= 1` (`T x T`, rows: children).
    fn parent_weights(&self, l: usize, train: bool) -> Result<Tensor> {
        let alpha = live(&self.logits[l - 1]);
        if !(train && self.searching()) {
            return one_hot_argmax(&alpha);
        }
        let epoch = self.epoch.load(Ordering::Relaxed);
        let tau = self.settings.temperature * self.settings.temperature_decay.powi(epoch as i32);
        let noise = Tensor::from_vec(self.gumbel(alpha.elem_count())?, alpha.shape(), alpha.device())?;
        Ok(candle_nn::ops::softmax(&((alpha + noise)? / tau)?, D::Minus1)?)
    }

    /// Gumbel(0, 1) draws from the stream of the next training pass (a counter kept as a
    /// buffer, so a resumed run draws what the uninterrupted one would have).
    fn gumbel(&self, count: usize) -> Result<Vec<f32>> {
        let mut rng = self.stream.next_pass()?;
        Ok((0..count)
            .map(|_| {
                let u: f64 = rng.random_range(1e-12..1.0);
                -(-u.ln()).ln() as f32
            })
            .collect())
    }

    /// The tree as it stands: for every layer `l >= 1`, each node's most likely parent; and
    /// for every task the node it uses at each layer (tasks sharing a node share that stage).
    pub fn tree(&self) -> Result<LearnedTree> {
        let t = self.columns.len();
        let parents: Vec<Vec<usize>> = self
            .logits
            .iter()
            .map(|a| Ok(a.argmax(D::Minus1)?.to_vec1::<u32>()?.into_iter().map(|p| p as usize).collect()))
            .collect::<Result<_>>()?;
        let paths = (0..t)
            .map(|task| {
                let mut path = vec![task];
                for layer in parents.iter().rev() {
                    let child = *path.last().unwrap_or(&task);
                    path.push(layer[child]);
                }
                path.reverse();
                path
            })
            .collect();
        Ok(LearnedTree { parents, paths })
    }
}

/// A learned branching structure, as [`Ltb::tree`] reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedTree {
    /// `parents[l - 1][j]`: the node of layer `l - 1` that node `j` of layer `l` reads.
    pub parents: Vec<Vec<usize>>,
    /// `paths[t][l]`: the node task `t` uses at layer `l`.
    pub paths: Vec<Vec<usize>>,
}

/// Row-wise one-hot of the argmax (no gradient).
fn one_hot_argmax(a: &Tensor) -> Result<Tensor> {
    let (rows, cols) = a.dims2()?;
    let best = a.argmax(D::Minus1)?.to_vec1::<u32>()?;
    let mut v = vec![0f32; rows * cols];
    for (r, &c) in best.iter().enumerate() {
        v[r * cols + c as usize] = 1.0;
    }
    Ok(Tensor::from_vec(v, (rows, cols), a.device())?)
}

/// `sum_i w[i] maps[i]` for a weight vector `w` (a tensor of `maps.len()` entries).
fn weighted(maps: &[Tensor], w: &Tensor) -> Result<Tensor> {
    let mut out: Option<Tensor> = None;
    for (i, m) in maps.iter().enumerate() {
        let term = m.broadcast_mul(&w.narrow(0, i, 1)?.reshape((1, 1, 1, 1))?)?;
        out = Some(match out {
            Some(o) => (o + term)?,
            None => term,
        });
    }
    out.ok_or_else(|| crate::Error::Invalid("Learning to Branch needs at least one node".into()))
}

impl Architecture for Ltb {
    fn forward(&self, x: &Tensor, tasks: &[usize], train: bool) -> Result<Vec<Tensor>> {
        let t = self.columns.len();
        let stages = self.columns[0].stage_channels().len();
        let mut outputs: Vec<Vec<Tensor>> = Vec::with_capacity(stages);
        let mut weights: Vec<Tensor> = Vec::with_capacity(stages.saturating_sub(1));
        let first = self.columns.iter().map(|c| c.forward_stage(0, x, train)).collect::<Result<Vec<_>>>()?;
        outputs.push(first);
        for l in 1..stages {
            let p = self.parent_weights(l, train)?;
            let previous = &outputs[l - 1];
            let layer = (0..t)
                .map(|j| self.columns[j].forward_stage(l, &weighted(previous, &p.get(j)?)?, train))
                .collect::<Result<Vec<_>>>()?;
            outputs.push(layer);
            weights.push(p);
        }
        tasks
            .iter()
            .map(|&task| {
                let mut w = Tensor::from_vec((0..t).map(|j| if j == task { 1f32 } else { 0.0 }).collect::<Vec<_>>(), t, x.device())?;
                let mut levels = vec![weighted(&outputs[stages - 1], &w)?];
                for l in (1..stages).rev() {
                    w = w.unsqueeze(0)?.matmul(&weights[l - 1])?.squeeze(0)?;
                    levels.push(weighted(&outputs[l - 1], &w)?);
                }
                levels.reverse();
                self.heads[task].forward(&levels, train)
            })
            .collect()
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }

    fn start_epoch(&self, epoch: usize) {
        self.epoch.store(epoch, Ordering::Relaxed);
    }

    fn learned_structure(&self) -> Option<Result<serde_json::Value>> {
        Some(self.tree().and_then(|tree| serde_json::to_value(tree).map_err(|e| crate::Error::Invalid(e.to_string()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::backbone::BackboneKind;
    use crate::model::head::HeadSpec;
    use crate::task::TaskKind;
    use candle_core::Device;

    fn model(tasks: usize) -> Ltb {
        let spec = ModelSpec {
            backbone: BackboneKind::SmallCnn,
            width: 4,
            in_channels: 1,
            input_size: (12, 12),
            heads: (0..tasks).map(|_| HeadSpec::of(&TaskKind::Binary)).collect(),
            pairs: None,
        };
        Ltb::new(&ParamBuilder::new(0, &Device::Cpu), &spec, LtbParams::default()).unwrap()
    }

    /// The property that defines the design: along a fixed tree, tasks whose paths share a
    /// node compute the same features there, so two tasks routed through one column end to
    /// end get the same features as that column alone, and the reported tree follows the
    /// logits.
    #[test]
    fn a_fixed_tree_routes_each_task_through_its_path() {
        let m = model(2);
        // Every node of layers >= 1 reads node 0: both tasks follow column 0 at layers
        // below the last; at the last layer task 1 reads node 1 (column 1's last stage).
        for a in &m.logits {
            m.params.iter().find(|p| p.var.as_tensor().id() == a.id()).unwrap().var.set(&Tensor::new(&[[5f32, 0.0], [5.0, 0.0]], &Device::Cpu).unwrap()).unwrap();
        }
        let tree = m.tree().unwrap();
        let stages = m.columns[0].stage_channels().len();
        assert_eq!(tree.paths[0], vec![0; stages]);
        let mut expected = vec![0; stages];
        expected[stages - 1] = 1;
        assert_eq!(tree.paths[1], expected);
        let x = Tensor::randn(0f32, 1.0, (3, 1, 12, 12), &Device::Cpu).unwrap();
        m.start_epoch(100);
        let out = m.forward(&x, &[0, 1], false).unwrap();
        // Column 0 alone, then the heads.
        let mut h = x.clone();
        let mut path0 = Vec::new();
        for l in 0..stages {
            h = m.columns[0].forward_stage(l, &h, false).unwrap();
            path0.push(h.clone());
        }
        let direct0 = m.heads[0].forward(&path0, false).unwrap();
        let mut path1 = path0.clone();
        path1[stages - 1] = m.columns[1].forward_stage(stages - 1, &path0[stages - 2], false).unwrap();
        let direct1 = m.heads[1].forward(&path1, false).unwrap();
        for (a, b) in [(&out[0], &direct0), (&out[1], &direct1)] {
            let d = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(d < 1e-5, "{d}");
        }
    }

    /// During the search the parent weights are a Gumbel-softmax on the simplex, redrawn
    /// each pass from a counted, seeded stream, and the branching logits get gradient; after
    /// it (and at evaluation) they are one-hot.
    #[test]
    fn the_search_is_a_seeded_gumbel_softmax_then_the_tree_is_fixed() {
        let m = model(3);
        m.start_epoch(0);
        let a: Vec<Vec<f32>> = m.parent_weights(1, true).unwrap().to_vec2().unwrap();
        let b: Vec<Vec<f32>> = m.parent_weights(1, true).unwrap().to_vec2().unwrap();
        for row in a.iter().chain(&b) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5 && row.iter().all(|&v| v > 0.0 && v < 1.0), "{row:?}");
        }
        assert_ne!(a, b, "a new draw each pass");
        m.stream.counter().set(&Tensor::new(&[0f32], &Device::Cpu).unwrap()).unwrap();
        let again: Vec<Vec<f32>> = m.parent_weights(1, true).unwrap().to_vec2().unwrap();
        assert_eq!(a, again, "the same counter, the same draw");
        let x = Tensor::randn(0f32, 1.0, (2, 1, 12, 12), &Device::Cpu).unwrap();
        let loss = m.forward(&x, &[0, 1, 2], true).unwrap().iter().map(|o| o.sum_all().unwrap()).reduce(|p, q| (p + q).unwrap()).unwrap();
        let grads = loss.backward().unwrap();
        assert!(grads.get(&m.logits[0]).is_some(), "the branching logits learn during the search");
        let eval: Vec<Vec<f32>> = m.parent_weights(1, false).unwrap().to_vec2().unwrap();
        assert!(eval.iter().all(|row| row.iter().filter(|&&v| v == 1.0).count() == 1 && row.iter().sum::<f32>() == 1.0));
        m.start_epoch(LtbParams::default().search_epochs);
        let fixed = m.forward(&x, &[0], true).unwrap()[0].sum_all().unwrap().backward().unwrap();
        assert!(fixed.get(&m.logits[0]).is_none(), "a fixed tree no longer trains its logits");
    }
}
