//! The report's typed summary model: everything the Markdown, HTML, LaTeX and CSV renderers
//! and the figures show, computed once from the results ([`super::build`]) and rendered
//! several times, so the numbers agree across formats by construction.

use crate::results::Skipped;
use crate::stats::Summary;

/// One design under one weighting method: a row of every table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Combo {
    pub design: String,
    pub weighting: String,
}

impl Combo {
    /// The single-task baseline (`stl`, whatever its weighting label).
    pub fn is_stl(&self) -> bool {
        self.design == "stl"
    }

    /// `design` for STL (it has no weighting), else `design + weighting`.
    pub fn label(&self) -> String {
        if self.is_stl() || self.weighting == "none" {
            self.design.clone()
        } else {
            format!("{} + {}", self.design, self.weighting)
        }
    }
}

/// The whole report of one suite.
#[derive(Debug, Clone)]
pub struct Report {
    pub suite: String,
    pub experiments: Vec<ExperimentReport>,
    pub method: Method,
    pub skipped: Vec<Skipped>,
    /// Runs that diverged (no metrics).
    pub failed: Vec<FailedRun>,
    /// Things a reader must know before trusting the tables (mixed suite versions, ...).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FailedRun {
    pub run_id: String,
    pub reason: String,
}

/// Everything about one experiment (one dataset and task set).
#[derive(Debug, Clone)]
pub struct ExperimentReport {
    pub name: String,
    pub datasets: String,
    /// Rows of every table: STL first, then by design and weighting.
    pub combos: Vec<Combo>,
    /// Seeds with a complete run, per combo.
    pub seeds: Vec<Vec<u64>>,
    /// Index of the STL combo in `combos`, when the experiment has one.
    pub stl: Option<usize>,
    pub tasks: Vec<TaskTable>,
    pub delta_m: DeltaMSection,
    pub tests: Vec<PairedTest>,
    pub agreement: RankAgreement,
    pub cost: Vec<CostRow>,
    pub curves: Vec<TaskCurves>,
    pub galleries: Vec<Gallery>,
}

/// A task's design x weighting table: one column per metric.
#[derive(Debug, Clone)]
pub struct TaskTable {
    pub name: String,
    pub kind: String,
    pub primary: String,
    pub columns: Vec<MetricColumn>,
}

#[derive(Debug, Clone)]
pub struct MetricColumn {
    pub metric: String,
    pub higher_is_better: bool,
    /// A count (`n_*`): shown, never ranked, bolded or compared.
    pub count: bool,
    /// Decimals every cell of the column is printed with.
    pub decimals: usize,
    /// One per combo (`None`: the combo has no value for this metric).
    pub cells: Vec<Option<Cell>>,
}

/// One metric of one combo over seeds (test split).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Mean, sample std and number of seeds with a finite value.
    pub summary: Summary,
    /// Mean over those seeds of each run's per-sample percentile bootstrap 95% CI bounds.
    pub ci: (f64, f64),
    /// The best mean of the column (ties all marked).
    pub best: bool,
    /// Significance mark of the paired test against STL (primary metric only): "", "*", "**".
    pub mark: &'static str,
}

