//! The suite's "Labelled fraction" section (Markdown and HTML).

use super::doc::{Block, Cell, Table, Text};
use super::figures::{figure, FigureKind, Rendered};
use super::format::{interval, num};
use super::model::FractionCurve;

/// The sentence under the section heading, shared with the LaTeX caption.
pub const EXPLANATION: &str = "Experiments that differ only in the fraction of training patients labelled for one task (the \
     labelled patients drawn once, the same for every design and seed; validation and test fully labelled): each main task's \
     primary metric per design at each fraction, mean over seeds with the Student-t 95% interval over seeds in brackets.";

/// The section (nothing without such experiments).
pub fn suite(out: &mut Vec<Block>, curves: &[FractionCurve], figures: &[Rendered]) {
    if curves.is_empty() {
        return;
    }
    out.push(Block::Heading { level: 2, text: "Labelled fraction".into(), id: "labelled-fraction".into() });
    out.push(Block::Paragraph(Text::plain(EXPLANATION)));
    for c in curves {
        out.push(Block::Heading {
            level: 3,
            text: Text::new().t("Dataset ").c(&c.dataset).t(", partly labelled task ").c(&c.task),
            id: format!("fraction-{}-{}", c.dataset, c.task),
        });
        out.push(Block::Paragraph(Text::plain(format!("Experiments, by fraction: {}.", c.experiments.join(", ")))));
        let mut header = vec!["task".to_string(), "metric".into(), "design".into()];
        header.extend(c.fractions.iter().map(|f| format!("f = {}", num(*f, 2))));
        let rows = c
            .rows
            .iter()
            .map(|r| {
                let mut cells = vec![Cell::new(r.task.clone()), Cell::new(r.metric.clone()), Cell::new(r.combo.clone())];
                cells.extend(r.cells.iter().map(|v| match v {
                    Some(v) => Cell { sub: interval(v.ci, 3), ..Cell::new(num(v.mean, 3)) },
                    None => Cell::new("–"),
                }));
                cells
            })
            .collect();
        let columns = 3 + c.fractions.len();
        out.push(Block::Table(Table { header, numeric: (0..columns).map(|k| k >= 3).collect(), rows }));
        let kind = FigureKind::Fraction { dataset: c.dataset.clone(), task: c.task.clone() };
        if let Some(f) = figure(figures, "", &kind) {
            out.push(Block::Figure(f));
        }
    }
}
