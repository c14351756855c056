//! Accuracy against throughput: per task, the primary metric against training images/s,
//! mean ± std over seeds on both axes, with the Pareto front (no other combo is at least as
//! accurate and as fast, and better in one) ringed and joined.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_marker, draw_mesh, err, legend, relative, tick_decimals, Ctx, Figure};
use crate::report::model::ExperimentReport;
use crate::report::palette;

struct Point {
    combo: usize,
    x: f64,
    x_std: f64,
    y: f64,
    y_std: f64,
}

struct Panel {
    task: String,
    metric: String,
    points: Vec<Point>,
    front: Vec<usize>,
}

pub struct ParetoFigure {
    panels: Vec<Panel>,
    legend: Vec<(usize, String)>,
    experiment: String,
}

const PANEL_W: u32 = 520;
const PANEL_H: u32 = 380;

/// Indices of the points no other point dominates (higher is better on both axes).
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| {
            let (xi, yi) = points[i];
            !points.iter().enumerate().any(|(j, &(xj, yj))| j != i && xj >= xi && yj >= yi && (xj > xi || yj > yi))
        })
        .collect()
}

impl ParetoFigure {
    pub fn new(exp: &ExperimentReport) -> Option<Self> {
        let mut panels = Vec::new();
        for task in &exp.tasks {
            let Some(col) = task.columns.iter().find(|c| c.metric == task.primary) else { continue };
            let points: Vec<Point> = exp
                .cost
                .iter()
                .filter_map(|cost| {
                    let cell = col.cells[cost.combo].as_ref()?;
                    (cell.summary.mean.is_finite() && cost.train_images_per_sec.mean.is_finite()).then_some(Point {
                        combo: cost.combo,
                        x: cost.train_images_per_sec.mean,
                        x_std: cost.train_images_per_sec.std,
                        y: cell.summary.mean,
                        y_std: cell.summary.std,
                    })
                })
                .collect();
            if points.len() < 2 {
                continue;
            }
            let front = pareto_front(&points.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>());
            panels.push(Panel { task: task.name.clone(), metric: task.primary.clone(), points, front });
        }
        if panels.is_empty() {
            return None;
        }
        let legend = exp.cost.iter().map(|c| (c.combo, exp.combos[c.combo].label())).collect();
        Some(ParetoFigure { panels, legend, experiment: exp.name.clone() })
    }

    pub fn title(&self) -> String {
        format!("Accuracy against training throughput, experiment {}", self.experiment)
    }

    pub fn caption(&self) -> String {
        "Each task's primary metric on the test set against training throughput (images/s of this machine), mean ± std \
         over seeds on both axes. Ringed points joined by the dashed line form the Pareto front: no other combo is both \
         at least as accurate and at least as fast. STL trains one network per task, so its throughput counts every \
         task's network."
            .into()
    }

    fn columns(&self) -> u32 {
        self.panels.len().min(2) as u32
    }
}

impl Figure for ParetoFigure {
    fn size(&self) -> (u32, u32) {
        let rows = (self.panels.len() as u32).div_ceil(self.columns());
        let legend_rows = (self.legend.len() as u32).div_ceil(4);
        (PANEL_W * self.columns(), PANEL_H * rows + 26 + 22 * legend_rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
        let (w, _) = self.size();
        let used = legend(root, ctx, &self.legend, 16.0, 8.0, w as f64 - 32.0, false)?;
        let (_, bottom) = root.split_vertically(ctx.px(used + 16.0));
        let cols = self.columns() as usize;
        let rows = self.panels.len().div_ceil(cols);
        let areas = bottom.split_evenly((rows, cols));
        for (panel, area) in self.panels.iter().zip(areas) {
            draw_panel(panel, &area, ctx)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(panel: &Panel, area: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
    let span = |v: &mut dyn Iterator<Item = f64>| {
        v.filter(|x| x.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| (l.min(x), h.max(x)))
    };
    let (x0, x1) = span(&mut panel.points.iter().flat_map(|p| [p.x - p.x_std, p.x + p.x_std]));
    let (y0, y1) = span(&mut panel.points.iter().flat_map(|p| [p.y - p.y_std, p.y + p.y_std]));
    let xp = ((x1 - x0) * 0.12).max(x1.abs() * 0.02).max(1.0);
    let yp = ((y1 - y0) * 0.12).max(y1.abs() * 0.01).max(1e-3);
    let yd = tick_decimals(y0 - yp, y1 + yp, 6);
    let mut chart = ChartBuilder::on(area)
        .margin(ctx.upx(10.0))
        .margin_right(ctx.upx(22.0))
        .caption(format!("task {}", panel.task), ctx.title())
        .x_label_area_size(ctx.upx(40.0))
        .y_label_area_size(ctx.upx(64.0))
        .build_cartesian_2d((x0 - xp).max(0.0)..(x1 + xp), (y0 - yp)..(y1 + yp))
        .map_err(err)?;
    draw_mesh(
        chart
            .configure_mesh()
            .x_desc("training throughput (images/s)")
            .y_desc(format!("{} (test)", panel.metric))
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.yd$}")),
        ctx,
    )?;
    let mut front: Vec<&Point> = panel.front.iter().map(|&i| &panel.points[i]).collect();
    front.sort_by(|a, b| a.x.total_cmp(&b.x));
    if front.len() > 1 {
        chart
            .draw_series(DashedLineSeries::new(front.iter().map(|p| (p.x, p.y)), ctx.px(6.0), ctx.px(4.0), ctx.stroke(1.5, palette::GREY)))
            .map_err(err)?;
    }
    for p in &panel.points {
        let color = palette::series(p.combo);
        let style = ctx.stroke(1.2, color);
        if p.x_std > 0.0 {
            chart.draw_series(std::iter::once(PathElement::new(vec![(p.x - p.x_std, p.y), (p.x + p.x_std, p.y)], style))).map_err(err)?;
        }
        if p.y_std > 0.0 {
            chart.draw_series(std::iter::once(PathElement::new(vec![(p.x, p.y - p.y_std), (p.x, p.y + p.y_std)], style))).map_err(err)?;
        }
    }
    for (i, p) in panel.points.iter().enumerate() {
        let at = relative(area, chart.backend_coord(&(p.x, p.y)));
        let color = palette::series(p.combo);
        draw_marker(area, ctx, palette::marker(p.combo), at, 5.0, color, true)?;
        if panel.front.contains(&i) {
            area.draw(&Circle::new(at, ctx.px(9.0), ctx.stroke(1.5, palette::BLACK))).map_err(err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::pareto_front;

    #[test]
    fn front_keeps_the_non_dominated_points() {
        // (throughput, accuracy): the third is dominated by the first.
        let points = [(100.0, 0.9), (200.0, 0.8), (90.0, 0.85), (200.0, 0.8)];
        assert_eq!(pareto_front(&points), vec![0, 1, 3]);
    }
}
