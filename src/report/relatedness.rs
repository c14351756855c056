//! Task relatedness in the report: per experiment the gradient measures each combo recorded
//! in `history.csv`, CKA between its STL networks (`cka.json`), the weights each method gave
//! over time and every task's MTL gain; across the suite whether relatedness predicts gain
//! (Spearman's ρ with a bootstrap CI) and, on the phantom dial, Δm and cosine against ρ.

use std::path::PathBuf;

use super::model::{
    CkaCell, Combo, DeltaMSection, DialPoint, ExperimentReport, PairRelatedness, RelatednessSection, SuiteRelatedness, TaskGain, TaskTable,
    WeightSeries,
};
use crate::results::{read_cka, HistoryRow, MetricRow, RunFiles, RunMeta};
use crate::stats::{bootstrap_ci, mean_ci95, quantile, spearman_rho};

/// Bootstrap resamples of Spearman's ρ.
pub const RHO_RESAMPLES: usize = 2000;

/// Inputs of one experiment's section, as the report builder has them.
pub struct ExperimentInputs<'a> {
    /// Combos in table order.
    pub combos: &'a [Combo],
    /// Task tables (primary metric and its direction).
    pub tables: &'a [TaskTable],
    /// Pooled test rows of the experiment.
    pub rows: &'a [&'a MetricRow],
    /// Every complete run's history.
    pub histories: &'a [(&'a RunMeta, Vec<HistoryRow>)],
    /// Complete runs with their folders (for `cka.json`).
    pub runs: &'a [(&'a RunMeta, &'a PathBuf)],
    /// Index of the STL combo.
    pub stl: Option<usize>,
    /// The phantom dial's ρ, when the experiment's data have one.
    pub dial: Option<f64>,
}

fn finite_mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values.into_iter().filter(|v| v.is_finite()).fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

fn of_combo(meta: &RunMeta, combo: &Combo) -> bool {
    meta.design == combo.design && meta.weighting == combo.weighting
}

/// The relatedness section of one experiment.
pub fn section(input: &ExperimentInputs) -> RelatednessSection {
    let names: Vec<&str> = input.tables.iter().map(|t| t.name.as_str()).collect();
    let mut pairs = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            pairs.push((a.to_string(), b.to_string()));
        }
    }
    let mut gradient = Vec::new();
    let mut weights = Vec::new();
    for (c, combo) in input.combos.iter().enumerate() {
        let histories: Vec<&Vec<HistoryRow>> = input.histories.iter().filter(|(m, _)| of_combo(m, combo)).map(|(_, h)| h).collect();
        for (p, (a, b)) in pairs.iter().enumerate() {
            // The pair's numbers sit on a's rows (partner b); Z(a→b) on b's rows (partner a).
            let (mut cos_sum, mut conflict_sum, mut steps) = (0.0, 0.0, 0.0);
            let (mut ratios, mut z_ab, mut z_ba) = (Vec::new(), Vec::new(), Vec::new());
            for h in &histories {
                for row in h.iter() {
                    let Some(other) = (if &row.task == a {
                        Some(b)
                    } else if &row.task == b {
                        Some(a)
                    } else {
                        None
                    }) else {
                        continue;
                    };
                    let Some(r) = row.relatedness.iter().find(|r| &r.partner == other) else { continue };
                    if &row.task == a {
                        if r.steps > 0.0 && r.cos[0].is_finite() {
                            cos_sum += r.cos[0] * r.steps;
                            conflict_sum += r.conflict * r.steps;
                            steps += r.steps;
                        }
                        ratios.push(r.norm_ratio);
                        z_ba.push(r.affinity);
                    } else {
                        z_ab.push(r.affinity);
                    }
                }
            }
            if steps > 0.0 {
                ratios.retain(|v| v.is_finite());
                gradient.push(PairRelatedness {
                    combo: c,
                    pair: p,
                    cos: cos_sum / steps,
                    conflict: conflict_sum / steps,
                    norm_ratio: if ratios.is_empty() { f64::NAN } else { quantile(&ratios, 0.5) },
                    affinity_ab: finite_mean(z_ab),
                    affinity_ba: finite_mean(z_ba),
                    steps,
                });
            }
        }
        if combo.is_stl() {
            continue;
        }
        for task in &names {
            let mut epochs: Vec<usize> = histories.iter().flat_map(|h| h.iter()).filter(|r| &r.task == task).map(|r| r.epoch).collect();
            epochs.sort_unstable();
            epochs.dedup();
            let mean: Vec<f64> = epochs
                .iter()
                .map(|&e| {
                    finite_mean(histories.iter().flat_map(|h| h.iter()).filter(|r| &r.task == task && r.epoch == e).map(|r| r.weight.0))
                })
                .collect();
            if mean.iter().any(|v| v.is_finite()) {
                weights.push(WeightSeries { combo: c, task: task.to_string(), epochs, mean });
            }
        }
    }
    RelatednessSection { gains: gains(input, &pairs, &gradient), cka: cka(input, &pairs), pairs, gradient, weights, dial: input.dial }
}

