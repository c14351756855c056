//! Cross-validation pooling: experiments that are the folds of one protocol (the suite gives
//! them the same `pool`) are summarised together, per design, with the spread *between
//! folds* as the uncertainty. On a few patients the test folds differ more than the seeds
//! do, so a per-fold table alone overstates what one fold shows.
//!
//! Every pool of a dataset shares one table, so protocols that differ in how they read the
//! data (single-time-point vs Siamese) are compared row by row.

use std::collections::BTreeMap;

use super::model::{ExperimentReport, PooledCell, PooledRow, PooledTable};
use crate::config::Suite;
use crate::metrics::defs;
use crate::stats::{mean_ci95, summarize};

/// The pooled tables of the suite's pools (none without a suite file or pools).
pub fn pooled_tables(experiments: &[ExperimentReport], suite: Option<&Suite>) -> Vec<PooledTable> {
    let Some(suite) = suite else { return vec![] };
    // dataset -> pool -> its experiments, in suite order.
    let mut by_dataset: BTreeMap<&str, Vec<(&str, Vec<&ExperimentReport>)>> = BTreeMap::new();
    for e in &suite.experiments {
        let (Some(pool), Some(report)) = (&e.pool, experiments.iter().find(|r| r.name == e.name)) else { continue };
        let pools = by_dataset.entry(e.dataset.as_str()).or_default();
        match pools.iter_mut().find(|(p, _)| p == pool) {
            Some((_, members)) => members.push(report),
            None => pools.push((pool.as_str(), vec![report])),
        }
    }
    by_dataset.into_iter().filter_map(|(dataset, pools)| table(dataset, &pools)).collect()
}

fn table(dataset: &str, pools: &[(&str, Vec<&ExperimentReport>)]) -> Option<PooledTable> {
    let first = pools.first()?.1.first()?;
    // Columns: every task's headline metrics, from the first experiment's tables.
    let columns: Vec<(String, String, bool)> = first
        .tasks
        .iter()
        .flat_map(|t| {
            let headline = defs::kind(&t.kind).map_or(&[][..], |k| k.headline);
            headline.iter().filter_map(|m| {
                let column = t.columns.iter().find(|c| c.metric == *m)?;
                Some((t.name.clone(), m.to_string(), column.higher_is_better))
            })
        })
        .collect();
    let mut rows = Vec::new();
    for (pool, members) in pools {
        let mut labels: Vec<String> = Vec::new();
        for e in members {
            for c in &e.combos {
                if !labels.contains(&c.label()) {
                    labels.push(c.label());
                }
            }
        }
        for label in labels {
            let mut cells = Vec::new();
            for (task, metric, _) in &columns {
                // The per-fold value: the fold's mean over seeds.
                let per_fold: Vec<f64> = members
                    .iter()
                    .filter_map(|e| {
                        let combo = e.combos.iter().position(|c| c.label() == label)?;
                        let column = e.tasks.iter().find(|t| &t.name == task)?.columns.iter().find(|c| &c.metric == metric)?;
                        column.cells.get(combo)?.as_ref().map(|cell| cell.summary.mean)
                    })
                    .filter(|v| v.is_finite())
                    .collect();
                cells.push((!per_fold.is_empty()).then(|| PooledCell {
                    mean: summarize(&per_fold).mean,
                    ci: mean_ci95(&per_fold),
                    per_fold,
                }));
            }
            let folds = members.iter().filter(|e| e.combos.iter().any(|c| c.label() == label)).count();
            rows.push(PooledRow { pool: pool.to_string(), combo: label, folds, cells });
        }
    }
    Some(PooledTable { dataset: dataset.to_owned(), columns, rows })
}
