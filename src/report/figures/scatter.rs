//! Predicted against true values of a regression task on the test set (one seed), one
//! marker series per design, with the identity line: a systematic bias or a design that
//! predicts the mean for every sample shows at once, which an MAE alone hides (the change of
//! lesion area in the longitudinal suite, head circumference in HC18).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_marker, draw_mesh, err, legend, relative, tick_decimals, Ctx, Figure};
use crate::report::model::{ExperimentReport, Scatter};
use crate::report::palette;

pub struct ScatterFigure<'a> {
    scatter: &'a Scatter,
    legend: Vec<(usize, String)>,
    experiment: String,
}

impl<'a> ScatterFigure<'a> {
    pub fn new(exp: &ExperimentReport, scatter: &'a Scatter) -> Option<Self> {
        if scatter.series.iter().all(|(_, points)| points.is_empty()) {
            return None;
        }
        let legend = scatter.series.iter().map(|(c, _)| (*c, exp.combos[*c].label())).collect();
        Some(ScatterFigure { scatter, legend, experiment: exp.name.clone() })
    }

    pub fn title(&self) -> String {
        format!("Predicted vs true {}, experiment {}", self.scatter.task, self.experiment)
    }

    pub fn caption(&self) -> String {
        format!(
            "Test samples of task {} (seed {}): reference value (x) against each design's prediction (y); \
             the grey line is a perfect prediction.",
            self.scatter.task, self.scatter.seed
        )
    }
}

impl Figure for ScatterFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let legend_rows = (self.legend.len() as u32).div_ceil(4);
        (560, 500 + 22 * legend_rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
        let (w, _) = self.size();
        let used = legend(root, ctx, &self.legend, 16.0, 8.0, w as f64 - 32.0, false)?;
        let (_, area) = root.split_vertically(ctx.px(used + 12.0));
        let values: Vec<f64> =
            self.scatter.series.iter().flat_map(|(_, p)| p.iter().flat_map(|(a, b)| [*a, *b])).filter(|v| v.is_finite()).collect();
        let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        let pad = ((hi - lo) * 0.05).max(1e-3);
        let (lo, hi) = (lo - pad, hi + pad);
        let d = tick_decimals(lo, hi, 6);
        let mut chart = ChartBuilder::on(&area)
            .margin(ctx.upx(10.0))
            .margin_right(ctx.upx(20.0))
            .x_label_area_size(ctx.upx(44.0))
            .y_label_area_size(ctx.upx(62.0))
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(err)?;
        draw_mesh(
            chart
                .configure_mesh()
                .x_desc(format!("true {}", self.scatter.task))
                .y_desc(format!("predicted {}", self.scatter.task))
                .x_labels(6)
                .y_labels(6)
                .x_label_formatter(&|v| format!("{v:.d$}"))
                .y_label_formatter(&|v| format!("{v:.d$}")),
            ctx,
        )?;
        chart.draw_series(std::iter::once(PathElement::new(vec![(lo, lo), (hi, hi)], ctx.stroke(1.2, palette::GREY)))).map_err(err)?;
        for (c, points) in &self.scatter.series {
            let color = palette::series(*c);
            for &(x, y) in points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
                let at = relative(&area, chart.backend_coord(&(x, y)));
                draw_marker(&area, ctx, palette::marker(*c), at, 3.0, color, false)?;
            }
        }
        Ok(())
    }
}
