//! "Auxiliary tasks": does a generative (or any) auxiliary task help the main tasks?
//!
//! Every experiment with auxiliary tasks is paired with its *baseline*: an experiment of the
//! suite on the same data whose tasks include every main task (same name and kind) and no
//! auxiliary one. Each design of the experiment is compared with the same design of the
//! baseline; an experiment with a single main task (a single-task network that shares its
//! encoder with the auxiliary task only, "STL with auxiliary") is compared with the
//! baseline's STL. On each main task's primary metric: the seed means with and without, and a
//! paired bootstrap test on the test samples (the same images: the data and split are the
//! baseline's), with the metric averaged over the seeds both have and Holm's correction over
//! the experiment's comparisons, as the tests against STL are made.

use std::sync::Arc;

use super::model::{AuxiliaryRow, Combo, ExperimentReport, PairedTest, TaskTable};
use super::samples::SampleStat;
use super::stats::{mark, paired_resamples, SeedPairs};
use super::SuiteTable;
use crate::stats::holm_adjust;

/// Every comparison of the suite, experiment by experiment (empty without auxiliary tasks).
pub fn suite(table: &SuiteTable, experiments: &[ExperimentReport]) -> Vec<AuxiliaryRow> {
    let mut out = Vec::new();
    for e in experiments.iter().filter(|e| e.tasks.iter().any(|t| t.auxiliary)) {
        let main: Vec<&TaskTable> = e.tasks.iter().filter(|t| !t.auxiliary).collect();
        let Some(base) = baseline(e, &main, experiments) else { continue };
        let auxiliary: Vec<String> = e.tasks.iter().filter(|t| t.auxiliary).map(|t| format!("{} ({})", t.name, t.kind)).collect();
        let mut rows = Vec::new();
        for (c, combo) in e.combos.iter().enumerate().filter(|(_, c)| !c.is_stl()) {
            let partner = match main.len() {
                1 => base.combos.iter().position(Combo::is_stl),
                _ => base.combos.iter().position(|b| b == combo),
            };
            let Some(b) = partner else { continue };
            for task in &main {
                rows.push(compare(table, (e, c), (base, b), task, &auxiliary));
            }
        }
        let adjusted = holm_adjust(&rows.iter().map(|r| r.test.p_value).collect::<Vec<_>>());
        for (row, p) in rows.iter_mut().zip(adjusted) {
            row.test.p_holm = p;
            row.test.mark = mark(p);
        }
        out.extend(rows);
    }
    out
}

/// The experiment `e`'s baseline: same data, every main task, no auxiliary task; the one
/// with the fewest other tasks when several qualify.
fn baseline<'a>(e: &ExperimentReport, main: &[&TaskTable], experiments: &'a [ExperimentReport]) -> Option<&'a ExperimentReport> {
    experiments
        .iter()
        .filter(|b| b.name != e.name && b.datasets == e.datasets && b.tasks.iter().all(|t| !t.auxiliary))
        .filter(|b| main.iter().all(|m| b.tasks.iter().any(|t| t.name == m.name && t.kind == m.kind)))
        .min_by_key(|b| b.tasks.len())
}

fn compare(
    table: &SuiteTable,
    (e, c): (&ExperimentReport, usize),
    (base, b): (&ExperimentReport, usize),
    task: &TaskTable,
    auxiliary: &[String],
) -> AuxiliaryRow {
    let common: Vec<u64> = e.seeds[c].iter().copied().filter(|s| base.seeds[b].contains(s)).collect();
    // Seed means from the experiments' own tables.
    let mean_of = |exp: &ExperimentReport, combo: usize| {
        exp.tasks.iter().find(|t| t.name == task.name).and_then(|t| t.primary_cell(combo)).map_or(f64::NAN, |cell| cell.summary.mean)
    };
    let mut test = PairedTest::untested(c, &task.name, &task.primary, common.clone());
    let pairs: Result<SeedPairs, String> =
        common.iter().map(|&s| Ok((Arc::new(load(table, e, c, s, &task.name)?), Arc::new(load(table, base, b, s, &task.name)?)))).collect();
    match pairs {
        _ if common.is_empty() => test.note = Some("no seed in common with the baseline".into()),
        Err(why) => test.note = Some(why),
        Ok(pairs) if pairs.iter().any(|(x, y)| !x.same_samples(&pairs[0].1) || !y.same_samples(&pairs[0].1)) => {
            test.note = Some("the runs were tested on different samples; no paired test".into());
        }
        Ok(pairs) => {
            test.samples = pairs[0].1.len();
            test.run(&pairs, paired_resamples(1));
        }
    }
    AuxiliaryRow {
        experiment: e.name.clone(),
        auxiliary: auxiliary.to_vec(),
        combo: e.combos[c].label(),
        baseline: base.name.clone(),
        baseline_combo: base.combos[b].label(),
        with: mean_of(e, c),
        without: mean_of(base, b),
        test,
    }
}

/// The test-sample statistic of one run of `exp`'s combo `c` on `task`.
fn load(table: &SuiteTable, exp: &ExperimentReport, c: usize, seed: u64, task: &str) -> Result<SampleStat, String> {
    let runs = table.runs.iter().zip(&table.run_dirs).filter(|(r, _)| r.experiment == exp.name);
    super::samples::of_run(runs, &exp.combos[c], seed, task)
}
