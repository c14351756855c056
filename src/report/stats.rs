//! The report's statistics against STL and across metrics: Δm per combo, paired bootstrap
//! tests on each task's primary metric with Holm's correction, and rank agreement.
//!
//! Conventions (printed in every report's method section):
//! - **Δm**: the STL baseline of each (task, metric) is the mean over the STL seeds; each
//!   seed of a multi-task combo gets its own Δm against that baseline, and the table shows
//!   their mean (which equals Δm of the seed-mean metrics), std and Student-t 95% CI.
//! - **Paired test**: for the seeds both a combo and STL have, on each of B
//!   ([`paired_resamples`]) resamples of the test-sample indices, the primary metric is
//!   computed for every run on the same indices and averaged over those seeds, per model;
//!   the difference combo − STL gives the percentile CI and the two-sided p-value of
//!   [`paired_bootstrap`]. Holm's step-down correction runs over the combos compared on one
//!   task of one experiment; marks: `*` adjusted p < 0.05, `**` adjusted p < 0.01.
//! - **Rank agreement**: combos are ranked by their seed-mean under each (task, metric)
//!   (counts excluded) and by Δm; Kendall's τ-b compares two rankings over the combos both
//!   rank.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::model::{BestChange, Combo, DeltaMRow, DeltaMSection, PairedTest, RankAgreement, TaskTable};
use super::samples::SampleStat;
use super::table::TaskInfo;
use crate::metrics::{delta_m_metrics, higher_is_better};
use crate::results::MetricRow;
use crate::stats::{delta_m, delta_m_libmtl, delta_m_nashmtl, holm_adjust, kendall_tau_b, mean_ci95, paired_bootstrap, ranks, summarize};

/// Seed of the paired bootstrap's resampling stream (the same resamples for every combo).
pub const PAIRED_BOOTSTRAP_SEED: u64 = 20_240_601;

/// The significance mark of an adjusted p-value.
pub fn mark(p_adjusted: f64) -> &'static str {
    if p_adjusted < 0.01 {
        "**"
    } else if p_adjusted < 0.05 {
        "*"
    } else {
        ""
    }
}

/// Δm of every non-STL combo against the STL rows of the experiment.
pub fn delta_m_section(rows: &[&MetricRow], combos: &[Combo], stl: Option<usize>, tasks: &[TaskInfo]) -> DeltaMSection {
    let metrics: Vec<(String, Vec<String>)> = tasks
        .iter()
        .filter(|t| !t.auxiliary)
        .map(|t| {
            let list = t.kind_value().map(|k| delta_m_metrics(&k).iter().map(|m| m.to_string()).collect()).unwrap_or_default();
            (t.name.clone(), list)
        })
        .collect();
    let excluded = tasks.iter().filter(|t| t.auxiliary).map(|t| t.name.clone()).collect();
    let mut section = DeltaMSection { metrics: metrics.clone(), rows: Vec::new(), note: None, excluded };
    if metrics.is_empty() {
        section.note = Some("Every task of this experiment is auxiliary, so Δm has nothing to average.".into());
        return section;
    }
    let Some(stl) = stl else {
        section.note = Some("This experiment has no STL (`stl` design) runs, so Δm cannot be computed.".into());
        return section;
    };
    if metrics.iter().any(|(_, m)| m.is_empty()) {
        section.note = Some("A task has an unknown kind; Δm is not computed.".into());
        return section;
    }
    let value_of = |combo: &Combo, seed: Option<u64>, task: &str, metric: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r.design == combo.design && r.weighting == combo.weighting && r.task == task && r.metric == metric)
            .filter(|r| seed.is_none_or(|s| r.seed == s))
            .map(|r| r.value)
            .collect()
    };
    let hib: Vec<Vec<bool>> = metrics.iter().map(|(_, ms)| ms.iter().map(|m| higher_is_better(m)).collect()).collect();
    let base: Vec<Vec<f64>> =
        metrics.iter().map(|(t, ms)| ms.iter().map(|m| summarize(&value_of(&combos[stl], None, t, m)).mean).collect()).collect();
    if base.iter().flatten().any(|v| !v.is_finite() || *v == 0.0) {
        section.note = Some(
            "An STL baseline metric is missing, undefined or zero, so the relative change (and Δm) is undefined \
             for every combo; see the task tables."
                .into(),
        );
    }
    for (c, combo) in combos.iter().enumerate().filter(|(c, _)| *c != stl) {
        let mut seeds: Vec<u64> =
            rows.iter().filter(|r| r.design == combo.design && r.weighting == combo.weighting).map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let per_seed: Vec<(u64, f64)> = seeds
            .iter()
            .map(|&s| {
                let values: Vec<Vec<f64>> = metrics
                    .iter()
                    .map(|(t, ms)| ms.iter().map(|m| value_of(combo, Some(s), t, m).first().copied().unwrap_or(f64::NAN)).collect())
                    .collect();
                (s, delta_m(&values, &base, &hib))
            })
            .collect();
        let means: Vec<Vec<f64>> =
            metrics.iter().map(|(t, ms)| ms.iter().map(|m| summarize(&value_of(combo, None, t, m)).mean).collect()).collect();
        let flat = |v: &[Vec<f64>]| v.iter().flatten().copied().collect::<Vec<f64>>();
        let flat_hib: Vec<bool> = hib.iter().flatten().copied().collect();
        let values: Vec<f64> = per_seed.iter().map(|(_, d)| *d).collect();
        let finite = values.iter().all(|v| v.is_finite());
        section.rows.push(DeltaMRow {
            combo: c,
            summary: if finite { summarize(&values) } else { crate::stats::Summary { mean: f64::NAN, std: f64::NAN, n: 0 } },
            ci: if finite { mean_ci95(&values) } else { (f64::NAN, f64::NAN) },
            per_seed,
            libmtl: 100.0 * delta_m_libmtl(&means, &base, &hib),
            nashmtl: delta_m_nashmtl(&flat(&means), &flat(&base), &flat_hib),
        });
    }
    section
}

