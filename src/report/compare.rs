//! `medmtl compare A B`: two results folders (e.g. the same suite at two commits) side by
//! side. For every (experiment, design, weighting, task, metric) of the test split: both
//! means over seeds, the difference B − A, and whether it exceeds seed noise.
//!
//! Rule: a difference **exceeds seed noise** when Welch's unequal-variance t-test of the
//! per-seed values of A against those of B gives a two-sided p < 0.05 (each side needs at
//! least two seeds; with fewer the noise cannot be estimated and the row says so). Welch's
//! test needs no equal seed counts or variances; with few seeds it is conservative, which
//! is the right side to err on when flagging regressions. Rows are not corrected for
//! multiple comparisons: the flag is a screen for what to look at, not a finding.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::csv::CsvTable;
use super::format::{decimals_for, num, p_value, signed};
use super::SuiteTable;
use crate::metrics::higher_is_better;
use crate::stats::{summarize, welch_t_test, Summary};

/// Significance level of the seed-noise rule.
pub const ALPHA: f64 = 0.05;

/// Key of a compared value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The experiment's name.
    pub experiment: String,
    /// The task's name.
    pub task: String,
    /// The metric's name.
    pub metric: String,
    /// The design's name.
    pub design: String,
    /// The weighting method's name.
    pub weighting: String,
}

/// One value present on both sides (test split).
#[derive(Debug, Clone)]
pub struct CompareRow {
    /// What is compared.
    pub key: Key,
    /// Mean, std and seed count of the per-seed values in A (the reference).
    pub a: Summary,
    /// Mean, std and seed count of the per-seed values in B.
    pub b: Summary,
    /// `mean(B) − mean(A)`.
    pub difference: f64,
    /// Two-sided p of Welch's t-test of A's against B's per-seed values (NaN with fewer than two seeds a side).
    pub p_value: f64,
    /// Welch p < [`ALPHA`]; `None` when a side has fewer than two seeds.
    pub exceeds_noise: Option<bool>,
    /// The difference is an improvement (by the metric's direction).
    pub better: bool,
}

/// Everything `medmtl compare` reports about two results folders.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Values present on both sides, in key order.
    pub rows: Vec<CompareRow>,
    /// Values only A has.
    pub only_a: Vec<Key>,
    /// Values only B has.
    pub only_b: Vec<Key>,
    /// Per side: git revisions, suite hashes.
    pub revisions: (Vec<String>, Vec<String>),
    /// Per side (A, B): the distinct suite hashes of its runs.
    pub suite_hashes: (Vec<String>, Vec<String>),
    /// Combos whose run settings differ (config hashes of the same run id differ).
    pub changed_settings: Vec<String>,
}

fn values(table: &SuiteTable) -> BTreeMap<Key, Vec<f64>> {
    let mut out: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    for r in table.rows.iter().filter(|r| r.split == "test") {
        let key = Key {
            experiment: r.experiment.clone(),
            task: r.task.clone(),
            metric: r.metric.clone(),
            design: r.design.clone(),
            weighting: r.weighting.clone(),
        };
        out.entry(key).or_default().push(r.value);
    }
    out
}

/// Compares results `a` (the reference) with `b`.
pub fn compare(a: &SuiteTable, b: &SuiteTable) -> Comparison {
    let (va, vb) = (values(a), values(b));
    let mut out = Comparison::default();
    for (key, xa) in &va {
        let Some(xb) = vb.get(key) else {
            out.only_a.push(key.clone());
            continue;
        };
        let (sa, sb) = (summarize(xa), summarize(xb));
        let test = welch_t_test(xa, xb);
        let difference = sb.mean - sa.mean;
        out.rows.push(CompareRow {
            key: key.clone(),
            a: sa,
            b: sb,
            difference,
            p_value: test.p_value,
            exceeds_noise: test.p_value.is_finite().then_some(test.p_value < ALPHA),
            better: if higher_is_better(&key.metric) { difference > 0.0 } else { difference < 0.0 },
        });
    }
    out.only_b = vb.keys().filter(|k| !va.contains_key(*k)).cloned().collect();
    let set = |t: &SuiteTable, f: fn(&crate::results::RunMeta) -> &str| -> Vec<String> {
        t.runs.iter().map(|r| f(r).to_owned()).collect::<BTreeSet<_>>().into_iter().collect()
    };
    out.revisions = (set(a, |r| &r.git_revision), set(b, |r| &r.git_revision));
    out.suite_hashes = (set(a, |r| &r.suite_hash), set(b, |r| &r.suite_hash));
    let hashes_b: BTreeMap<&str, &str> = b.runs.iter().map(|r| (r.run_id.as_str(), r.config_hash.as_str())).collect();
    let changed: BTreeSet<String> = a
        .runs
        .iter()
        .filter(|r| hashes_b.get(r.run_id.as_str()).is_some_and(|h| *h != r.config_hash))
        .map(|r| format!("{} / {} + {}", r.experiment, r.design, r.weighting))
        .collect();
    out.changed_settings = changed.into_iter().collect();
    out
}

