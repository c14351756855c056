//! The suite's "Pooled over folds" section (Markdown and HTML).

use super::doc::{Block, Cell, Table, Text};
use super::format::{interval, num};
use super::model::PooledTable;

/// The section, one table per dataset with pools (nothing without pools).
pub fn suite(out: &mut Vec<Block>, tables: &[PooledTable]) {
    if tables.is_empty() {
        return;
    }
    out.push(Block::Heading { level: 2, text: "Pooled over folds".into(), id: "pooled".into() });
    out.push(Block::Paragraph(Text::plain(
        "Experiments that are the folds of one cross-validation protocol (the same `pool` in the suite) pooled per design: \
         a cell is the mean over folds of each fold's mean over seeds and, in brackets, the 95% t-interval over folds \
         (mean ± t(0.975, k − 1)·s/√k), so it reflects how much the result depends on which patients are tested; \
         the folds' own values follow. Bold: best mean of the column.",
    )));
    for t in tables {
        out.push(Block::Heading { level: 3, text: Text::new().t("Dataset ").c(&t.dataset), id: format!("pooled-{}", t.dataset) });
        let mut header = vec!["pool".to_string(), "design".into(), "folds".into()];
        header.extend(t.columns.iter().map(|(task, metric, _)| format!("{task} {metric}")));
        let best: Vec<Option<f64>> = t
            .columns
            .iter()
            .enumerate()
            .map(|(c, (_, _, higher))| {
                let means = t.rows.iter().filter_map(|r| r.cells[c].as_ref().map(|v| v.mean)).filter(|v| v.is_finite());
                if *higher {
                    means.reduce(f64::max)
                } else {
                    means.reduce(f64::min)
                }
            })
            .collect();
        let rows = t
            .rows
            .iter()
            .map(|r| {
                let mut cells: Vec<Cell> = vec![Cell::new(r.pool.clone()), Cell::new(r.combo.clone()), Cell::new(r.folds.to_string())];
                for (c, value) in r.cells.iter().enumerate() {
                    cells.push(match value {
                        Some(v) => Cell {
                            text: num(v.mean, 3),
                            sub: Some(format!(
                                "{} ({})",
                                interval(v.ci, 3).unwrap_or_default(),
                                v.per_fold.iter().map(|x| num(*x, 3)).collect::<Vec<_>>().join(", ")
                            )),
                            bold: best[c] == Some(v.mean),
                            mark: "",
                        },
                        None => Cell::new("–"),
                    });
                }
                cells
            })
            .collect();
        let columns = 3 + t.columns.len();
        out.push(Block::Table(Table { header, numeric: (0..columns).map(|c| c >= 2).collect(), rows }));
    }
}