impl PairedTest {
    /// A test of combo `combo` on `task`'s `metric` over `seeds`, not made yet.
    pub fn untested(combo: usize, task: &str, metric: &str, seeds: Vec<u64>) -> Self {
        PairedTest {
            combo,
            task: task.to_owned(),
            metric: metric.to_owned(),
            seeds,
            samples: 0,
            resamples: 0,
            difference: f64::NAN,
            ci: (f64::NAN, f64::NAN),
            p_value: f64::NAN,
            p_holm: f64::NAN,
            mark: "",
            note: None,
        }
    }

    /// The paired bootstrap of the metric averaged over the seeds' runs, first of each pair
    /// minus second, on `self.samples` test samples.
    pub fn run<T: AsRef<SampleStat>>(&mut self, pairs: &[(T, T)], resamples: usize) {
        let mean_over = |first: bool, idx: &[usize]| -> f64 {
            let values: Vec<f64> = pairs.iter().map(|(a, b)| if first { a.as_ref().on(idx) } else { b.as_ref().on(idx) }).collect();
            summarize(&values).mean
        };
        self.resamples = resamples;
        let result =
            paired_bootstrap(|idx| mean_over(true, idx), |idx| mean_over(false, idx), self.samples, resamples, PAIRED_BOOTSTRAP_SEED);
        self.difference = result.difference;
        self.ci = result.ci;
        self.p_value = result.p_value;
    }
}

/// Per common seed, the test-sample statistics of the two runs a paired test compares.
pub(super) type SeedPairs = Vec<(Arc<SampleStat>, Arc<SampleStat>)>;

/// Resamples of the paired bootstrap for a family of `m` comparisons (Holm): the smallest
/// p it can show is 2 / (B + 1), and after Holm 2m / (B + 1), so B = max(2000, 400 m) keeps
/// an adjusted p < 0.01 reachable (its floor is then at most 0.005) without paying for
/// more resamples than the family needs.
pub fn paired_resamples(m: usize) -> usize {
    (400 * m).max(2000)
}

