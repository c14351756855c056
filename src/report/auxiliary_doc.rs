//! The suite's "Auxiliary tasks" section (Markdown and HTML).

use super::doc::{Block, Cell, Table, Text};
use super::format::{interval, num, p_value, signed};
use super::model::AuxiliaryRow;

/// The sentence under the section heading, shared with the LaTeX caption.
pub const EXPLANATION: &str = "Each experiment with auxiliary tasks against its baseline experiment (same data, the same main tasks, \
     no auxiliary task), design by design; a single main task with an auxiliary (\"STL with auxiliary\") is compared with the \
     baseline's STL. On each main task's primary metric: the means over seeds with and without, and a paired bootstrap test on \
     the shared test images (metric averaged over the seeds both have; 95% percentile CI; Holm-adjusted over the experiment's \
     comparisons; * p < 0.05, ** p < 0.01). Positive differences: the auxiliary task helped.";

/// The section (nothing without auxiliary experiments).
pub fn suite(out: &mut Vec<Block>, rows: &[AuxiliaryRow]) {
    if rows.is_empty() {
        return;
    }
    out.push(Block::Heading { level: 2, text: "Auxiliary tasks".into(), id: "auxiliary".into() });
    out.push(Block::Paragraph(Text::plain(EXPLANATION)));
    let header: Vec<String> =
        ["experiment", "auxiliary", "design", "against", "task", "metric", "with", "without", "difference", "95% CI", "p (Holm)", "seeds"]
            .map(String::from)
            .to_vec();
    let table_rows = rows
        .iter()
        .map(|r| {
            vec![
                Cell::new(r.experiment.clone()),
                Cell::new(r.auxiliary.join(", ")),
                Cell::new(r.combo.clone()),
                Cell::new(format!("{} {}", r.baseline, r.baseline_combo)),
                Cell::new(r.test.task.clone()),
                Cell::new(r.test.metric.clone()),
                Cell::new(num(r.with, 3)),
                Cell::new(num(r.without, 3)),
                Cell { mark: r.test.mark, ..Cell::new(signed(r.test.difference, 3)) },
                Cell::new(r.test.note.clone().unwrap_or_else(|| interval(r.test.ci, 3).unwrap_or_else(|| "–".into()))),
                Cell::new(if r.test.p_holm.is_finite() { p_value(r.test.p_holm) } else { "–".into() }),
                Cell::new(r.test.seeds.len().to_string()),
            ]
        })
        .collect();
    out.push(Block::Table(Table { header, numeric: (0..12).map(|c| (6..12).contains(&c)).collect(), rows: table_rows }));
}
