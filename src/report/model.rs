//! The report's typed summary model: everything the Markdown, HTML, LaTeX and CSV renderers
//! and the figures show, computed once from the results ([`super::build`]) and rendered
//! several times, so the numbers agree across formats by construction.

use crate::literature::coverage::{MetricCoverage, ScopeRow};
use crate::results::Skipped;
use crate::stats::Summary;

/// One design under one weighting method: a row of every table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Combo {
    /// Design name as recorded in the runs (`stl`, `hps`, ...).
    pub design: String,
    /// Weighting method name as recorded (`none` where no weighting applies).
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
    /// The suite's name (its runs' `suite`, else the results folder's name).
    pub suite: String,
    /// One entry per experiment, in the suite file's order where known.
    pub experiments: Vec<ExperimentReport>,
    /// Facts of the method section (datasets, seeds, hardware, versions, runs).
    pub method: Method,
    /// Experiments that did not run (their data could not be had), and why.
    pub skipped: Vec<Skipped>,
    /// Runs that diverged (no metrics).
    pub failed: Vec<FailedRun>,
    /// Things a reader must know before trusting the tables (mixed suite versions, ...).
    pub warnings: Vec<String>,
    /// The literature map's suite-wide views, when some experiment re-implements a paper.
    pub literature: Option<SuiteLiterature>,
    /// Does relatedness predict the MTL gain, across the suite's experiments?
    pub relatedness: SuiteRelatedness,
    /// The suite's cross-validation pools (folds of one protocol), one table per dataset.
    pub pooled: Vec<PooledTable>,
    /// Experiments with auxiliary tasks against the same design without them.
    pub auxiliary: Vec<AuxiliaryRow>,
    /// Learning curves over the labelled fraction of a task's training patients.
    pub fractions: Vec<FractionCurve>,
}

/// Experiments that differ only in the labelled fraction of one task, as one curve.
#[derive(Debug, Clone)]
pub struct FractionCurve {
    /// The data they share.
    pub dataset: String,
    /// The partly labelled task.
    pub task: String,
    /// The labelled fractions, largest first (one per experiment).
    pub fractions: Vec<f64>,
    /// The experiments, in the order of `fractions`.
    pub experiments: Vec<String>,
    /// One row per main task and design.
    pub rows: Vec<FractionRow>,
}

/// One design's primary metric on one task across the fractions.
#[derive(Debug, Clone)]
pub struct FractionRow {
    /// The design's label.
    pub combo: String,
    /// The task.
    pub task: String,
    /// Its primary metric.
    pub metric: String,
    /// One cell per fraction (`None` where the design did not run).
    pub cells: Vec<Option<FractionCell>>,
}

/// A seed mean with its Student-t 95 % interval over seeds.
#[derive(Debug, Clone, Copy)]
pub struct FractionCell {
    /// Mean over seeds.
    pub mean: f64,
    /// 95 % interval over seeds (NaN with one seed).
    pub ci: (f64, f64),
    /// Seeds.
    pub seeds: usize,
}

/// One design with auxiliary tasks against the same design without them, on one main task.
#[derive(Debug, Clone)]
pub struct AuxiliaryRow {
    /// The experiment with the auxiliary tasks.
    pub experiment: String,
    /// Its auxiliary tasks, as `name (kind)`.
    pub auxiliary: Vec<String>,
    /// The combo with the auxiliary tasks.
    pub combo: String,
    /// The experiment without them.
    pub baseline: String,
    /// The baseline's combo it is compared with (the same design, or STL for a single main
    /// task).
    pub baseline_combo: String,
    /// Mean over seeds of the main task's primary metric with the auxiliary tasks.
    pub with: f64,
    /// Mean over seeds without.
    pub without: f64,
    /// The paired test, with minus without (`combo` indexes the experiment's combos; Holm
    /// over the experiment's comparisons).
    pub test: PairedTest,
}

/// The pools of one dataset: a row per pool and design, a column per task headline metric.
#[derive(Debug, Clone)]
pub struct PooledTable {
    /// The dataset the pools' experiments share.
    pub dataset: String,
    /// (task, metric, higher is better) of every column.
    pub columns: Vec<(String, String, bool)>,
    /// One row per pool and design label.
    pub rows: Vec<PooledRow>,
}