/// Paired bootstrap tests of every non-STL combo against STL on each task's primary
/// metric. `load(combo, seed, task)` gives that run's test predictions (or why not).
/// Predictions are loaded first; the bootstraps then run in parallel (rayon).
pub fn paired_tests(
    combos: &[Combo],
    seeds: &[Vec<u64>],
    stl: Option<usize>,
    tables: &[TaskTable],
    mut load: impl FnMut(usize, u64, &str) -> Result<Arc<SampleStat>, String>,
) -> Vec<PairedTest> {
    use rayon::prelude::*;
    let Some(stl) = stl else { return Vec::new() };
    let mut jobs: Vec<(PairedTest, Option<SeedPairs>)> = Vec::new();
    for table in tables {
        for (c, _) in combos.iter().enumerate().filter(|(c, _)| *c != stl) {
            let common: Vec<u64> = seeds[c].iter().copied().filter(|s| seeds[stl].contains(s)).collect();
            let mut test = PairedTest::untested(c, &table.name, &table.primary, common.clone());
            if common.is_empty() {
                test.note = Some("no seed in common with STL".into());
                jobs.push((test, None));
                continue;
            }
            let loaded: Result<SeedPairs, String> =
                common.iter().map(|&s| Ok((load(c, s, &table.name)?, load(stl, s, &table.name)?))).collect();
            match loaded {
                Err(e) => {
                    test.note = Some(e);
                    jobs.push((test, None));
                }
                Ok(pairs) => {
                    let reference = &pairs[0].1;
                    if pairs.iter().any(|(a, b)| !a.same_samples(reference) || !b.same_samples(reference)) {
                        test.note = Some("the runs were tested on different samples; no paired test".into());
                        jobs.push((test, None));
                    } else {
                        test.samples = reference.len();
                        jobs.push((test, Some(pairs)));
                    }
                }
            }
        }
    }
    let family = |task: &str, jobs: &[(PairedTest, Option<SeedPairs>)]| jobs.iter().filter(|(t, p)| t.task == task && p.is_some()).count();
    let sizes: Vec<usize> = jobs.iter().map(|(t, _)| family(&t.task, &jobs)).collect();
    let mut out: Vec<PairedTest> = jobs
        .into_par_iter()
        .zip(sizes)
        .map(|((mut test, pairs), m)| {
            let Some(pairs) = pairs else { return test };
            test.run(&pairs, paired_resamples(m));
            test
        })
        .collect();
    for table in tables {
        let members: Vec<usize> = (0..out.len()).filter(|&i| out[i].task == table.name).collect();
        let adjusted = holm_adjust(&members.iter().map(|&i| out[i].p_value).collect::<Vec<_>>());
        for (&i, p) in members.iter().zip(adjusted) {
            out[i].p_holm = p;
            out[i].mark = mark(p);
        }
    }
    out
}

/// `rank_rows` (rank 1 = best, NaN = not ranked) under `labels`, with their pairwise Kendall
/// τ-b over the combos both rank and the best combos of each (no best-change groups).
pub fn agreement_of(labels: Vec<String>, rank_rows: Vec<Vec<f64>>) -> RankAgreement {
    let tau = rank_rows
        .iter()
        .map(|a| {
            rank_rows
                .iter()
                .map(|b| {
                    let both: Vec<usize> = (0..a.len()).filter(|&i| a[i].is_finite() && b[i].is_finite()).collect();
                    // Ranks are negated so that τ is computed on "goodness" in both; τ-b is
                    // invariant to that, it only keeps the convention readable.
                    kendall_tau_b(&both.iter().map(|&i| -a[i]).collect::<Vec<_>>(), &both.iter().map(|&i| -b[i]).collect::<Vec<_>>())
                })
                .collect()
        })
        .collect();
    let best = rank_rows
        .iter()
        .map(|r| {
            let top = r.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
            (0..r.len()).filter(|&i| r[i] == top).collect()
        })
        .collect();
    RankAgreement { labels, ranks: rank_rows, tau, best, changes: Vec::new() }
}

