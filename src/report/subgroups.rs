//! The per-subgroup view of an experiment: every headline metric per subgroup beside its
//! pooled value, and for a shift experiment what each design loses out of distribution.

use std::collections::BTreeSet;

use super::model::{Combo, SubgroupMetric, SubgroupSection, SubgroupTask, TaskTable};
use super::table::{self, TaskInfo};
use crate::data::subgroup::{IN_DISTRIBUTION, SHIFTED};
use crate::results::{MetricRow, RunMeta};
use crate::stats::summarize;

/// The section of an experiment whose runs report subgroups; `rows` are its test rows per
/// subgroup, `pooled` its task tables.
pub fn section(
    metas: &[&RunMeta],
    rows: &[&MetricRow],
    combos: &[Combo],
    tasks: &[TaskInfo],
    pooled: &[TaskTable],
) -> Option<SubgroupSection> {
    if rows.is_empty() {
        return None;
    }
    let first = metas.iter().find(|m| m.subgroups.is_some() || m.shift.is_some())?;
    let (by, shift) = match (&first.subgroups, &first.shift) {
        (_, Some(s)) => (describe(&s.source, s.bins.as_deref()), Some((s.train.clone(), s.test.clone()))),
        (Some(g), None) => (describe(&g.source, g.bins.as_deref()), None),
        (None, None) => return None,
    };
    let mut labels: Vec<String> = rows.iter().map(|r| r.subgroup.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    if shift.is_some() {
        // In-distribution first: the change reads left to right.
        labels.sort_by_key(|l| (l != IN_DISTRIBUTION, l.clone()));
    } else if let Some(spec) = &first.subgroups {
        // Bins in ascending order, not in the alphabetical order of their names.
        if let Some(edges) = spec.bins.as_deref() {
            let order: Vec<String> = edges.windows(2).filter_map(|w| spec.bin_of(edges, (w[0] + w[1]) / 2.0)).collect();
            labels.sort_by_key(|l| (order.iter().position(|o| o == l).unwrap_or(usize::MAX), l.clone()));
        }
    }
    let groups: Vec<(String, u64)> =
        labels.iter().map(|l| (l.clone(), rows.iter().filter(|r| &r.subgroup == l).map(|r| r.n).max().unwrap_or(0))).collect();
    let per_group: Vec<Vec<TaskTable>> = labels
        .iter()
        .map(|l| {
            let of: Vec<&MetricRow> = rows.iter().filter(|r| &r.subgroup == l).copied().collect();
            table::task_tables(&of, combos, tasks)
        })
        .collect();
    let tasks = pooled
        .iter()
        .enumerate()
        .map(|(t, table)| {
            let mut wanted: Vec<String> = tasks[t]
                .kind_value()
                .map(|k| crate::metrics::delta_m_metrics(&k).iter().map(|m| m.to_string()).collect())
                .unwrap_or_default();
            if !wanted.contains(&table.primary) && !table.primary.is_empty() {
                wanted.push(table.primary.clone());
            }
            let metrics = wanted
                .iter()
                .filter_map(|metric| {
                    let column = table.columns.iter().find(|c| &c.metric == metric)?;
                    let cells: Vec<Vec<_>> = per_group
                        .iter()
                        .map(|g| {
                            g[t].columns.iter().find(|c| &c.metric == metric).map_or_else(|| vec![None; combos.len()], |c| c.cells.clone())
                        })
                        .collect();
                    let change = shift.as_ref().map(|_| change(rows, combos, &table.name, metric));
                    Some(SubgroupMetric {
                        metric: metric.clone(),
                        higher_is_better: column.higher_is_better,
                        decimals: column.decimals,
                        pooled: column.cells.clone(),
                        per_group: cells,
                        change,
                    })
                })
                .collect();
            SubgroupTask { task: table.name.clone(), primary: table.primary.clone(), metrics }
        })
        .collect();
    Some(SubgroupSection { by, shift, groups, tasks })
}

fn describe(source: &str, bins: Option<&[f64]>) -> String {
    match bins {
        Some(b) => format!("{source} in bins with edges {}", b.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")),
        None => source.to_owned(),
    }
}

/// Per combo: the seeds' shifted minus in-distribution values of one task's metric.
fn change(rows: &[&MetricRow], combos: &[Combo], task: &str, metric: &str) -> Vec<Option<crate::stats::Summary>> {
    combos
        .iter()
        .map(|c| {
            let of = |group: &str| -> Vec<(u64, f64)> {
                rows.iter()
                    .filter(|r| {
                        r.task == task && r.metric == metric && r.subgroup == group && r.design == c.design && r.weighting == c.weighting
                    })
                    .map(|r| (r.seed, r.value))
                    .collect()
            };
            let (inside, outside) = (of(IN_DISTRIBUTION), of(SHIFTED));
            let diffs: Vec<f64> =
                outside.iter().filter_map(|(seed, v)| inside.iter().find(|(s, _)| s == seed).map(|(_, w)| v - w)).collect();
            (!diffs.is_empty()).then(|| summarize(&diffs))
        })
        .collect()
}
