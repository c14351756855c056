//! Building the summary model from a suite's results: tables, statistics against STL, rank
//! agreement, curves and segmentation galleries, all computed once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use super::model::{Combo, ExperimentReport, FailedRun, Gallery, GalleryCase, Report, Scatter};
use super::samples::{self, Masks, SampleStat};
use super::table::{self, TaskInfo};
use super::{method, stats, SuiteTable};
use crate::config::Suite;
use crate::results::{read_history, MetricRow, RunMeta, RunStatus};
use crate::Result;

/// Builds the whole report model from a suite table (reads predictions and histories from
/// the run folders listed in it).
pub fn build_report(table: &SuiteTable) -> Result<Report> {
    let suite_name = table.runs.first().map_or_else(|| table.suite.clone(), |r| r.suite.clone());
    let hashes: Vec<String> = table.runs.iter().map(|r| r.suite_hash.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let results_dir = table.run_dirs.first().and_then(|d| d.parent()).and_then(|d| d.parent());
    let suite = method::find_suite(&suite_name, &hashes, results_dir);
    let mut warnings = Vec::new();
    if hashes.len() > 1 {
        warnings.push(format!(
            "These results come from {} different versions of the suite file (suite hashes {}); rows may not be comparable.",
            hashes.len(),
            hashes.iter().map(|h| short(h)).collect::<Vec<_>>().join(", ")
        ));
    }
    let revisions: BTreeSet<&str> = table.runs.iter().map(|r| r.git_revision.as_str()).collect();
    if revisions.len() > 1 {
        warnings.push(format!(
            "Runs were made at {} code revisions: {}.",
            revisions.len(),
            revisions.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    if revisions.iter().any(|r| r.ends_with("-dirty") || *r == "unknown") {
        warnings.push(
            "Some runs were made from a modified (dirty) or unknown code revision; the revision alone does not reproduce them.".into(),
        );
    }
    let failed = table
        .runs
        .iter()
        .filter_map(|r| match &r.status {
            RunStatus::Complete => None,
            RunStatus::Diverged { epoch, task, last_finite_loss } => Some(FailedRun {
                run_id: r.run_id.clone(),
                reason: format!("diverged at epoch {epoch} (task {task}, last finite loss {last_finite_loss:.4})"),
            }),
        })
        .collect();
    let mut experiments = Vec::new();
    let names: Vec<&str> = {
        let mut seen: Vec<&str> = Vec::new();
        for r in &table.runs {
            if !seen.contains(&r.experiment.as_str()) {
                seen.push(&r.experiment);
            }
        }
        if let Some((s, _)) = &suite {
            seen.sort_by_key(|n| s.experiments.iter().position(|e| e.name == *n).unwrap_or(usize::MAX));
        }
        seen
    };
    for name in names {
        experiments.push(build_experiment(table, name, suite.as_ref().map(|(s, _)| s))?);
    }
    let map = crate::literature::Literature::embedded().ok();
    if let Some(lit) = &map {
        for e in &mut experiments {
            e.literature = super::literature::experiment_literature(lit, &suite_name, e);
        }
    }
    let literature =
        map.as_ref().filter(|_| experiments.iter().any(|e| !e.literature.papers.is_empty())).map(super::literature::suite_literature);
    let relatedness = super::relatedness::suite(&experiments);
    let pooled = super::pooled::pooled_tables(&experiments, suite.as_ref().map(|(s, _)| s));
    let auxiliary = super::auxiliary::suite(table, &experiments);
    let fractions = super::partial::curves(&experiments);
    let mut method = method::method(&table.runs, suite.as_ref());
    method.from_packed_copy = results_dir.is_some_and(crate::results::is_packed);
    Ok(Report {
        pooled,
        auxiliary,
        fractions,
        relatedness,
        suite: suite_name,
        experiments,
        method,
        skipped: table.skipped.clone(),
        failed,
        warnings,
        literature,
    })
}

pub(crate) fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn build_experiment(table: &SuiteTable, name: &str, suite: Option<&Suite>) -> Result<ExperimentReport> {
    let runs: Vec<(&RunMeta, &PathBuf)> =
        table.runs.iter().zip(&table.run_dirs).filter(|(r, _)| r.experiment == name && r.status == RunStatus::Complete).collect();
    let metas: Vec<&RunMeta> = runs.iter().map(|(r, _)| *r).collect();
    let rows: Vec<&MetricRow> = table.rows.iter().filter(|r| r.experiment == name && r.split == "test").collect();
    let mut combos: Vec<Combo> = metas
        .iter()
        .map(|r| Combo { design: r.design.clone(), weighting: r.weighting.clone() })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let design_order = |c: &Combo| -> (bool, usize, usize) {
        let d = suite.and_then(|s| s.designs.iter().position(|d| d.as_str() == c.design)).unwrap_or(usize::MAX);
        let w = suite.and_then(|s| s.weightings.iter().position(|w| w.as_str() == c.weighting)).unwrap_or(usize::MAX);
        (!c.is_stl(), d, w)
    };
    combos.sort_by(|a, b| design_order(a).cmp(&design_order(b)).then_with(|| a.cmp(b)));
    let seeds: Vec<Vec<u64>> = combos
        .iter()
        .map(|c| {
            let mut s: Vec<u64> = metas.iter().filter(|r| r.design == c.design && r.weighting == c.weighting).map(|r| r.seed).collect();
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect();
    let stl = combos.iter().position(Combo::is_stl);
    let tasks: Vec<TaskInfo> = metas.first().map(|r| r.tasks.iter().map(TaskInfo::of).collect()).unwrap_or_default();
    let mut tables = table::task_tables(&rows, &combos, &tasks);
    let delta_m = stats::delta_m_section(&rows, &combos, stl, &tasks);

    // Predictions are loaded once per (run, task) and shared by the tests and the gallery.
    let mut cache: HashMap<(usize, u64, String), Result<Arc<SampleStat>, String>> = HashMap::new();
    let mut load = |c: usize, seed: u64, task: &str| -> Result<Arc<SampleStat>, String> {
        cache
            .entry((c, seed, task.to_owned()))
            .or_insert_with(|| samples::of_run(runs.iter().copied(), &combos[c], seed, task).map(Arc::new))
            .clone()
    };
    let tests = stats::paired_tests(&combos, &seeds, stl, &tables, &mut load);
    for t in &tests {
        if let Some(table) = tables.iter_mut().find(|x| x.name == t.task) {
            if let Some(cell) = table.columns.iter_mut().find(|c| c.metric == t.metric).and_then(|c| c.cells[t.combo].as_mut()) {
                cell.mark = t.mark;
            }
        }
    }
    let agreement = stats::rank_agreement(&tables, &combos, &delta_m, stl);
    let cost = table::cost_rows(&metas, &combos);
    let histories: Vec<(&RunMeta, Vec<crate::results::HistoryRow>)> =
        runs.iter().filter_map(|(r, dir)| read_history(&dir.join("history.csv")).ok().map(|h| (*r, h))).collect();
    let primaries: Vec<String> = tables.iter().map(|t| t.primary.clone()).collect();
    let curves = table::curves(&histories, &combos, &tasks, &primaries);
    let galleries = galleries(&tables, &combos, &seeds, stl, &runs, &mut load);
    let scatters = scatters(&tables, &combos, &seeds, &mut load);
    let group_rows: Vec<&MetricRow> = table.subgroup_rows.iter().filter(|r| r.experiment == name && r.split == "test").collect();
    let subgroups = super::subgroups::section(&metas, &group_rows, &combos, &tasks, &tables);
    let dial =
        suite.and_then(|s| s.experiments.iter().find(|e| e.name == name)).and_then(|e| e.phantoms.as_ref()).and_then(|p| p.relatedness);
    let relatedness = super::relatedness::section(&super::relatedness::ExperimentInputs {
        combos: &combos,
        tables: &tables,
        rows: &rows,
        histories: &histories,
        runs: &runs,
        stl,
        dial,
    });
    Ok(ExperimentReport {
        name: name.to_owned(),
        datasets: metas.first().map(|r| r.datasets.clone()).unwrap_or_default(),
        combos,
        seeds,
        stl,
        tasks: tables,
        delta_m,
        tests,
        agreement,
        cost,
        curves,
        galleries,
        scatters,
        literature: Default::default(),
        subgroups,
        relatedness,
    })
}

/// For each regression task: (true, predicted) of the test samples of every combo, for the
/// smallest seed they all have (else each combo's smallest).
fn scatters(
    tables: &[super::model::TaskTable],
    combos: &[Combo],
    seeds: &[Vec<u64>],
    load: &mut impl FnMut(usize, u64, &str) -> Result<Arc<SampleStat>, String>,
) -> Vec<Scatter> {
    let common = seeds.first().and_then(|first| first.iter().find(|s| seeds.iter().all(|o| o.contains(s))).copied());
    let mut out = Vec::new();
    for table in tables.iter().filter(|t| t.kind == "regression") {
        let mut series = Vec::new();
        for c in 0..combos.len() {
            let Some(seed) = common.or_else(|| seeds[c].first().copied()) else { continue };
            let Ok(stat) = load(c, seed, &table.name) else { continue };
            let SampleStat::Vector { predictions, .. } = stat.as_ref() else { continue };
            let crate::task::Targets::Values(truth) = &predictions.targets else { continue };
            let points = truth.iter().zip(&predictions.scores).map(|(&t, &p)| (t as f64, p as f64)).collect();
            series.push((c, points));
        }
        if !series.is_empty() {
            out.push(Scatter { task: table.name.clone(), seed: common.unwrap_or(0), series });
        }
    }
    out
}

/// For each segmentation task: test images of the best, median and worst case (by the best
/// MTL combo's Dice) with STL's and that combo's predictions, for the smallest common seed.
fn galleries(
    tables: &[super::model::TaskTable],
    combos: &[Combo],
    seeds: &[Vec<u64>],
    stl: Option<usize>,
    runs: &[(&RunMeta, &PathBuf)],
    load: &mut impl FnMut(usize, u64, &str) -> Result<Arc<SampleStat>, String>,
) -> Vec<Gallery> {
    let Some(stl) = stl else { return Vec::new() };
    let mut out = Vec::new();
    for table in tables.iter().filter(|t| t.kind == "segmentation") {
        let Some(col) = table.primary_column() else { continue };
        let best = (0..combos.len())
            .filter(|&c| c != stl)
            .filter_map(|c| col.cells[c].as_ref().map(|cell| (c, cell.summary.mean)))
            .filter(|(_, m)| m.is_finite())
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let Some((mtl, _)) = best else { continue };
        let Some(&seed) = seeds[mtl].iter().find(|s| seeds[stl].contains(s)) else { continue };
        let (Ok(a), Ok(b)) = (load(stl, seed, &table.name), load(mtl, seed, &table.name)) else { continue };
        let (
            SampleStat::Dice { per_image: stl_dice, masks: Some(Masks { truth, predicted: stl_pred, height, width }), .. },
            SampleStat::Dice { per_image: mtl_dice, masks: Some(Masks { predicted: mtl_pred, .. }), .. },
        ) = (a.as_ref(), b.as_ref())
        else {
            continue;
        };
        let Some((_, dir)) =
            runs.iter().find(|(r, _)| r.design == combos[mtl].design && r.weighting == combos[mtl].weighting && r.seed == seed)
        else {
            continue;
        };
        let Ok(Some((images, [n, c, h, w]))) = samples::test_images(dir, &table.name) else { continue };
        if n != mtl_dice.len() || h != *height || w != *width {
            continue;
        }
        let mut order: Vec<usize> = (0..n).filter(|&i| mtl_dice[i].is_finite()).collect();
        if order.is_empty() {
            continue;
        }
        order.sort_by(|&i, &j| mtl_dice[j].total_cmp(&mtl_dice[i]).then(i.cmp(&j)));
        let picks: BTreeMap<usize, &'static str> =
            [(order.len() - 1, "worst"), (order.len() / 2, "median"), (0, "best")].into_iter().collect();
        let plane = h * w;
        let cases = picks
            .into_iter()
            .map(|(k, label)| {
                let i = order[k];
                GalleryCase {
                    label,
                    index: i,
                    image: images[i * c * plane..(i + 1) * c * plane].to_vec(),
                    truth: truth[i * plane..(i + 1) * plane].to_vec(),
                    stl_prediction: stl_pred[i * plane..(i + 1) * plane].to_vec(),
                    mtl_prediction: mtl_pred[i * plane..(i + 1) * plane].to_vec(),
                    stl_dice: stl_dice[i],
                    mtl_dice: mtl_dice[i],
                }
            })
            .collect();
        out.push(Gallery { task: table.name.clone(), stl, mtl, seed, channels: c, height: h, width: w, cases });
    }
    out
}