/// Rankings of the combos under every (task, metric) and Δm, their pairwise Kendall τ-b,
/// and where the best combo depends on the metric.
pub fn rank_agreement(tables: &[TaskTable], combos: &[Combo], delta: &DeltaMSection, stl: Option<usize>) -> RankAgreement {
    let mut labels = Vec::new();
    let mut values: Vec<Vec<f64>> = Vec::new();
    let mut hib = Vec::new();
    let mut scopes: Vec<(String, bool)> = Vec::new(); // (task, is primary)
    for table in tables {
        for col in table.columns.iter().filter(|c| !c.count) {
            labels.push(format!("{}: {}", table.name, col.metric));
            values.push(col.cells.iter().map(|c| c.as_ref().map_or(f64::NAN, |c| c.summary.mean)).collect());
            hib.push(col.higher_is_better);
            scopes.push((table.name.clone(), col.metric == table.primary));
        }
    }
    if let (Some(stl), false) = (stl, delta.rows.is_empty()) {
        let mut v = vec![f64::NAN; combos.len()];
        v[stl] = 0.0;
        for row in &delta.rows {
            v[row.combo] = row.summary.mean;
        }
        if v.iter().filter(|x| x.is_finite()).count() > 1 {
            labels.push("Δm".into());
            values.push(v);
            hib.push(true);
            scopes.push(("Δm".into(), true));
        }
    }
    let rank_rows: Vec<Vec<f64>> = values.iter().zip(&hib).map(|(v, &h)| ranks(v, h)).collect();
    let RankAgreement { tau, best, .. } = agreement_of(Vec::new(), rank_rows.clone());
    let mut changes = Vec::new();
    let mut group = |scope: String, members: Vec<usize>| {
        let mut winners: BTreeMap<Vec<usize>, Vec<String>> = BTreeMap::new();
        for &m in &members {
            if !best[m].is_empty() {
                winners.entry(best[m].clone()).or_default().push(labels[m].clone());
            }
        }
        if winners.len() > 1 {
            changes.push(BestChange { scope, winners: winners.into_iter().collect() });
        }
    };
    for table in tables {
        let members: Vec<usize> = (0..labels.len()).filter(|&i| scopes[i].0 == table.name).collect();
        group(format!("task {}", table.name), members);
    }
    if tables.len() > 1 || scopes.iter().any(|s| s.0 == "Δm") {
        // Auxiliary tasks help the others; their own metrics do not decide the best design.
        let auxiliary = |task: &str| tables.iter().any(|t| t.auxiliary && t.name == task);
        let members: Vec<usize> = (0..labels.len()).filter(|&i| scopes[i].1 && !auxiliary(&scopes[i].0)).collect();
        group("primary metrics of all main tasks and Δm".into(), members);
    }
    RankAgreement { labels, ranks: rank_rows, tau, best, changes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(design: &str, seed: u64, task: &str, kind: &str, metric: &str, value: f64) -> MetricRow {
        MetricRow {
            run_id: format!("e__{design}__seed{seed}"),
            suite: "s".into(),
            experiment: "e".into(),
            datasets: "d".into(),
            design: design.into(),
            weighting: if design == "stl" { "none" } else { "ew" }.into(),
            backbone: "unet".into(),
            seed,
            task: task.into(),
            task_kind: kind.into(),
            split: "test".into(),
            metric: metric.into(),
            value,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            subgroup: String::new(),
            n: 10,
        }
    }

    /// An auxiliary task's metrics do not move Δm: HPS is 10 % better than STL on the main
    /// task and far worse on the auxiliary one, and Δm is the main task's +10 %.
    #[test]
    fn auxiliary_tasks_are_left_out_of_delta_m() {
        let mut rows = Vec::new();
        for (design, auc, mse) in [("stl", 0.5, 0.01), ("hps", 0.55, 0.09)] {
            rows.push(row(design, 0, "main", "binary", "acc", auc));
            rows.push(row(design, 0, "main", "binary", "auc", auc));
            rows.push(row(design, 0, "image", "reconstruction", "psnr", mse));
            rows.push(row(design, 0, "image", "reconstruction", "ssim", mse));
        }
        let refs: Vec<&MetricRow> = rows.iter().collect();
        let combos = vec![Combo { design: "stl".into(), weighting: "none".into() }, Combo { design: "hps".into(), weighting: "ew".into() }];
        let info = |auxiliary| {
            vec![
                TaskInfo {
                    name: "main".into(),
                    kind: "binary".into(),
                    classes: None,
                    auxiliary: false,
                    labelled_fraction: None,
                    labelled: None,
                },
                TaskInfo {
                    name: "image".into(),
                    kind: "reconstruction".into(),
                    classes: Some(1),
                    auxiliary,
                    labelled_fraction: None,
                    labelled: None,
                },
            ]
        };
        let main_metrics = delta_m_metrics(&crate::task::TaskKind::Binary);
        assert_eq!(main_metrics, ["acc", "auc"], "the fixture gives the binary task's Δm metrics");
        let with = delta_m_section(&refs, &combos, Some(0), &info(true));
        assert_eq!(with.excluded, ["image"]);
        assert_eq!(with.metrics.len(), 1);
        assert!((with.rows[0].summary.mean - 10.0).abs() < 1e-9, "{}", with.rows[0].summary.mean);
        let without = delta_m_section(&refs, &combos, Some(0), &info(false));
        assert!(without.excluded.is_empty());
        assert!(without.rows[0].summary.mean > 100.0, "counted, the reconstruction changes Δm: {}", without.rows[0].summary.mean);
    }
}
