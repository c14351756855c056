//! "Labelled fraction": learning curves of experiments that differ only in the fraction of
//! training patients labelled for a task (`labelled_fraction`), as the partial-label suite
//! asks whether multi-task designs that also see every image through another task need
//! fewer masks than a single-task network trained on the labelled subset.
//!
//! Experiments form one curve when they share the data and the task list (names and kinds)
//! and differ in the labelled fraction; the fraction of an experiment is that of its partly
//! labelled task (1 when every task is fully labelled). A cell is a design's seed mean of a
//! main task's primary metric at one fraction with the Student-t 95 % interval over seeds.

use super::model::{ExperimentReport, FractionCell, FractionCurve, FractionRow};
use crate::stats::summary_ci95;

/// What experiments of one curve share: the data and the tasks' names and kinds.
type CurveKey = (String, Vec<(String, String)>);

/// The suite's curves (none without experiments that differ in a labelled fraction).
pub fn curves(experiments: &[ExperimentReport]) -> Vec<FractionCurve> {
    let key =
        |e: &ExperimentReport| -> CurveKey { (e.datasets.clone(), e.tasks.iter().map(|t| (t.name.clone(), t.kind.clone())).collect()) };
    let fraction = |e: &ExperimentReport| -> (Option<String>, f64) {
        e.tasks.iter().find_map(|t| t.labelled_fraction.map(|f| (Some(t.name.clone()), f))).unwrap_or((None, 1.0))
    };
    let mut groups: Vec<(CurveKey, Vec<&ExperimentReport>)> = Vec::new();
    for e in experiments {
        let k = key(e);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, members)) => members.push(e),
            None => groups.push((k, vec![e])),
        }
    }
    let mut out = Vec::new();
    for ((dataset, _), mut members) in groups {
        let varied: Vec<String> = members.iter().filter_map(|e| fraction(e).0).collect();
        let Some(task) = varied.first().cloned() else { continue };
        if varied.iter().any(|t| *t != task) {
            continue; // fractions of different tasks: not one curve
        }
        members.sort_by(|a, b| fraction(b).1.total_cmp(&fraction(a).1));
        let fractions: Vec<f64> = members.iter().map(|e| fraction(e).1).collect();
        if fractions.windows(2).any(|w| w[0] == w[1]) || fractions.len() < 2 {
            continue;
        }
        let mut labels: Vec<String> = Vec::new();
        for e in &members {
            for c in &e.combos {
                if !labels.contains(&c.label()) {
                    labels.push(c.label());
                }
            }
        }
        let mut rows = Vec::new();
        for t in members[0].tasks.iter().filter(|t| !t.auxiliary) {
            for label in &labels {
                let cells = members
                    .iter()
                    .map(|e| {
                        let c = e.combos.iter().position(|c| c.label() == *label)?;
                        let s = e.tasks.iter().find(|x| x.name == t.name)?.primary_cell(c)?.summary;
                        Some(FractionCell { mean: s.mean, ci: summary_ci95(&s), seeds: s.n })
                    })
                    .collect();
                rows.push(FractionRow { combo: label.clone(), task: t.name.clone(), metric: t.primary.clone(), cells });
            }
        }
        out.push(FractionCurve { dataset, task, fractions, experiments: members.iter().map(|e| e.name.clone()).collect(), rows });
    }
    out
}
