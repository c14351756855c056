//! Reports rendered from results only (never by retraining).
//!
//! Flow: [`crate::results::collect_suite_table`] gathers a suite's metric rows and run records;
//! [`build::build_report`] computes the typed summary model once ([`model::Report`]:
//! tables over seeds, Δm, paired tests against STL, rank agreement, cost, curves,
//! segmentation galleries); [`figures`] draws it; [`document`] lays it out once for
//! [`markdown`] and [`html`]; [`latex`] and [`csv`] export its tables. [`write_report`] writes
//! everything into `reports/<suite>/`:
//! ```text
//! report.md, report.html            the report (HTML self-contained: CSS and figures inline)
//! figures/<experiment>__<kind>.svg  + .png (2x) for each figure
//! tables/*.tex                      booktabs tables + preview.tex that inputs them all
//! tables/*.csv                      the same numbers at full precision
//! ```
//! [`compare`] sets two results folders side by side.

mod auxiliary;
mod auxiliary_doc;
mod build;
pub mod compare;
pub mod csv;
pub mod doc;
mod document;
pub mod figures;
mod format;
pub mod html;
pub mod latex;
pub mod literature;
mod literature_doc;
pub mod markdown;
mod method;
pub mod model;
pub mod palette;
mod partial;
mod partial_doc;
mod pooled;
mod pooled_doc;
mod relatedness;
mod relatedness_doc;
mod samples;
mod stats;
mod subgroups;
mod subgroups_doc;
mod table;

use std::path::{Path, PathBuf};

use crate::results::io::{write_bytes, write_text};
use crate::results::SuiteTable;
use crate::{Error, Result};

pub use build::build_report;
pub use stats::PAIRED_BOOTSTRAP_SEED;

/// Writes the report of a suite into `report_dir` (Markdown, HTML, LaTeX and CSV tables,
/// figures); returns the path of `report.md`. Files of an earlier report in `figures/` and
/// `tables/` are replaced.
pub fn write_report(_results_dir: &Path, report_dir: &Path, table: &SuiteTable) -> Result<PathBuf> {
    render_report(&build_report(table)?, report_dir)
}

/// Renders a built report into `report_dir` (what [`write_report`] does after building it).
pub fn render_report(report: &model::Report, report_dir: &Path) -> Result<PathBuf> {
    let figures = figures::render_all(report)?;
    for sub in ["figures", "tables"] {
        let dir = report_dir.join(sub);
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
    }
    let mut images = std::collections::BTreeMap::new();
    for f in &figures {
        write_text(&report_dir.join(&f.reference.svg), &f.svg)?;
        write_bytes(&report_dir.join(&f.reference.png), &f.png)?;
        images.insert(f.reference.png.clone(), f.png.clone());
    }
    let blocks = document::layout(report, &figures);
    let md_path = report_dir.join("report.md");
    write_text(&md_path, &markdown::render(&blocks))?;
    let title = format!("medmtl report: suite {}", report.suite);
    write_text(&report_dir.join("report.html"), &html::render(&title, &blocks, &images))?;
    for t in latex::tables(report) {
        write_text(&report_dir.join("tables").join(&t.file), &t.text)?;
    }
    for t in csv::tables(report) {
        write_text(&report_dir.join("tables").join(&t.file), &t.text())?;
    }
    Ok(md_path)
}