/// One design in one pool.
#[derive(Debug, Clone)]
pub struct PooledRow {
    /// The pool's name in the suite.
    pub pool: String,
    /// The design label ([`Combo::label`]).
    pub combo: String,
    /// Folds (experiments) with runs of this design.
    pub folds: usize,
    /// One per column (`None`: no fold has a value).
    pub cells: Vec<Option<PooledCell>>,
}

/// One metric of one design over the folds of a pool.
#[derive(Debug, Clone)]
pub struct PooledCell {
    /// Mean over folds of each fold's mean over seeds.
    pub mean: f64,
    /// 95% t-interval of that mean over folds.
    pub ci: (f64, f64),
    /// Each fold's mean over seeds, in suite order.
    pub per_fold: Vec<f64>,
}

/// A run that produced no metrics.
#[derive(Debug, Clone)]
pub struct FailedRun {
    /// The run's id.
    pub run_id: String,
    /// Why it failed, as printed (epoch, task and last finite loss of a divergence).
    pub reason: String,
}

/// Everything about one experiment (one dataset and task set).
#[derive(Debug, Clone)]
pub struct ExperimentReport {
    /// The experiment's name in the suite.
    pub name: String,
    /// Dataset name the runs record (`RunMeta::datasets`).
    pub datasets: String,
    /// Rows of every table: STL first, then by design and weighting.
    pub combos: Vec<Combo>,
    /// Seeds with a complete run, per combo.
    pub seeds: Vec<Vec<u64>>,
    /// Index of the STL combo in `combos`, when the experiment has one.
    pub stl: Option<usize>,
    /// One table per task, in the runs' task order (test split).
    pub tasks: Vec<TaskTable>,
    /// Δm of the multi-task combos against STL.
    pub delta_m: DeltaMSection,
    /// Paired bootstrap tests against STL, per task and non-STL combo.
    pub tests: Vec<PairedTest>,
    /// How the ranking of combos depends on the metric.
    pub agreement: RankAgreement,
    /// Training and inference cost, per combo with a complete run.
    pub cost: Vec<CostRow>,
    /// Training curves, per task.
    pub curves: Vec<TaskCurves>,
    /// Best, median and worst test cases of each segmentation task.
    pub galleries: Vec<Gallery>,
    /// Predicted against true test values of each regression task.
    pub scatters: Vec<Scatter>,
    /// The literature map's papers whose designs run in this experiment.
    pub literature: ExperimentLiterature,
    /// Test metrics per subgroup, where the experiment reports them (subgroups or a shift).
    pub subgroups: Option<SubgroupSection>,
    /// Task relatedness measured in the runs (empty when there is one task).
    pub relatedness: RelatednessSection,
}

/// A task's design x weighting table: one column per metric.
#[derive(Debug, Clone)]
pub struct TaskTable {
    /// The task's name.
    pub name: String,
    /// The task kind's name (`segmentation`, `regression`, ...).
    pub kind: String,
    /// The kind's primary metric (the one model selection uses); empty for an unknown kind.
    pub primary: String,
    /// One column per metric the rows report, in their first-seen order.
    pub columns: Vec<MetricColumn>,
    /// An auxiliary task: shown, but not in Δm or the overall best-design ranking.
    pub auxiliary: bool,
    /// The fraction of training patients labelled, when not all are.
    pub labelled_fraction: Option<f64>,
    /// Labelled samples of the train, val and test splits, when some are unlabelled.
    pub labelled: Option<[usize; 3]>,
}

impl TaskTable {
    /// The column of the task's primary metric.
    pub fn primary_column(&self) -> Option<&MetricColumn> {
        self.columns.iter().find(|c| c.metric == self.primary)
    }

    /// Combo `combo`'s cell of the primary metric.
    pub fn primary_cell(&self, combo: usize) -> Option<&Cell> {
        self.primary_column()?.cells.get(combo)?.as_ref()
    }
}

/// One metric's column of a task table.
#[derive(Debug, Clone)]
pub struct MetricColumn {
    /// The metric's name.
    pub metric: String,
    /// Whether a larger value is better (decides the bold best cells).
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
    /// One row per non-STL combo.
    pub rows: Vec<DeltaMRow>,
    /// Why there are no rows, or what was left out.
    pub note: Option<String>,
    /// Auxiliary tasks, left out of Δm.
    pub excluded: Vec<String>,
}

