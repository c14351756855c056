//! Training curves: per task, the mean training loss and the validation primary metric per
//! epoch, one line per design x weighting (mean over seeds); a marker shows the mean epoch
//! whose weights were kept.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_marker, draw_mesh, err, legend, relative, series_line, tick_decimals, Ctx, Figure};
use crate::report::model::{ExperimentReport, TaskCurves};
use crate::report::palette;

pub struct CurvesFigure {
    tasks: Vec<TaskCurves>,
    legend: Vec<(usize, String)>,
    experiment: String,
}

const PANEL_W: u32 = 520;
const PANEL_H: u32 = 290;

impl CurvesFigure {
    pub fn new(exp: &ExperimentReport) -> Option<Self> {
        let tasks: Vec<TaskCurves> = exp.curves.iter().filter(|t| !t.series.is_empty()).cloned().collect();
        if tasks.is_empty() {
            return None;
        }
        let mut legend: Vec<(usize, String)> = Vec::new();
        for s in tasks.iter().flat_map(|t| &t.series) {
            if !legend.iter().any(|(c, _)| *c == s.combo) {
                legend.push((s.combo, exp.combos[s.combo].label()));
            }
        }
        legend.sort();
        Some(CurvesFigure { tasks, legend, experiment: exp.name.clone() })
    }

    pub fn title(&self) -> String {
        format!("Training curves, experiment {}", self.experiment)
    }

    pub fn caption(&self) -> String {
        "Left: mean training loss of each task per epoch (the task's own loss, before weighting). Right: the validation \
         primary metric per epoch. Lines: mean over seeds; markers: the mean epoch whose weights were kept (selected on \
         validation)."
            .into()
    }
}

impl Figure for CurvesFigure {
    fn size(&self) -> (u32, u32) {
        let legend_rows = (self.legend.len() as u32).div_ceil(5);
        (2 * PANEL_W, PANEL_H * self.tasks.len() as u32 + 26 + 22 * legend_rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
        let (w, _) = self.size();
        let used = legend(root, ctx, &self.legend, 16.0, 8.0, w as f64 - 32.0, true)?;
        let (_, bottom) = root.split_vertically(ctx.px(used + 16.0));
        let areas = bottom.split_evenly((self.tasks.len(), 2));
        for (t, task) in self.tasks.iter().enumerate() {
            panel(task, &areas[2 * t], ctx, true)?;
            panel(task, &areas[2 * t + 1], ctx, false)?;
        }
        Ok(())
    }
}

fn panel<DB: DrawingBackend>(task: &TaskCurves, area: &DrawingArea<DB, Shift>, ctx: Ctx, loss: bool) -> Result<(), String> {
    let value = |s: &crate::report::model::CurveSeries| -> Vec<(f64, f64)> {
        let ys = if loss { &s.train_loss } else { &s.val_primary };
        s.epochs.iter().zip(ys).filter(|(_, y)| y.is_finite()).map(|(&e, &y)| (e as f64, y)).collect()
    };
    let all: Vec<(f64, f64)> = task.series.iter().flat_map(value).collect();
    if all.is_empty() {
        return Ok(());
    }
    let (x0, x1) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.0), h.max(p.0)));
    let (y0, y1) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.1), h.max(p.1)));
    let yp = ((y1 - y0) * 0.08).max(1e-3);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let title =
        if loss { format!("task {}: training loss", task.task) } else { format!("task {}: validation {}", task.task, task.val_metric) };
    let yd = tick_decimals(y0 - yp, y1 + yp, 6);
    let mut chart = ChartBuilder::on(area)
        .margin(ctx.upx(10.0))
        .margin_right(ctx.upx(20.0))
        .caption(title, ctx.title())
        .x_label_area_size(ctx.upx(40.0))
        .y_label_area_size(ctx.upx(62.0))
        .build_cartesian_2d(x0..x1, (y0 - yp)..(y1 + yp))
        .map_err(err)?;
    let integer_epochs = x1 - x0 <= 12.0;
    draw_mesh(
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(if loss { "loss" } else { task.val_metric.as_str() })
            .x_labels(if integer_epochs { (x1 - x0) as usize + 1 } else { 10 })
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.yd$}")),
        ctx,
    )?;
    for s in &task.series {
        let color = palette::series(s.combo);
        let points = value(s);
        series_line(&mut chart, ctx, s.combo, &points)?;
        if s.selected_epoch.is_finite() {
            // The curve's value at the (mean) selected epoch, interpolated.
            let e = s.selected_epoch;
            let y = points.windows(2).find(|w| w[0].0 <= e && e <= w[1].0).map(|w| {
                let t = if w[1].0 > w[0].0 { (e - w[0].0) / (w[1].0 - w[0].0) } else { 0.0 };
                w[0].1 + t * (w[1].1 - w[0].1)
            });
            let y = y.or_else(|| points.iter().find(|p| p.0 == e).map(|p| p.1));
            if let Some(y) = y {
                let at = relative(area, chart.backend_coord(&(e, y)));
                draw_marker(area, ctx, palette::marker(s.combo), at, 4.5, color, true)?;
            }
        }
    }
    Ok(())
}
