//! Two views of the map that show the review's "metrics variability" and "scope of task
//! combinations": which paper reports which metric, and which task-kind combinations the
//! papers study against the ones medmtl's suites measure.

use std::collections::{BTreeMap, BTreeSet};

use super::{Literature, PaperTaskKind};
use crate::config::Suite;
use crate::task::TaskKindName;

/// Papers x metrics: which metric each paper reports.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricCoverage {
    /// Metric names, the most reported first.
    pub metrics: Vec<String>,
    /// Per paper (id): whether it reports each metric of `metrics`.
    pub rows: Vec<(String, Vec<bool>)>,
}

/// The metric-coverage matrix of `lit`.
pub fn metric_coverage(lit: &Literature) -> MetricCoverage {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &lit.papers {
        for m in p.metrics_reported.iter().collect::<BTreeSet<_>>() {
            *counts.entry(m).or_default() += 1;
        }
    }
    let mut metrics: Vec<(&str, usize)> = counts.into_iter().collect();
    metrics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let metrics: Vec<String> = metrics.into_iter().map(|(m, _)| m.to_owned()).collect();
    let rows = lit.papers.iter().map(|p| (p.id.clone(), metrics.iter().map(|m| p.metrics_reported.contains(m)).collect())).collect();
    MetricCoverage { metrics, rows }
}

/// One row of the scope matrix: a combination of task kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRow {
    /// The distinct task kinds, e.g. `classification + segmentation`.
    pub kinds: BTreeSet<PaperTaskKind>,
    /// Papers of the map whose task set has exactly these kinds.
    pub papers: Vec<String>,
    /// medmtl experiments (`suite/experiment`) whose tasks have exactly these kinds.
    pub experiments: Vec<String>,
}

impl ScopeRow {
    /// The combination as text (`classification + segmentation`).
    pub fn label(&self) -> String {
        self.kinds.iter().map(|k| <&str>::from(*k)).collect::<Vec<_>>().join(" + ")
    }
}

/// The paper kind a medmtl task kind counts as.
pub fn paper_kind(kind: TaskKindName) -> PaperTaskKind {
    match kind {
        TaskKindName::Binary | TaskKindName::Multiclass | TaskKindName::Multilabel | TaskKindName::Ordinal => PaperTaskKind::Classification,
        TaskKindName::OrdinalRegression | TaskKindName::Regression | TaskKindName::Ellipse => PaperTaskKind::Regression,
        TaskKindName::Segmentation => PaperTaskKind::Segmentation,
        TaskKindName::Reconstruction | TaskKindName::Denoising | TaskKindName::Vae => PaperTaskKind::Reconstruction,
    }
}

/// Task-kind combinations x papers x medmtl experiments over the suites `suites`, the
/// combinations most studied first.
pub fn scope(lit: &Literature, suites: &[Suite]) -> Vec<ScopeRow> {
    let mut rows: BTreeMap<Vec<PaperTaskKind>, ScopeRow> = BTreeMap::new();
    for p in &lit.papers {
        let kinds = p.kinds();
        rows.entry(kinds.iter().copied().collect())
            .or_insert_with(|| ScopeRow { kinds, papers: Vec::new(), experiments: Vec::new() })
            .papers
            .push(p.id.clone());
    }
    for s in suites {
        for e in &s.experiments {
            let kinds: BTreeSet<PaperTaskKind> = e.tasks.iter().map(|t| paper_kind(t.kind)).collect();
            rows.entry(kinds.iter().copied().collect())
                .or_insert_with(|| ScopeRow { kinds, papers: Vec::new(), experiments: Vec::new() })
                .experiments
                .push(format!("{}/{}", s.name, e.name));
        }
    }
    let mut out: Vec<ScopeRow> = rows.into_values().collect();
    out.sort_by(|a, b| {
        b.papers.len().cmp(&a.papers.len()).then(b.experiments.len().cmp(&a.experiments.len())).then(a.label().cmp(&b.label()))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_and_scope_count_the_map() {
        let lit = Literature::embedded().unwrap();
        let cov = metric_coverage(&lit);
        assert_eq!(cov.rows.len(), lit.papers.len());
        let dice = cov.metrics.iter().position(|m| m == "dice").expect("some paper reports Dice");
        let n_dice = lit.papers.iter().filter(|p| p.metrics_reported.iter().any(|m| m == "dice")).count();
        assert_eq!(cov.rows.iter().filter(|(_, r)| r[dice]).count(), n_dice);
        let suites: Vec<Suite> = Suite::embedded_names().into_iter().filter_map(|n| Suite::find(n).ok().map(|(s, _, _)| s)).collect();
        let rows = scope(&lit, &suites);
        assert_eq!(rows.iter().map(|r| r.papers.len()).sum::<usize>(), lit.papers.len(), "every paper in one row");
        let seg_cls = rows
            .iter()
            .find(|r| r.kinds == [PaperTaskKind::Classification, PaperTaskKind::Segmentation].into_iter().collect())
            .expect("segmentation + classification is studied");
        assert!(!seg_cls.papers.is_empty() && seg_cls.experiments.iter().any(|e| e.starts_with("busbra/")), "{seg_cls:?}");
    }
}