/// Δm of one multi-task combo over its seeds.
#[derive(Debug, Clone)]
pub struct DeltaMRow {
    /// Index into the experiment's `combos`.
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
    /// Index into the experiment's `combos`.
    pub combo: usize,
    /// The task's name.
    pub task: String,
    /// The task's primary metric.
    pub metric: String,
    /// Seeds both the combo and STL have (the metric is averaged over them).
    pub seeds: Vec<u64>,
    /// Test samples resampled (0 when no test was made).
    pub samples: usize,
    /// Bootstrap resamples B (depends on the family size, see `paired_resamples`).
    pub resamples: usize,
    /// Combo minus STL, metric averaged over the common seeds, on all test samples.
    pub difference: f64,
    /// Percentile 95% CI of `difference` over the resamples.
    pub ci: (f64, f64),
    /// Two-sided bootstrap p-value, unadjusted.
    pub p_value: f64,
    /// Holm-adjusted over the combos compared on this task.
    pub p_holm: f64,
    /// Significance mark of `p_holm`: "", "*" (< 0.05) or "**" (< 0.01).
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
    /// What was compared, as printed (`task <name>`, or the primary metrics of all tasks and Δm).
    pub scope: String,
    /// Each set of best combos (indices into `combos`) with the rankings (`labels`) it is best under.
    pub winners: Vec<(Vec<usize>, Vec<String>)>,
}

/// Training and inference cost of one combo over its seeds.
#[derive(Debug, Clone)]
pub struct CostRow {
    /// Index into the experiment's `combos`.
    pub combo: usize,
    /// Parameters of the model (from the combo's first run).
    pub params: usize,
    /// Training throughput, images/s.
    pub train_images_per_sec: Summary,
    /// Inference throughput, images/s.
    pub inference_images_per_sec: Summary,
    /// Wall-clock training time, seconds.
    pub train_seconds: Summary,
    /// Peak resident memory, MiB (runs that recorded it).
    pub peak_memory_mib: Summary,
    /// Train images/s divided by the reference workload's images/s of the same invocation
    /// (comparable across machines).
    pub relative_throughput: Summary,
}

/// Training curves of one task.
#[derive(Debug, Clone)]
pub struct TaskCurves {
    /// The task's name.
    pub task: String,
    /// The validation metric recorded per epoch (the task's primary metric).
    pub val_metric: String,
    /// One curve per combo with a history.
    pub series: Vec<CurveSeries>,
}

/// One combo's curve, mean over seeds per epoch.
#[derive(Debug, Clone)]
pub struct CurveSeries {
    /// Index into the experiment's `combos`.
    pub combo: usize,
    /// Epochs with a record, ascending.
    pub epochs: Vec<usize>,
    /// Mean training loss of the task per epoch, averaged over seeds.
    pub train_loss: Vec<f64>,
    /// Validation primary metric per epoch, averaged over seeds.
    pub val_primary: Vec<f64>,
    /// Runs averaged.
    pub seeds: usize,
    /// Mean selected epoch (the checkpoint kept).
    pub selected_epoch: f64,
}

/// Test images with ground-truth and predicted contours, STL vs the best MTL combo.
#[derive(Debug, Clone)]
pub struct Gallery {
    /// The segmentation task's name.
    pub task: String,
    /// Index of the STL combo in `combos`.
    pub stl: usize,
    /// Index of the MTL combo with the best mean primary metric.
    pub mtl: usize,
    /// The training seed whose runs are shown.
    pub seed: u64,
    /// Image channels C.
    pub channels: usize,
    /// Image height H, pixels.
    pub height: usize,
    /// Image width W, pixels.
    pub width: usize,
    /// The best, median and worst cases, in that order (fewer when the test set is tiny).
    pub cases: Vec<GalleryCase>,
}

