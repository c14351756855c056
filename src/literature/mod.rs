//! The literature map: medical MTL papers with their tasks, sharing, heads, loss weighting,
//! data, metrics and their own reported numbers, each linked to the medmtl suite,
//! experiment and design that re-implements it on public data, or to the reason none can
//! (`benchmarks/literature.toml`, compiled in).
//!
//! A paper's numbers are its own, on its own data: the map lets a report put them beside
//! medmtl's uniform re-measurement without pretending they are comparable. Loading refuses
//! unknown keys and dangling references, naming the file, the paper and the key.

pub mod coverage;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Suite;
use crate::{Error, Result};

/// The map shipped with medmtl.
const EMBEDDED: &str = include_str!("../../benchmarks/literature.toml");

/// Where the embedded map comes from, for messages.
pub const EMBEDDED_PATH: &str = "benchmarks/literature.toml";

/// One of the review's open gaps a paper touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Gap {
    /// Whether and when tasks help each other.
    TaskRelatedness,
    /// Which task combinations are studied.
    Scope,
    /// Generative (reconstruction, synthesis) tasks in MTL.
    Generative,
    /// Learning from images over time.
    Longitudinal,
}

/// How a paper's network shares parameters between tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Sharing {
    /// One shared trunk, task heads.
    Hard,
    /// Task networks joined by cross-stitch units.
    CrossStitch,
    /// Task-specific attention over shared features or between decoders.
    Attention,
    /// Experts mixed by gates.
    MixtureOfExperts,
    /// Separate networks joined only through the loss.
    LossCoupled,
    /// One task's output feeds the next.
    Cascaded,
}

/// Whether a paper's tasks are of one kind or of several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Combination {
    /// All tasks of one kind.
    Homogeneous,
    /// Tasks of several kinds.
    Heterogeneous,
    /// Settings of both kinds.
    Both,
}

/// The kind of a paper's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::EnumIter, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum PaperTaskKind {
    /// Pixel labels.
    Segmentation,
    /// Image labels.
    Classification,
    /// Scalars or measurements.
    Regression,
    /// An image output (reconstruction, synthesis, super-resolution).
    Reconstruction,
    /// Boxes.
    Detection,
    /// Deformation fields.
    Registration,
}

/// How much of a paper was read (the map's support grade).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Support {
    /// Abstract plus design details from code or a detailed page.
    A,
    /// Abstract or summary plus at least one design fact.
    B,
    /// Abstract only.
    C,
}

/// One task of a paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperTask {
    /// The task as the paper names it.
    pub name: String,
    /// Its kind.
    pub kind: PaperTaskKind,
}

/// A dataset a paper used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperDataset {
    /// The dataset as the paper describes it.
    pub name: String,
    /// Downloadable without a one-to-one agreement.
    pub public: bool,
    /// Licence as its authors state it ("unknown" where not found).
    pub licence: String,
}

/// A number a paper reports, on its own data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reported {
    /// One of the paper's task names.
    pub task: String,
    /// The paper's metric (one of `metrics_reported`).
    pub metric: String,
    /// The value in the paper's unit.
    pub value: f64,
    /// `""`, `"%"`, `"mm"`, `"points"`.
    pub unit: String,
    /// The data the number is on.
    pub on: String,
    /// A qualifier.
    #[serde(default)]
    pub note: String,
    /// `"="` a value, `">"` a lower bound, `"gain"` a difference over a stated baseline.
    pub comparator: String,
}

/// Which fact groups of an entry are verified against a primary source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verified {
    /// Tasks, sharing, heads.
    pub design: bool,
    /// Loss weighting.
    pub weighting: bool,
    /// Datasets and licences.
    pub data: bool,
    /// Reported values.
    pub numbers: bool,
}

/// How medmtl covers a paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Reproduction {
    /// Re-implemented by a design in an experiment of a suite.
    By {
        /// The suite.
        suite: String,
        /// The experiment in it.
        experiment: String,
        /// The design that stands for the paper's.
        design: String,
        /// What public data host it, and how faithful that is.
        host: String,
    },
    /// Why no medmtl experiment can re-implement it.
    Not {
        /// The reason (3-D only, private data, a task kind medmtl lacks, ...).
        reason: String,
    },
}

