//! The "Task relatedness" blocks of an experiment and the suite's "Relatedness and MTL gain"
//! section (Markdown and HTML; CSV exports the same model).

use super::doc::{Block, Cell as DocCell, FigureRef, Table, Text};
use super::format::{interval, num, signed};
use super::model::{ExperimentReport, SuiteRelatedness};

/// Right-aligns the columns from `from` on.
fn numeric_from(columns: usize, from: usize) -> Vec<bool> {
    (0..columns).map(|c| c >= from).collect()
}

fn value(v: f64, decimals: usize) -> DocCell {
    if v.is_finite() {
        num(v, decimals).into()
    } else {
        "–".into()
    }
}

/// The experiment's subsection (nothing with a single task).
pub fn experiment(out: &mut Vec<Block>, exp: &ExperimentReport, id: &str, weights_figure: Option<FigureRef>) {
    let r = &exp.relatedness;
    if r.pairs.is_empty() {
        return;
    }
    out.push(Block::Heading { level: 3, text: "Task relatedness".into(), id: format!("{id}-relatedness") });
    out.push(Block::Paragraph(Text::plain(format!(
        "Gradient relatedness on the shared parameters during training: the cosine of two tasks' loss gradients \
         (1: they pull the shared weights the same way, < 0: in conflict), the fraction of measured steps in conflict, \
         the median norm ratio |g_a| / |g_b|, and, where the suite asks for it, the lookahead affinity Z(a→b) of Fifty et \
         al. (2021): the relative drop of b's loss after a step on a's loss alone (positive: a helps b). Measured on \
         every step where the weighting computes per-task gradients, else every {}th step; mean over epochs and seeds. \
         Designs without shared parameters (STL) have no gradient relatedness.",
        crate::train::PROBE_EVERY
    ))));
    if !r.gradient.is_empty() {
        let mut rows = Vec::new();
        for g in &r.gradient {
            let (a, b) = &r.pairs[g.pair];
            rows.push(vec![
                exp.combos[g.combo].label().into(),
                format!("{a} – {b}").into(),
                value(g.cos, 3),
                value(g.conflict, 3),
                value(g.norm_ratio, 2),
                value(g.affinity_ab, 4),
                value(g.affinity_ba, 4),
                num(g.steps, 0).into(),
            ]);
        }
        out.push(Block::Table(Table {
            numeric: numeric_from(8, 2),
            header: ["combo", "pair a – b", "cosine", "conflict", "|g_a|/|g_b|", "Z(a→b)", "Z(b→a)", "steps"].map(String::from).to_vec(),
            rows,
        }));
    }
    if !r.cka.is_empty() {
        out.push(Block::Paragraph(Text::plain(
            "Representation similarity: linear CKA (Kornblith et al., 2019) between the separately trained STL networks \
             of each task pair at each encoder stage, on the first 256 test images (1: the same features up to rotation \
             and scale).",
        )));
        let stages = r.cka.iter().map(|c| c.stage).max().unwrap_or(0);
        let mut header = vec!["pair a – b".to_owned()];
        header.extend((1..=stages).map(|s| format!("stage {s}")));
        let rows = (0..r.pairs.len())
            .filter(|p| r.cka.iter().any(|c| c.pair == *p))
            .map(|p| {
                let mut row: Vec<DocCell> = vec![format!("{} – {}", r.pairs[p].0, r.pairs[p].1).into()];
                row.extend(
                    (1..=stages)
                        .map(|s| r.cka.iter().find(|c| c.pair == p && c.stage == s).map_or_else(|| "–".into(), |c| value(c.cka, 3))),
                );
                row
            })
            .collect();
        out.push(Block::Table(Table { numeric: numeric_from(header.len(), 1), header, rows }));
    }
    if !r.gains.is_empty() {
        out.push(Block::Paragraph(Text::plain(
            "MTL gain per task: the relative change of the task's primary metric against STL's mean, per seed, in % \
             (positive = better than STL), mean with its Student-t 95% CI across seeds, beside the task's gradient \
             cosine with its partners and the affinity from them onto it. A negative gain is negative transfer.",
        )));
        let rows = r
            .gains
            .iter()
            .map(|g| {
                vec![
                    exp.combos[g.combo].label().into(),
                    g.task.clone().into(),
                    g.metric.clone().into(),
                    DocCell { text: signed(g.gain, 2), sub: interval(g.ci, 2), bold: false, mark: "" },
                    value(g.cos, 3),
                    value(g.affinity, 4),
                ]
            })
            .collect();
        out.push(Block::Table(Table {
            numeric: numeric_from(6, 3),
            header: ["combo", "task", "metric", "gain % [95% CI]", "cosine", "affinity onto task"].map(String::from).to_vec(),
            rows,
        }));
    }
    if let Some(f) = weights_figure {
        out.push(Block::Figure(f));
    }
}

/// The suite's section: does relatedness predict gain, and the dial (nothing without points).
pub fn suite(out: &mut Vec<Block>, s: &SuiteRelatedness, gain_figure: Option<FigureRef>, dial_figure: Option<FigureRef>) {
    if s.points.is_empty() && s.dial.is_empty() {
        return;
    }
    out.push(Block::Heading { level: 2, text: "Relatedness and MTL gain".into(), id: "relatedness-gain".into() });
    if !s.points.is_empty() {
        let rho = if s.rho.is_finite() {
            format!(
                "Spearman's ρ between a task's gradient cosine and its gain over the {} (experiment, combo, task) points: {} \
                 (percentile bootstrap 95% CI {} over {} resamples of the points).",
                s.points.len(),
                num(s.rho, 2),
                interval(s.rho_ci, 2).unwrap_or_else(|| "–".into()),
                s.resamples
            )
        } else {
            format!("{} points: too few for a rank correlation.", s.points.len())
        };
        out.push(Block::Paragraph(Text::plain(format!(
            "Does relatedness predict gain? Every MTL combo's gain on every task (relative change of the primary metric \
             against STL, %) against the task's mean gradient cosine with its partners under that combo. {rho} A ρ whose \
             CI excludes 0 says relatedness, as measured during training, orders the gains; points are not independent \
             (tasks of one experiment share STL baselines), so read the CI as optimistic."
        ))));
        if let Some(f) = gain_figure {
            out.push(Block::Figure(f));
        }
    }
    if !s.dial.is_empty() {
        out.push(Block::Paragraph(Text::plain(
            "The relatedness dial: phantom experiments whose two tasks depend on the same image feature with probability \
             ρ (else on an independent feature of the same difficulty). Δm (mean over seeds, Student-t 95% CI) and the \
             mean gradient cosine per combo and ρ; negative transfer starts where Δm falls below 0.",
        )));
        let rows = s
            .dial
            .iter()
            .map(|p| {
                vec![
                    p.combo.clone().into(),
                    num(p.rho, 2).into(),
                    p.experiment.clone().into(),
                    DocCell { text: signed(p.delta_m, 2), sub: interval(p.delta_m_ci, 2), bold: false, mark: "" },
                    value(p.cos, 3),
                ]
            })
            .collect();
        out.push(Block::Table(Table {
            numeric: numeric_from(5, 3),
            header: ["combo", "ρ", "experiment", "Δm % [95% CI]", "cosine"].map(String::from).to_vec(),
            rows,
        }));
        if let Some(f) = dial_figure {
            out.push(Block::Figure(f));
        }
    }
}