/// One test image of a gallery with both models' masks.
#[derive(Debug, Clone)]
pub struct GalleryCase {
    /// "best", "median" or "worst" (by the MTL model's Dice).
    pub label: &'static str,
    /// Index in the test split.
    pub index: usize,
    /// `C x H x W`, 0..255.
    pub image: Vec<u8>,
    /// Ground-truth mask, `H x W`, 0 or 1.
    pub truth: Vec<u8>,
    /// STL's predicted mask, `H x W`, 0 or 1.
    pub stl_prediction: Vec<u8>,
    /// The MTL combo's predicted mask, `H x W`, 0 or 1.
    pub mtl_prediction: Vec<u8>,
    /// STL's Dice on this image.
    pub stl_dice: f64,
    /// The MTL combo's Dice on this image.
    pub mtl_dice: f64,
}

/// What a reader needs to reproduce the tables.
#[derive(Debug, Clone, Default)]
pub struct Method {
    /// One entry per (experiment, dataset).
    pub datasets: Vec<DatasetInfo>,
    /// The suite file, when a built-in suite has the runs' suite hash.
    pub suite_file: Option<SuiteFile>,
    /// SHA-256 of the suite file, every distinct value the runs record.
    pub suite_hashes: Vec<String>,
    /// Training seeds of the runs, ascending.
    pub seeds: Vec<u64>,
    /// Distinct hardware descriptions (CPU/GPU, device, threads, reference throughput).
    pub hardware: Vec<String>,
    /// Distinct medmtl versions of the runs.
    pub versions: Vec<String>,
    /// Distinct git revisions of the runs.
    pub revisions: Vec<String>,
    /// One record per run.
    pub runs: Vec<RunRecord>,
    /// Task kinds present, for the metric definitions.
    pub task_kinds: Vec<String>,
    /// Ids of runs whose data files did not match the catalog's md5 (`--allow-unverified`).
    pub unverified_runs: Vec<String>,
    /// Resamples of each run's per-sample bootstrap CIs.
    pub bootstrap_resamples: usize,
    /// Whether the results are a packed copy (`medmtl pack`), which keeps per-image
    /// statistics but no test images, so the report has no segmentation galleries.
    pub from_packed_copy: bool,
}

/// Where one experiment's data came from and how it was split and preprocessed.
#[derive(Debug, Clone)]
pub struct DatasetInfo {
    /// The experiment's name.
    pub experiment: String,
    /// The dataset's name (catalog name, `phantoms` or a folder dataset).
    pub name: String,
    /// What the dataset holds (from the catalog or dataset spec).
    pub description: String,
    /// How to cite it (the collection's paper, then the source data's).
    pub citation: String,
    /// The data's licence.
    pub licence: String,
    /// Where it is published (collection, version, homepage, DOI).
    pub source: String,
    /// The train/val/test split, as printed.
    pub splits: String,
    /// Resizing and normalisation, as printed.
    pub preprocessing: String,
    /// Data files read, with their md5: `(file, md5)`.
    pub files: Vec<(String, String)>,
}

/// The suite file the runs were made from.
#[derive(Debug, Clone)]
pub struct SuiteFile {
    /// Where it was found (the results folder's copy, or the built-in suite's path).
    pub label: String,
    /// Its full text.
    pub text: String,
    /// SHA-256 of `text` (equals the runs' suite hash).
    pub hash: String,
}

/// One run as listed in the method section.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// The training seed.
    pub seed: u64,
    /// SHA-256 of every setting that changes the run's result.
    pub config_hash: String,
    /// Code revision the run was made at (`-dirty` when modified).
    pub git_revision: String,
    /// When the run was made, as recorded.
    pub timestamp: String,
    /// `complete`, or `diverged (epoch e, task t)`.
    pub status: String,
    /// Epochs trained.
    pub epochs_run: usize,
    /// Epoch whose weights were kept, per task (1-based).
    pub selected_epoch: Vec<usize>,
}

/// The literature facts of one experiment.
#[derive(Debug, Clone, Default)]
pub struct ExperimentLiterature {
    /// Papers whose design runs here.
    pub papers: Vec<PaperStanding>,
    /// Rankings of the experiment's combos under each paper's headline metric, and Δm.
    pub variability: RankAgreement,
}