/// Δm of every multi-task combo against the experiment's STL rows.
#[derive(Debug, Clone, Default)]
pub struct DeltaMSection {
    /// Metrics averaged per task (`delta_m_metrics` of its kind).
    pub metrics: Vec<(String, Vec<String>)>,
    pub rows: Vec<DeltaMRow>,
    /// Why there are no rows, or what was left out.
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DeltaMRow {
    pub combo: usize,
    /// medmtl Δm (%) of each seed's metrics against the STL means over STL seeds.
    pub per_seed: Vec<(u64, f64)>,
    /// Mean, std and count of `per_seed` (the mean equals Δm of the seed-mean metrics).
    pub summary: Summary,
    /// Student-t 95% interval of the mean over seeds.
    pub ci: (f64, f64),
    /// LibMTL `count_improvement` x 100 of the seed means (positive = better).
    pub libmtl: f64,
    /// nash-mtl `delta_fn` of the seed means (%, positive = worse).
    pub nashmtl: f64,
}

/// Paired bootstrap of one combo against STL on one task's primary metric.
#[derive(Debug, Clone)]
pub struct PairedTest {
    pub combo: usize,
    pub task: String,
    pub metric: String,
    /// Seeds both the combo and STL have (the metric is averaged over them).
    pub seeds: Vec<u64>,
    pub samples: usize,
    /// Bootstrap resamples B (depends on the family size, see `paired_resamples`).
    pub resamples: usize,
    /// Combo minus STL, metric averaged over the common seeds, on all test samples.
    pub difference: f64,
    pub ci: (f64, f64),
    pub p_value: f64,
    /// Holm-adjusted over the combos compared on this task.
    pub p_holm: f64,
    pub mark: &'static str,
    /// Why no test could be made (predictions missing, test sets differ, ...).
    pub note: Option<String>,
}

/// How the ranking of combos changes with the metric.
#[derive(Debug, Clone, Default)]
pub struct RankAgreement {
    /// `task: metric` of each ranking (plus `Δm` when available).
    pub labels: Vec<String>,
    /// `ranks[r][c]`: rank of combo c under ranking r (1 = best, ties averaged, NaN = no value).
    pub ranks: Vec<Vec<f64>>,
    /// Kendall's τ-b between rankings (over the combos both rank).
    pub tau: Vec<Vec<f64>>,
    /// Best combos under each ranking.
    pub best: Vec<Vec<usize>>,
    /// Where the best combo depends on the metric.
    pub changes: Vec<BestChange>,
}

/// Within one scope (a task, or the primary metrics of all tasks), the metrics each
/// combo is best under; present only when more than one combo is best somewhere.
#[derive(Debug, Clone)]
pub struct BestChange {
    pub scope: String,
    pub winners: Vec<(Vec<usize>, Vec<String>)>,
}

/// Training and inference cost of one combo over its seeds.
#[derive(Debug, Clone)]
pub struct CostRow {
    pub combo: usize,
    pub params: usize,
    pub train_images_per_sec: Summary,
    pub inference_images_per_sec: Summary,
    pub train_seconds: Summary,
    pub peak_memory_mib: Summary,
    /// Train images/s divided by the reference workload's images/s of the same invocation
    /// (comparable across machines).
    pub relative_throughput: Summary,
}

/// Training curves of one task.
#[derive(Debug, Clone)]
pub struct TaskCurves {
    pub task: String,
    /// The validation metric recorded per epoch (the task's primary metric).
    pub val_metric: String,
    pub series: Vec<CurveSeries>,
}

/// One combo's curve, mean over seeds per epoch.
#[derive(Debug, Clone)]
pub struct CurveSeries {
    pub combo: usize,
    pub epochs: Vec<usize>,
    pub train_loss: Vec<f64>,
    pub val_primary: Vec<f64>,
    pub seeds: usize,
    /// Mean selected epoch (the checkpoint kept).
    pub selected_epoch: f64,
}

/// Test images with ground-truth and predicted contours, STL vs the best MTL combo.
#[derive(Debug, Clone)]
pub struct Gallery {
    pub task: String,
    pub stl: usize,
    pub mtl: usize,
    /// The training seed whose runs are shown.
    pub seed: u64,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub cases: Vec<GalleryCase>,
}

#[derive(Debug, Clone)]
pub struct GalleryCase {
    /// "best", "median" or "worst" (by the MTL model's Dice).
    pub label: &'static str,
    /// Index in the test split.
    pub index: usize,
    /// `C x H x W`, 0..255.
    pub image: Vec<u8>,
    pub truth: Vec<u8>,
    pub stl_prediction: Vec<u8>,
    pub mtl_prediction: Vec<u8>,
    pub stl_dice: f64,
    pub mtl_dice: f64,
}

/// What a reader needs to reproduce the tables.
#[derive(Debug, Clone, Default)]
pub struct Method {
    pub datasets: Vec<DatasetInfo>,
    /// The suite file, when a built-in suite has the runs' suite hash.
    pub suite_file: Option<SuiteFile>,
    pub suite_hashes: Vec<String>,
    pub seeds: Vec<u64>,
    pub hardware: Vec<String>,
    pub versions: Vec<String>,
    pub revisions: Vec<String>,
    pub runs: Vec<RunRecord>,
    /// Task kinds present, for the metric definitions.
    pub task_kinds: Vec<String>,
    pub unverified_runs: Vec<String>,
    pub bootstrap_resamples: usize,
}

#[derive(Debug, Clone)]
pub struct DatasetInfo {
    pub experiment: String,
    pub name: String,
    pub description: String,
    pub citation: String,
    pub licence: String,
    pub source: String,
    pub splits: String,
    pub preprocessing: String,
    pub files: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct SuiteFile {
    pub label: String,
    pub text: String,
    pub hash: String,
}

#[derive(Debug, Clone)]
pub struct RunRecord {
    pub run_id: String,
    pub seed: u64,
    pub config_hash: String,
    pub git_revision: String,
    pub timestamp: String,
    pub status: String,
    pub epochs_run: usize,
    pub selected_epoch: Vec<usize>,
}
