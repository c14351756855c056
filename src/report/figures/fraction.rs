//! Learning curves against the labelled fraction: for experiments that differ only in the
//! fraction of training patients labelled for one task, each main task's primary metric per
//! design against that fraction, with the seeds' 95% interval as error bars. The table of
//! the "Labelled fraction" section holds the numbers; the figure shows at a glance whether a
//! multi-task design degrades more gently than STL as labels get scarce.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_marker, draw_mesh, err, legend, relative, series_line, tick_decimals, Ctx, Figure};
use crate::report::model::{FractionCurve, FractionRow};
use crate::report::palette;

pub struct FractionFigure<'a> {
    curve: &'a FractionCurve,
    /// The main tasks, one panel each, in the table's order.
    tasks: Vec<String>,
    /// Designs in the table's order; the index is the palette entry.
    legend: Vec<(usize, String)>,
}

const PANEL_W: u32 = 470;
const PANEL_H: u32 = 340;

impl<'a> FractionFigure<'a> {
    pub fn new(curve: &'a FractionCurve) -> Option<Self> {
        let any_value = curve.rows.iter().flat_map(|r| &r.cells).any(|c| c.is_some_and(|c| c.mean.is_finite()));
        if !any_value || curve.fractions.len() < 2 {
            return None;
        }
        let mut tasks: Vec<String> = Vec::new();
        let mut legend: Vec<(usize, String)> = Vec::new();
        for r in &curve.rows {
            if !tasks.contains(&r.task) {
                tasks.push(r.task.clone());
            }
            if !legend.iter().any(|(_, l)| *l == r.combo) {
                legend.push((legend.len(), r.combo.clone()));
            }
        }
        Some(FractionFigure { curve, tasks, legend })
    }

    pub fn title(&self) -> String {
        format!("Metric against the labelled fraction of task {}, dataset {}", self.curve.task, self.curve.dataset)
    }

    pub fn caption(&self) -> String {
        format!(
            "Each main task's primary test metric against the fraction f of training patients labelled for task {} \
             (experiments {}). Points: mean over seeds; bars: Student-t 95% interval over seeds (points are shifted \
             sideways a little so the bars do not overlap); the fraction axis is logarithmic.",
            self.curve.task,
            self.curve.experiments.join(", ")
        )
    }

    fn color_of(&self, combo: &str) -> usize {
        self.legend.iter().find(|(_, l)| l == combo).map_or(0, |(i, _)| *i)
    }
}

impl Figure for FractionFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let legend_rows = (self.legend.len() as u32).div_ceil(5);
        (PANEL_W * self.tasks.len().max(1) as u32, PANEL_H + 26 + 22 * legend_rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
        let (w, _) = self.size();
        let used = legend(root, ctx, &self.legend, 16.0, 8.0, w as f64 - 32.0, true)?;
        let (_, bottom) = root.split_vertically(ctx.px(used + 16.0));
        let areas = bottom.split_evenly((1, self.tasks.len().max(1)));
        for (task, area) in self.tasks.iter().zip(&areas) {
            let rows: Vec<&FractionRow> = self.curve.rows.iter().filter(|r| &r.task == task).collect();
            self.panel(task, &rows, area, ctx)?;
        }
        Ok(())
    }
}

impl FractionFigure<'_> {
    fn panel<DB: DrawingBackend>(&self, task: &str, rows: &[&FractionRow], area: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
        let fractions = &self.curve.fractions;
        // Fractions are roughly geometric (1, 0.5, 0.25, 0.1), so the x axis is logarithmic
        // and the sideways shift per design is a share of the smallest ratio between them.
        let mut sorted: Vec<f64> = fractions.iter().copied().filter(|f| *f > 0.0).collect();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return Ok(());
        }
        let gap = sorted.windows(2).map(|w| (w[1] / w[0]).ln()).fold(f64::INFINITY, f64::min);
        let gap = if gap.is_finite() && gap > 0.0 { gap.min(1.0) } else { 0.5 };
        let dodge = gap * 0.3 / rows.len().max(1) as f64;
        let shift = |k: usize| ((k as f64 - (rows.len() as f64 - 1.0) / 2.0) * dodge).exp();
        let cap = (dodge * 0.35).exp();

        let extents: Vec<f64> =
            rows.iter().flat_map(|r| r.cells.iter().flatten()).flat_map(|c| [c.mean, c.ci.0, c.ci.1]).filter(|v| v.is_finite()).collect();
        if extents.is_empty() {
            return Ok(());
        }
        let (y0, y1) = extents.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        let yp = ((y1 - y0) * 0.08).max(1e-3);
        let margin = (gap * 0.5).exp();
        let (x0, x1) = (sorted[0] / margin, sorted[sorted.len() - 1] * margin);
        let metric = rows.first().map(|r| r.metric.as_str()).unwrap_or("");
        let yd = tick_decimals(y0 - yp, y1 + yp, 6);
        let mut chart = ChartBuilder::on(area)
            .margin(ctx.upx(10.0))
            .margin_right(ctx.upx(20.0))
            .caption(format!("task {task}: test {metric}"), ctx.title())
            .x_label_area_size(ctx.upx(44.0))
            .y_label_area_size(ctx.upx(62.0))
            .build_cartesian_2d((x0..x1).log_scale().with_key_points(sorted.clone()), (y0 - yp)..(y1 + yp))
            .map_err(err)?;
        draw_mesh(
            chart
                .configure_mesh()
                .x_desc(format!("labelled fraction f of task {}", self.curve.task))
                .y_desc(metric)
                .x_labels(sorted.len())
                .y_labels(6)
                .x_label_formatter(&|v| format!("{}", (v * 1000.0).round() / 1000.0))
                .y_label_formatter(&|v| format!("{v:.yd$}")),
            ctx,
        )?;
        for (k, row) in rows.iter().enumerate() {
            let i = self.color_of(&row.combo);
            let color = palette::series(i);
            let points: Vec<(f64, f64, (f64, f64))> = fractions
                .iter()
                .zip(&row.cells)
                .filter_map(|(f, c)| c.filter(|c| c.mean.is_finite()).map(|c| (f * shift(k), c.mean, c.ci)))
                .collect();
            series_line(&mut chart, ctx, i, &points.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>())?;
            for &(x, y, (lo, hi)) in &points {
                if lo.is_finite() && hi.is_finite() {
                    chart
                        .draw_series([
                            PathElement::new(vec![(x, lo), (x, hi)], ctx.stroke(1.5, color)),
                            PathElement::new(vec![(x / cap, lo), (x * cap, lo)], ctx.stroke(1.5, color)),
                            PathElement::new(vec![(x / cap, hi), (x * cap, hi)], ctx.stroke(1.5, color)),
                        ])
                        .map_err(err)?;
                }
                let at = relative(area, chart.backend_coord(&(x, y)));
                draw_marker(area, ctx, palette::marker(i), at, 4.5, color, true)?;
            }
        }
        Ok(())
    }
}