/// One paper next to medmtl's measurement of its design.
#[derive(Debug, Clone)]
pub struct PaperStanding {
    /// The map's id (`P06`).
    pub id: String,
    /// Short citation and year.
    pub citation: String,
    /// DOI or source link.
    pub url: String,
    /// The medmtl design that stands for the paper's.
    pub design: String,
    /// What stands in for the paper's data, and how faithful it is.
    pub host: String,
    /// The design's combo in the experiment, when it ran.
    pub combo: Option<usize>,
    /// The paper's numbers with medmtl's value of the same metric.
    pub rows: Vec<ReportedRow>,
    /// The design's rank by Δm among the experiment's combos, and how many were ranked.
    pub delta_m_rank: Option<(f64, usize)>,
    /// The design's Δm (%), when it has one.
    pub delta_m: Option<f64>,
}

/// One reported number and medmtl's counterpart.
#[derive(Debug, Clone)]
pub struct ReportedRow {
    /// The paper's task.
    pub paper_task: String,
    /// The paper's metric.
    pub paper_metric: String,
    /// The paper's value as it reads (`0.724`, `> 0.88`, `+7 %`).
    pub paper_value: String,
    /// What the paper's number is on.
    pub on: String,
    /// The medmtl task and metric it maps to, when one does.
    pub medmtl: Option<(String, String)>,
    /// medmtl's mean ± std over seeds of that metric for the design.
    pub value: Option<Summary>,
}

/// The map seen from a whole suite.
#[derive(Debug, Clone)]
pub struct SuiteLiterature {
    /// Papers x metrics they report.
    pub coverage: MetricCoverage,
    /// Task-kind combinations x papers x medmtl experiments.
    pub scope: Vec<ScopeRow>,
    /// Papers in the map, and how many medmtl re-implements.
    pub counts: (usize, usize),
}

/// An experiment's test metrics per subgroup (per scanner, per range of a measurement, or
/// in-distribution vs shifted), beside the pooled values. Paired tests and Δm stay pooled.
#[derive(Debug, Clone)]
pub struct SubgroupSection {
    /// What defines the groups, in words (`device`, `hc_mm in bins 44-135, 135-250`).
    pub by: String,
    /// For a shift experiment: the groups trained on and the groups held out.
    pub shift: Option<(Vec<String>, Vec<String>)>,
    /// The subgroups, in order, with their numbers of test samples.
    pub groups: Vec<(String, u64)>,
    /// Per task, the metrics shown per subgroup (headline and primary metrics).
    pub tasks: Vec<SubgroupTask>,
}

/// One task's metrics per subgroup.
#[derive(Debug, Clone)]
pub struct SubgroupTask {
    /// The task's name.
    pub task: String,
    /// The kind's primary metric.
    pub primary: String,
    /// One table per metric.
    pub metrics: Vec<SubgroupMetric>,
}

/// One metric of one task: rows are combos, columns pooled and each subgroup.
#[derive(Debug, Clone)]
pub struct SubgroupMetric {
    /// The metric's name.
    pub metric: String,
    /// Whether larger is better.
    pub higher_is_better: bool,
    /// Decimals of every cell.
    pub decimals: usize,
    /// Pooled cell per combo (the task table's).
    pub pooled: Vec<Option<Cell>>,
    /// `[group][combo]`: mean over seeds with the mean per-sample bootstrap interval, best
    /// per group in bold.
    pub per_group: Vec<Vec<Option<Cell>>>,
    /// For a shift: per combo, shifted minus in-distribution over the seeds that have both.
    pub change: Option<Vec<Option<Summary>>>,
}

/// Task relatedness in one experiment: the gradient measures of every combo with shared
/// parameters, CKA between the STL networks, and what each weighting did over time.
#[derive(Debug, Clone, Default)]
pub struct RelatednessSection {
    /// Task pairs `(a, b)`, names, in task order (`a` before `b`).
    pub pairs: Vec<(String, String)>,
    /// Gradient relatedness per (combo, pair), over all epochs and seeds.
    pub gradient: Vec<PairRelatedness>,
    /// CKA between the STL task networks per (stage, pair), mean over seeds.
    pub cka: Vec<CkaCell>,
    /// Task weights per epoch of each combo whose weighting records them.
    pub weights: Vec<WeightSeries>,
    /// The MTL gain of each (combo, task) against STL, on the task's primary metric.
    pub gains: Vec<TaskGain>,
    /// The phantom relatedness dial ρ of the experiment's data, when it has one.
    pub dial: Option<f64>,
}