/// The comparison as Markdown; `a` and `b` name the folders.
pub fn render_markdown(c: &Comparison, a: &str, b: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# medmtl compare\n");
    let _ = writeln!(out, "- A: `{a}` (revision {}; suite hash {})", c.revisions.0.join(", "), short_all(&c.suite_hashes.0));
    let _ = writeln!(out, "- B: `{b}` (revision {}; suite hash {})", c.revisions.1.join(", "), short_all(&c.suite_hashes.1));
    let flagged = c.rows.iter().filter(|r| r.exceeds_noise == Some(true)).count();
    let untestable = c.rows.iter().filter(|r| r.exceeds_noise.is_none()).count();
    let _ = writeln!(
        out,
        "- {} values compared (test split, mean over seeds); {flagged} differ beyond seed noise (Welch's t-test on the \
         per-seed values, two-sided p < {ALPHA}, uncorrected: a screen, not a finding); {untestable} cannot be tested \
         (fewer than two seeds on a side).",
        c.rows.len()
    );
    if c.suite_hashes.0 != c.suite_hashes.1 {
        let _ = writeln!(out, "- **The suite files differ** between A and B: some differences may come from changed settings.");
    }
    if !c.changed_settings.is_empty() {
        let _ = writeln!(out, "- Runs with changed settings (config hash differs): {}", c.changed_settings.join(", "));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Δ = B − A; ▲ better, ▼ worse by the metric's direction; `*` beyond seed noise.\n");
    let _ = writeln!(out, "| experiment | task | metric | design | weighting | A (n) | B (n) | Δ | p (Welch) | beyond noise |");
    let _ = writeln!(out, "|---|---|---|---|---|---:|---:|---:|---:|---|");
    for r in &c.rows {
        let d = decimals_for([r.a.mean, r.b.mean]);
        let ms = |s: &Summary| {
            if s.n > 1 {
                format!("{} ± {} ({})", num(s.mean, d), num(s.std, d), s.n)
            } else {
                format!("{} ({})", num(s.mean, d), s.n)
            }
        };
        let arrow = if r.difference == 0.0 || !r.difference.is_finite() {
            ""
        } else if r.better {
            " ▲"
        } else {
            " ▼"
        };
        let flag = match r.exceeds_noise {
            Some(true) => "*",
            Some(false) => "no",
            None => "n/a",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {}{arrow} | {} | {flag} |",
            r.key.experiment,
            r.key.task,
            r.key.metric,
            r.key.design,
            r.key.weighting,
            ms(&r.a),
            ms(&r.b),
            signed(r.difference, d),
            p_value(r.p_value),
        );
    }
    for (side, keys) in [("A", &c.only_a), ("B", &c.only_b)] {
        if !keys.is_empty() {
            let _ = writeln!(out, "\nOnly in {side}:\n");
            for k in keys {
                let _ = writeln!(out, "- {} / {} / {} / {} + {}", k.experiment, k.task, k.metric, k.design, k.weighting);
            }
        }
    }
    out
}

fn short_all(hashes: &[String]) -> String {
    hashes.iter().map(|h| h[..h.len().min(12)].to_owned()).collect::<Vec<_>>().join(", ")
}

/// The comparison at full precision.
pub fn to_csv(c: &Comparison) -> CsvTable {
    let mut rows = vec![[
        "experiment",
        "task",
        "metric",
        "design",
        "weighting",
        "a_mean",
        "a_std",
        "a_seeds",
        "b_mean",
        "b_std",
        "b_seeds",
        "difference",
        "p_welch",
        "exceeds_noise",
        "better",
    ]
    .map(String::from)
    .to_vec()];
    let f = |v: f64| if v.is_nan() { String::new() } else { format!("{v}") };
    for r in &c.rows {
        rows.push(vec![
            r.key.experiment.clone(),
            r.key.task.clone(),
            r.key.metric.clone(),
            r.key.design.clone(),
            r.key.weighting.clone(),
            f(r.a.mean),
            f(r.a.std),
            r.a.n.to_string(),
            f(r.b.mean),
            f(r.b.std),
            r.b.n.to_string(),
            f(r.difference),
            f(r.p_value),
            r.exceeds_noise.map_or(String::new(), |x| x.to_string()),
            r.better.to_string(),
        ]);
    }
    CsvTable { file: "compare.csv".into(), rows }
}
