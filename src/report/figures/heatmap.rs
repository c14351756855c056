//! Rank agreement: Kendall's τ-b between the rankings of the combos under every pair of
//! (task, metric), as a heatmap on a diverging blue (agree) – white – vermillion
//! (reversed) scale, grey where undefined.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{err, Ctx, Figure};
use crate::report::model::ExperimentReport;
use crate::report::palette;

pub struct HeatmapFigure {
    labels: Vec<String>,
    tau: Vec<Vec<f64>>,
    experiment: String,
    combos: usize,
    /// The rankings are the papers' headline metrics (and Δm), not every metric.
    literature: bool,
}

impl HeatmapFigure {
    pub fn new(exp: &ExperimentReport) -> Option<Self> {
        let a = &exp.agreement;
        if a.labels.len() < 2 || exp.combos.len() < 2 {
            return None;
        }
        Some(HeatmapFigure {
            labels: a.labels.clone(),
            tau: a.tau.clone(),
            experiment: exp.name.clone(),
            combos: exp.combos.len(),
            literature: false,
        })
    }

    /// The agreement between the rankings by each paper's headline metric and by Δm.
    pub fn literature(exp: &ExperimentReport) -> Option<Self> {
        let a = &exp.literature.variability;
        if a.labels.len() < 2 || exp.combos.len() < 2 {
            return None;
        }
        Some(HeatmapFigure {
            labels: a.labels.clone(),
            tau: a.tau.clone(),
            experiment: exp.name.clone(),
            combos: exp.combos.len(),
            literature: true,
        })
    }

    pub fn title(&self) -> String {
        if self.literature {
            return format!("Rankings by each paper's headline metric vs Δm, experiment {}", self.experiment);
        }
        format!("Rank agreement between metrics, experiment {}", self.experiment)
    }

    pub fn caption(&self) -> String {
        if self.literature {
            return format!(
                "Kendall's τ-b between the rankings of the {} combos when each re-implemented paper's headline metric decides \
                 (rows and columns in the order of the table above, the last the uniform Δm). Blue: same order; vermillion: \
                 reversed: which design looks best depends on the metric a paper chose.",
                self.combos
            );
        }
        let mut text = format!(
            "Kendall's τ-b between the rankings of the {} design × weighting combos under each pair of (task, metric) \
             rankings R1–R{} (listed in the report). Blue: same order (+1); vermillion: reversed (−1); grey: undefined \
             (a ranking with every combo tied).",
            self.combos,
            self.labels.len()
        );
        if self.combos == 2 {
            text.push_str(" With two combos every τ is +1 or −1: it only says whether two metrics pick the same winner.");
        }
        text
    }

    fn cell(&self) -> f64 {
        (800.0 / self.labels.len() as f64).clamp(22.0, 46.0)
    }

    fn label_width(&self) -> f64 {
        // DejaVu Sans at 12 px: about 7 px per character.
        let longest = self.labels.iter().enumerate().map(|(i, l)| format!("R{}  {l}", i + 1).chars().count()).max().unwrap_or(0);
        (longest as f64 * 8.6 + 16.0).max(80.0)
    }
}

impl Figure for HeatmapFigure {
    fn size(&self) -> (u32, u32) {
        let n = self.labels.len() as f64;
        let w = self.label_width() + n * self.cell() + 110.0;
        let h = 46.0 + n * self.cell() + 24.0;
        (w.ceil() as u32, h.ceil() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
        let n = self.labels.len();
        let cell = self.cell();
        let (left, top) = (self.label_width(), 46.0);
        let small = cell < 26.0;
        let label_style = ctx.text(if small { 12.0 } else { 13.0 }, palette::BLACK);
        let value_size = (cell * 0.33).clamp(10.0, 12.5);
        for (i, row) in self.tau.iter().enumerate() {
            let y = top + i as f64 * cell;
            let text = format!("R{}  {}", i + 1, self.labels[i]);
            root.draw(&Text::new(
                text,
                (ctx.px(left - 8.0), ctx.px(y + cell / 2.0)),
                ctx.text(14.0, palette::BLACK).pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(err)?;
            for (j, &v) in row.iter().enumerate() {
                let x = left + j as f64 * cell;
                let color = palette::diverging(v);
                root.draw(&Rectangle::new([(ctx.px(x), ctx.px(y)), (ctx.px(x + cell), ctx.px(y + cell))], color.filled())).map_err(err)?;
                if cell >= 30.0 && v.is_finite() {
                    let style = ctx.text(value_size, palette::text_on(color)).pos(Pos::new(HPos::Center, VPos::Center));
                    root.draw(&Text::new(format!("{v:.2}"), (ctx.px(x + cell / 2.0), ctx.px(y + cell / 2.0)), style)).map_err(err)?;
                }
            }
        }
        for j in 0..n {
            let x = left + j as f64 * cell + cell / 2.0;
            let style = label_style.clone().pos(Pos::new(HPos::Center, VPos::Bottom));
            // Every label when they fit, else every other one.
            if !small || j % 2 == 0 {
                root.draw(&Text::new(format!("R{}", j + 1), (ctx.px(x), ctx.px(top - 6.0)), style)).map_err(err)?;
            }
        }
        root.draw(&Rectangle::new(
            [(ctx.px(left), ctx.px(top)), (ctx.px(left + n as f64 * cell), ctx.px(top + n as f64 * cell))],
            ctx.stroke(1.0, palette::GREY),
        ))
        .map_err(err)?;
        // Colour bar.
        let bx = left + n as f64 * cell + 24.0;
        let bh = (n as f64 * cell).min(260.0);
        let steps = 100;
        for k in 0..steps {
            let v = 1.0 - 2.0 * k as f64 / (steps - 1) as f64;
            let y = top + bh * k as f64 / steps as f64;
            root.draw(&Rectangle::new(
                [(ctx.px(bx), ctx.px(y)), (ctx.px(bx + 16.0), ctx.px(y + bh / steps as f64) + 1)],
                palette::diverging(v).filled(),
            ))
            .map_err(err)?;
        }
        root.draw(&Rectangle::new([(ctx.px(bx), ctx.px(top)), (ctx.px(bx + 16.0), ctx.px(top + bh))], ctx.stroke(1.0, palette::GREY)))
            .map_err(err)?;
        for (v, label) in [(1.0, "+1"), (0.0, "0"), (-1.0, "−1")] {
            let y = top + bh * (1.0 - v) / 2.0;
            let style = ctx.body().pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new(label, (ctx.px(bx + 22.0), ctx.px(y)), style)).map_err(err)?;
        }
        root.draw(&Text::new("τ-b", (ctx.px(bx), ctx.px(top - 22.0)), ctx.body())).map_err(err)?;
        Ok(())
    }
}
