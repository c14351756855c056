//! A task's primary metric per subgroup: one column of points per subgroup (pooled first),
//! one marker per design x weighting (mean over seeds) with its mean per-sample bootstrap
//! 95% CI, so a reader sees at a glance which subgroup each design fails on.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{draw_marker, draw_mesh, err, legend, relative, tick_decimals, Ctx, Figure};
use crate::report::model::{Cell, ExperimentReport};
use crate::report::palette;

/// A finite mean with its confidence interval.
type Point = (f64, (f64, f64));

pub struct SubgroupFigure {
    pub task: String,
    metric: String,
    higher_is_better: bool,
    /// Column labels: pooled, then each subgroup with its n.
    columns: Vec<String>,
    /// `[column][combo]`: (mean, CI) where finite.
    points: Vec<Vec<Option<Point>>>,
    legend: Vec<(usize, String)>,
    experiment: String,
}

impl SubgroupFigure {
    /// One figure per task of an experiment with subgroups (its primary metric).
    pub fn all(exp: &ExperimentReport) -> Vec<Self> {
        let Some(section) = &exp.subgroups else { return Vec::new() };
        let point = |c: &Option<Cell>| c.as_ref().filter(|c| c.summary.mean.is_finite()).map(|c| (c.summary.mean, c.ci));
        section
            .tasks
            .iter()
            .filter_map(|task| {
                let m = task.metrics.iter().find(|m| m.metric == task.primary)?;
                let mut points = vec![m.pooled.iter().map(point).collect::<Vec<_>>()];
                points.extend(m.per_group.iter().map(|g| g.iter().map(point).collect()));
                if points.iter().flatten().all(Option::is_none) {
                    return None;
                }
                let mut columns = vec!["pooled".to_owned()];
                columns.extend(section.groups.iter().map(|(g, n)| format!("{g} (n={n})")));
                Some(SubgroupFigure {
                    task: task.task.clone(),
                    metric: m.metric.clone(),
                    higher_is_better: m.higher_is_better,
                    columns,
                    points,
                    legend: exp.combos.iter().enumerate().map(|(c, combo)| (c, combo.label())).collect(),
                    experiment: exp.name.clone(),
                })
            })
            .collect()
    }

    pub fn title(&self) -> String {
        format!("{} per subgroup, task {}, experiment {}", self.metric, self.task, self.experiment)
    }

    pub fn caption(&self) -> String {
        format!(
            "Test {} ({}) of task {} on the pooled test set and on each subgroup's samples alone. Markers: mean over seeds; \
             whiskers: mean over seeds of each run's per-sample bootstrap 95% CI.",
            self.metric,
            if self.higher_is_better { "higher is better" } else { "lower is better" },
            self.task
        )
    }
}

impl Figure for SubgroupFigure {
    fn size(&self) -> (u32, u32) {
        let legend_rows = (self.legend.len() as u32).div_ceil(5);
        ((180 * self.columns.len() as u32).max(560), 380 + 22 * legend_rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
        let (w, _) = self.size();
        let used = legend(root, ctx, &self.legend, 16.0, 8.0, w as f64 - 32.0, false)?;
        let (_, area) = root.split_vertically(ctx.px(used + 12.0));
        let values: Vec<f64> =
            self.points.iter().flatten().flatten().flat_map(|(m, (a, b))| [*m, *a, *b]).filter(|v| v.is_finite()).collect();
        let (y0, y1) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        let pad = ((y1 - y0) * 0.08).max(1e-3);
        let n = self.columns.len();
        let yd = tick_decimals(y0 - pad, y1 + pad, 6);
        let mut chart = ChartBuilder::on(&area)
            .margin(ctx.upx(10.0))
            .margin_right(ctx.upx(20.0))
            .x_label_area_size(ctx.upx(44.0))
            .y_label_area_size(ctx.upx(62.0))
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), (y0 - pad)..(y1 + pad))
            .map_err(err)?;
        draw_mesh(
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc(format!("{} ({})", self.metric, if self.higher_is_better { "higher is better" } else { "lower is better" }))
                .y_labels(6)
                .y_label_formatter(&|v| format!("{v:.yd$}")),
            ctx,
        )?;
        let combos = self.legend.len().max(1);
        let offset = |c: usize| (c as f64 + 0.5) / combos as f64 * 0.7 - 0.35;
        for (col, label) in self.columns.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(col as f64, y0 - pad));
            let style = ctx.body().pos(Pos::new(HPos::Center, VPos::Top));
            area.draw(&Text::new(label.clone(), (px, py + ctx.px(8.0)), style)).map_err(err)?;
            if col > 0 {
                let x = col as f64 - 0.5;
                chart
                    .draw_series(std::iter::once(PathElement::new(vec![(x, y0 - pad), (x, y1 + pad)], ctx.stroke(1.0, palette::GREY))))
                    .map_err(err)?;
            }
            for (c, p) in self.points[col].iter().enumerate() {
                let Some((mean, (a, b))) = *p else { continue };
                let x = col as f64 + offset(c);
                let color = palette::series(c);
                if a.is_finite() && b.is_finite() {
                    chart.draw_series(std::iter::once(PathElement::new(vec![(x, a), (x, b)], ctx.stroke(1.6, color)))).map_err(err)?;
                }
                let at = relative(&area, chart.backend_coord(&(x, mean)));
                draw_marker(&area, ctx, palette::marker(c), at, 5.0, color, true)?;
            }
        }
        Ok(())
    }
}