/// One paper of the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paper {
    /// The map's number (`P06`).
    pub id: String,
    /// A citation key (`mehta2018ynet`).
    pub key: String,
    /// Full citation.
    pub citation: String,
    /// DOI link or the best source URL.
    pub url: String,
    /// Publication year.
    pub year: u16,
    /// Imaging modality.
    pub modality: String,
    /// Organ or body region.
    pub organ: String,
    /// Homogeneous or heterogeneous tasks.
    pub combination: Combination,
    /// Sharing family.
    pub sharing: Sharing,
    /// Decoder and head design.
    pub heads: String,
    /// Loss weighting as the paper states it.
    pub loss_weighting: String,
    /// The review's open gaps the paper touches.
    pub gaps: Vec<Gap>,
    /// How much of the paper was read.
    pub support: Support,
    /// Where the facts come from.
    pub sources: Vec<String>,
    /// Every metric the paper reports.
    pub metrics_reported: Vec<String>,
    /// The paper's tasks.
    pub tasks: Vec<PaperTask>,
    /// The data it used.
    pub datasets: Vec<PaperDataset>,
    /// Its headline numbers.
    #[serde(default)]
    pub reported: Vec<Reported>,
    /// Which fact groups are verified.
    pub verified: Verified,
    /// medmtl's re-implementation, or why there is none.
    pub reproduced_by: Reproduction,
}

impl Paper {
    /// `"kind+kind"` of the paper's distinct task kinds, sorted (the scope matrix key).
    pub fn kinds(&self) -> BTreeSet<PaperTaskKind> {
        self.tasks.iter().map(|t| t.kind).collect()
    }
}

/// The whole map.
#[derive(Debug, Clone, PartialEq)]
pub struct Literature {
    /// Papers in file order.
    pub papers: Vec<Paper>,
    /// The file they came from.
    pub path: PathBuf,
}

impl Literature {
    /// The map shipped with medmtl, validated against the built-in suites.
    pub fn embedded() -> Result<Literature> {
        let lit = Literature::parse(EMBEDDED, Path::new(EMBEDDED_PATH))?;
        lit.validate(|name| Suite::find(name).ok().map(|(s, _, _)| s))?;
        Ok(lit)
    }

    /// Parses a map; each paper is read on its own, so an error names the paper.
    pub fn parse(text: &str, path: &Path) -> Result<Literature> {
        let err = |msg: String| Error::config(path, msg);
        let table: toml::Table = toml::from_str(text).map_err(|e| err(e.message().to_owned()))?;
        if let Some(key) = table.keys().find(|k| *k != "paper") {
            return Err(err(format!("unknown key `{key}` at the top level; only [[paper]] entries are allowed")));
        }
        let entries = table.get("paper").and_then(|v| v.as_array()).ok_or_else(|| err("no [[paper]] entries".into()))?;
        let mut papers = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let id = entry.get("id").and_then(|v| v.as_str()).map_or_else(|| format!("#{}", i + 1), str::to_owned);
            let paper: Paper = entry.clone().try_into().map_err(|e: toml::de::Error| err(format!("paper {id}: {}", e.message())))?;
            papers.push(paper);
        }
        Ok(Literature { papers, path: path.to_path_buf() })
    }

    /// Checks what parsing cannot: unique ids and keys, reported numbers naming the paper's
    /// own tasks and metrics, and every `reproduced_by` naming a suite (found by `suites`),
    /// an experiment of that suite and a design that experiment runs.
    pub fn validate(&self, suites: impl Fn(&str) -> Option<Suite>) -> Result<()> {
        let err = |id: &str, msg: String| Err(Error::config(&self.path, format!("paper {id}: {msg}")));
        let mut ids = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for p in &self.papers {
            if !ids.insert(&p.id) {
                return err(&p.id, "the id is used twice".into());
            }
            if !keys.insert(&p.key) {
                return err(&p.id, format!("key `{}` is used twice", p.key));
            }
            if !(1990..=2100).contains(&p.year) {
                return err(&p.id, format!("year {} is implausible", p.year));
            }
            if p.tasks.is_empty() {
                return err(&p.id, "`tasks` is empty".into());
            }
            for r in &p.reported {
                if !p.tasks.iter().any(|t| t.name == r.task) {
                    return err(&p.id, format!("reported.task `{}` is not one of the paper's tasks", r.task));
                }
                if !p.metrics_reported.contains(&r.metric) {
                    return err(&p.id, format!("reported.metric `{}` is not in metrics_reported", r.metric));
                }
                if !["=", ">", "gain"].contains(&r.comparator.as_str()) {
                    return err(&p.id, format!("reported.comparator `{}`: allowed are \"=\", \">\", \"gain\"", r.comparator));
                }
                if !r.value.is_finite() {
                    return err(&p.id, format!("reported.value of `{}` is not a number", r.metric));
                }
            }
            if let Reproduction::By { suite, experiment, design, .. } = &p.reproduced_by {
                let Some(s) = suites(suite) else {
                    return err(&p.id, format!("reproduced_by.suite `{suite}` is not a medmtl suite"));
                };
                let Some(exp) = s.experiments.iter().find(|e| &e.name == experiment) else {
                    let names: Vec<&str> = s.experiments.iter().map(|e| e.name.as_str()).collect();
                    return err(
                        &p.id,
                        format!("reproduced_by.experiment `{experiment}` is not in suite `{suite}` (it has {})", names.join(", ")),
                    );
                };
                if !s.designs_for(exp).iter().any(|d| d.as_str() == design) {
                    let names: Vec<&str> = s.designs_for(exp).iter().map(|d| d.as_str()).collect();
                    return err(
                        &p.id,
                        format!("reproduced_by.design `{design}` does not run in experiment `{experiment}` (it runs {})", names.join(", ")),
                    );
                }
            }
        }
        Ok(())
    }

    /// The papers whose re-implementation runs in `suite`'s experiment `experiment`.
    pub fn reproduced_in<'a>(&'a self, suite: &'a str, experiment: &'a str) -> impl Iterator<Item = &'a Paper> {
        self.papers
            .iter()
            .filter(move |p| matches!(&p.reproduced_by, Reproduction::By { suite: s, experiment: e, .. } if s == suite && e == experiment))
    }
}