/// CKA of the STL runs' task networks, per stage and pair, mean over seeds.
fn cka(input: &ExperimentInputs, pairs: &[(String, String)]) -> Vec<CkaCell> {
    let Some(stl) = input.stl else { return Vec::new() };
    let records: Vec<_> = input
        .runs
        .iter()
        .filter(|(m, _)| of_combo(m, &input.combos[stl]))
        .filter_map(|(_, dir)| read_cka(&RunFiles::new(dir.to_path_buf())).ok().flatten())
        .collect();
    let mut out = Vec::new();
    for (p, (a, b)) in pairs.iter().enumerate() {
        let per_run: Vec<&Vec<f64>> = records
            .iter()
            .filter_map(|r| r.pairs.iter().find(|x| (&x.a, &x.b) == (a, b) || (&x.a, &x.b) == (b, a)))
            .map(|x| &x.per_stage)
            .collect();
        let stages = per_run.iter().map(|v| v.len()).max().unwrap_or(0);
        for s in 0..stages {
            let values: Vec<f64> = per_run.iter().filter_map(|v| v.get(s).copied()).filter(|v| v.is_finite()).collect();
            if !values.is_empty() {
                out.push(CkaCell { stage: s + 1, pair: p, cka: finite_mean(values.iter().copied()), seeds: values.len() });
            }
        }
    }
    out.sort_by_key(|c| (c.pair, c.stage));
    out
}

/// Each MTL combo's gain on each task's primary metric, with the task's mean cosine and
/// affinity from its partners.
fn gains(input: &ExperimentInputs, pairs: &[(String, String)], gradient: &[PairRelatedness]) -> Vec<TaskGain> {
    let Some(stl) = input.stl else { return Vec::new() };
    let per_seed = |combo: &Combo, task: &str, metric: &str| -> Vec<f64> {
        input
            .rows
            .iter()
            .filter(|r| r.design == combo.design && r.weighting == combo.weighting && r.task == task && r.metric == metric)
            .map(|r| r.value)
            .filter(|v| v.is_finite())
            .collect()
    };
    let mut out = Vec::new();
    for table in input.tables {
        let Some(column) = table.primary_column() else { continue };
        let base = finite_mean(per_seed(&input.combos[stl], &table.name, &table.primary));
        if !base.is_finite() || base == 0.0 {
            continue;
        }
        let sign = if column.higher_is_better { 1.0 } else { -1.0 };
        for (c, combo) in input.combos.iter().enumerate().filter(|(c, _)| *c != stl) {
            let changes: Vec<f64> =
                per_seed(combo, &table.name, &table.primary).iter().map(|v| sign * 100.0 * (v - base) / base.abs()).collect();
            if changes.is_empty() {
                continue;
            }
            let touching = |g: &&PairRelatedness| g.combo == c && (pairs[g.pair].0 == table.name || pairs[g.pair].1 == table.name);
            let onto = |g: &PairRelatedness| if pairs[g.pair].1 == table.name { g.affinity_ab } else { g.affinity_ba };
            out.push(TaskGain {
                combo: c,
                task: table.name.clone(),
                metric: table.primary.clone(),
                gain: finite_mean(changes.iter().copied()),
                ci: if changes.len() > 1 { mean_ci95(&changes) } else { (f64::NAN, f64::NAN) },
                cos: finite_mean(gradient.iter().filter(touching).map(|g| g.cos)),
                affinity: finite_mean(gradient.iter().filter(touching).map(onto)),
            });
        }
    }
    out
}

/// Relatedness against gain over all experiments, and the dial where experiments have one.
pub fn suite(experiments: &[ExperimentReport]) -> SuiteRelatedness {
    let points: Vec<(String, String, TaskGain)> = experiments
        .iter()
        .flat_map(|e| {
            e.relatedness
                .gains
                .iter()
                .filter(|g| g.cos.is_finite() && g.gain.is_finite())
                .map(|g| (e.name.clone(), e.combos[g.combo].label(), g.clone()))
        })
        .collect();
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().map(|(_, _, g)| (g.cos, g.gain)).unzip();
    let (rho, rho_ci) = if points.len() >= 3 {
        let rho = spearman_rho(&xs, &ys);
        let ci = bootstrap_ci(
            |idx| {
                let a: Vec<f64> = idx.iter().map(|&i| xs[i]).collect();
                let b: Vec<f64> = idx.iter().map(|&i| ys[i]).collect();
                spearman_rho(&a, &b)
            },
            points.len(),
            RHO_RESAMPLES,
            0,
            0.95,
        );
        (rho, ci)
    } else {
        (f64::NAN, (f64::NAN, f64::NAN))
    };
    SuiteRelatedness { points, rho, rho_ci, resamples: RHO_RESAMPLES, dial: dial(experiments) }
}

fn dial(experiments: &[ExperimentReport]) -> Vec<DialPoint> {
    let mut out = Vec::new();
    for e in experiments {
        let Some(rho) = e.relatedness.dial else { continue };
        out.extend(dial_points(e, rho, &e.delta_m));
    }
    let mut labels: Vec<String> = Vec::new();
    for p in &out {
        if !labels.contains(&p.combo) {
            labels.push(p.combo.clone());
        }
    }
    for p in &mut out {
        p.color = labels.iter().position(|l| *l == p.combo).unwrap_or(0) + 1;
    }
    out.sort_by(|a, b| {
        (labels.iter().position(|l| *l == a.combo), a.rho)
            .partial_cmp(&(labels.iter().position(|l| *l == b.combo), b.rho))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}

fn dial_points(e: &ExperimentReport, rho: f64, delta_m: &DeltaMSection) -> Vec<DialPoint> {
    delta_m
        .rows
        .iter()
        .filter(|r| r.summary.mean.is_finite())
        .map(|r| DialPoint {
            experiment: e.name.clone(),
            rho,
            combo: e.combos[r.combo].label(),
            color: 0,
            delta_m: r.summary.mean,
            delta_m_ci: r.ci,
            cos: finite_mean(e.relatedness.gradient.iter().filter(|g| g.combo == r.combo).map(|g| g.cos)),
        })
        .collect()
}