/// One task pair's gradient relatedness under one combo.
#[derive(Debug, Clone)]
pub struct PairRelatedness {
    /// Index into the experiment's `combos`.
    pub combo: usize,
    /// Index into `pairs`.
    pub pair: usize,
    /// Mean gradient cosine on the shared parameters (mean of the epochs' means, weighted
    /// by their measured steps, over seeds).
    pub cos: f64,
    /// Fraction of measured steps in conflict (cosine < 0).
    pub conflict: f64,
    /// Median over epochs of `|g_a| / |g_b|`.
    pub norm_ratio: f64,
    /// Lookahead affinity `Z(a→b)` (a step on a's loss lowers b's by this fraction), mean
    /// over measured epochs; NaN where not measured.
    pub affinity_ab: f64,
    /// `Z(b→a)`.
    pub affinity_ba: f64,
    /// Steps measured, summed over seeds.
    pub steps: f64,
}

/// Linear CKA between two STL task networks at one encoder stage.
#[derive(Debug, Clone)]
pub struct CkaCell {
    /// Encoder stage, 1-based.
    pub stage: usize,
    /// Index into `pairs`.
    pub pair: usize,
    /// Mean over the STL seeds.
    pub cka: f64,
    /// Seeds averaged.
    pub seeds: usize,
}

/// A task's mean weight per epoch under one combo (mean over seeds).
#[derive(Debug, Clone)]
pub struct WeightSeries {
    /// Index into the experiment's `combos`.
    pub combo: usize,
    /// The task's name.
    pub task: String,
    /// Epochs, ascending.
    pub epochs: Vec<usize>,
    /// Mean weight over the epoch's steps, averaged over seeds.
    pub mean: Vec<f64>,
}

/// The relative change of one task's primary metric under one MTL combo against STL.
#[derive(Debug, Clone)]
pub struct TaskGain {
    /// Index into the experiment's `combos`.
    pub combo: usize,
    /// The task's name.
    pub task: String,
    /// The primary metric compared.
    pub metric: String,
    /// Mean over the combo's seeds of `±100 (m_seed − m_STL) / |m_STL|` (%, positive = better;
    /// `m_STL` is STL's mean over its seeds).
    pub gain: f64,
    /// Student-t 95% CI of that mean across seeds (NaN with one seed).
    pub ci: (f64, f64),
    /// The task's mean gradient cosine with its partners under this combo (NaN where not measured).
    pub cos: f64,
    /// Mean lookahead affinity from its partners onto it (NaN where not measured).
    pub affinity: f64,
}

/// Relatedness against gain over every (experiment, MTL combo, task) of the suite.
#[derive(Debug, Clone, Default)]
pub struct SuiteRelatedness {
    /// `(experiment, combo label, gain)` of every point with a measured cosine.
    pub points: Vec<(String, String, TaskGain)>,
    /// Spearman's ρ between cosine and gain over the points.
    pub rho: f64,
    /// Its percentile-bootstrap 95% CI (points resampled).
    pub rho_ci: (f64, f64),
    /// Bootstrap resamples behind `rho_ci`.
    pub resamples: usize,
    /// The dial: per experiment with a phantom ρ, `(experiment, ρ, combo label, Δm mean,
    /// Δm CI, mean cosine)`, sorted by combo then ρ.
    pub dial: Vec<DialPoint>,
}

/// One combo's Δm and gradient cosine at one setting of the relatedness dial.
#[derive(Debug, Clone)]
pub struct DialPoint {
    /// The experiment.
    pub experiment: String,
    /// The dial's ρ.
    pub rho: f64,
    /// The combo's label (`design` or `design+weighting`).
    pub combo: String,
    /// Colour index of the combo in the first experiment it appears in.
    pub color: usize,
    /// Δm against STL, mean over seeds.
    pub delta_m: f64,
    /// Its Student-t CI across seeds.
    pub delta_m_ci: (f64, f64),
    /// Mean gradient cosine over the task pairs (NaN where not measured).
    pub cos: f64,
}

/// Predicted against true test values of one regression task, per design, for one seed.
#[derive(Debug, Clone)]
pub struct Scatter {
    /// The task's name.
    pub task: String,
    /// The seed whose runs are shown (the smallest each design has).
    pub seed: u64,
    /// Per combo index: (true, predicted) of every test sample.
    pub series: Vec<(usize, Vec<(f64, f64)>)>,
}