/// Which papers `medmtl literature` lists: all conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Papers touching this gap.
    pub gap: Option<Gap>,
    /// Papers with a task of this kind.
    pub kind: Option<PaperTaskKind>,
    /// Papers with a dataset whose name contains this (case-insensitive).
    pub dataset: Option<String>,
    /// Only papers medmtl re-implements.
    pub reproduced: bool,
}

impl Filter {
    /// Whether `p` passes.
    pub fn accepts(&self, p: &Paper) -> bool {
        self.gap.is_none_or(|g| p.gaps.contains(&g))
            && self.kind.is_none_or(|k| p.tasks.iter().any(|t| t.kind == k))
            && self.dataset.as_ref().is_none_or(|d| p.datasets.iter().any(|x| x.name.to_lowercase().contains(&d.to_lowercase())))
            && (!self.reproduced || matches!(p.reproduced_by, Reproduction::By { .. }))
    }
}

impl Literature {
    /// The papers `filter` accepts, one block each, as `medmtl literature` prints them.
    pub fn listing(&self, filter: &Filter) -> String {
        let mut out = String::new();
        let shown: Vec<&Paper> = self.papers.iter().filter(|p| filter.accepts(p)).collect();
        for p in &shown {
            let kinds: Vec<&str> = p.tasks.iter().map(|t| <&str>::from(t.kind)).collect();
            let gaps: Vec<&str> = p.gaps.iter().map(|g| <&str>::from(*g)).collect();
            out += &format!(
                "{} {} ({})
",
                p.id, p.citation, p.url
            );
            out += &format!(
                "    tasks: {}; {}; sharing {}; gaps: {}
",
                p.tasks.iter().zip(&kinds).map(|(t, k)| format!("{} ({k})", t.name)).collect::<Vec<_>>().join(", "),
                <&str>::from(p.combination),
                <&str>::from(p.sharing),
                if gaps.is_empty() { "none".to_owned() } else { gaps.join(", ") }
            );
            out += &format!(
                "    data: {}
",
                p.datasets
                    .iter()
                    .map(|d| format!("{} ({})", d.name, if d.public { d.licence.as_str() } else { "not public" }))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            out += &match &p.reproduced_by {
                Reproduction::By { suite, experiment, design, host } => format!(
                    "    re-implemented: suite {suite}, experiment {experiment}, design {design} ({host})
"
                ),
                Reproduction::Not { reason } => format!(
                    "    not re-implemented: {reason}
"
                ),
            };
        }
        let reproduced = shown.iter().filter(|p| matches!(p.reproduced_by, Reproduction::By { .. })).count();
        out += &format!(
            "{} of {} papers shown, {} re-implemented by medmtl
",
            shown.len(),
            self.papers.len(),
            reproduced
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_filters_by_gap_kind_and_dataset() {
        let lit = Literature::embedded().unwrap();
        let all = lit.listing(&Filter::default());
        assert!(all.contains("P06") && all.contains(&format!("{n} of {n} papers shown", n = lit.papers.len())), "{all}");
        let longitudinal = lit.listing(&Filter { gap: Some(Gap::Longitudinal), ..Filter::default() });
        assert!(longitudinal.contains("P17") && !longitudinal.contains("P06 "), "{longitudinal}");
        let registration = lit.listing(&Filter { kind: Some(PaperTaskKind::Registration), ..Filter::default() });
        assert!(registration.contains("P10") && registration.contains("P12"), "{registration}");
        let hc18 = lit.listing(&Filter { dataset: Some("hc18".into()), reproduced: true, ..Filter::default() });
        assert!(hc18.contains("P11") && hc18.contains("re-implemented: suite literature"), "{hc18}");
    }

    #[test]
    fn the_shipped_map_parses_validates_and_covers_enough_papers() {
        let lit = Literature::embedded().unwrap();
        assert!(lit.papers.len() >= 25, "{} papers", lit.papers.len());
        let reproduced = lit.papers.iter().filter(|p| matches!(p.reproduced_by, Reproduction::By { .. })).count();
        assert!(reproduced >= 10, "{reproduced} re-implemented");
        for gap in <Gap as strum::IntoEnumIterator>::iter() {
            assert!(lit.papers.iter().any(|p| p.gaps.contains(&gap)), "no paper touches {gap:?}");
        }
    }

    fn one(extra: &str, reproduced: &str) -> String {
        format!(
            r#"
[[paper]]
id = "P99"
key = "doe2020test"
citation = "Doe. A test. 2020."
url = "https://example.org"
year = 2020
modality = "MRI"
organ = "brain"
combination = "heterogeneous"
sharing = "hard"
heads = "h"
loss_weighting = "sum"
gaps = ["scope"]
support = "B"
sources = []
metrics_reported = ["dice"]
{extra}
[[paper.tasks]]
name = "seg"
kind = "segmentation"

[[paper.datasets]]
name = "d"
public = true
licence = "CC BY 4.0"

[paper.verified]
design = true
weighting = false
data = true
numbers = false

[paper.reproduced_by]
{reproduced}
"#
        )
    }

    fn check(text: &str) -> std::result::Result<(), String> {
        let lit = Literature::parse(text, Path::new("lit.toml")).map_err(|e| e.to_string())?;
        lit.validate(|name| Suite::find(name).ok().map(|(s, _, _)| s)).map_err(|e| e.to_string())
    }

    #[test]
    fn unknown_keys_and_dangling_references_are_refused_naming_the_paper_and_the_key() {
        check(&one("", "reason = \"private data\"")).unwrap();
        check(&one("", "suite = \"smoke\"\nexperiment = \"phantoms\"\ndesign = \"hps\"\nhost = \"phantoms\"")).unwrap();
        let unknown = check(&one("colour = \"blue\"", "reason = \"x\"")).unwrap_err();
        assert!(unknown.contains("lit.toml") && unknown.contains("paper P99") && unknown.contains("colour"), "{unknown}");
        let suite = check(&one("", "suite = \"smok\"\nexperiment = \"phantoms\"\ndesign = \"hps\"\nhost = \"h\"")).unwrap_err();
        assert!(suite.contains("paper P99") && suite.contains("reproduced_by.suite `smok`"), "{suite}");
        let experiment = check(&one("", "suite = \"smoke\"\nexperiment = \"nope\"\ndesign = \"hps\"\nhost = \"h\"")).unwrap_err();
        assert!(experiment.contains("reproduced_by.experiment `nope`") && experiment.contains("phantoms"), "{experiment}");
        let design = check(&one("", "suite = \"smoke\"\nexperiment = \"phantoms\"\ndesign = \"mmoe\"\nhost = \"h\"")).unwrap_err();
        assert!(design.contains("reproduced_by.design `mmoe`") && design.contains("stl, hps, mtan"), "{design}");
        let task = check(&one(
            "[[paper.reported]]\ntask = \"cls\"\nmetric = \"dice\"\nvalue = 0.9\nunit = \"\"\non = \"x\"\ncomparator = \"=\"\n",
            "reason = \"x\"",
        ))
        .unwrap_err();
        assert!(task.contains("reported.task `cls`"), "{task}");
    }
}
