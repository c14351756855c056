//! Δm per design x weighting: horizontal bars (mean over seeds) with the Student-t 95% CI
//! across seeds and each seed's value as a dot; bars read against the STL line at 0.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{err, Ctx, Figure};
use crate::report::model::ExperimentReport;
use crate::report::palette;

pub struct DeltaMFigure {
    labels: Vec<String>,
    colors: Vec<usize>,
    means: Vec<f64>,
    cis: Vec<(f64, f64)>,
    seeds: Vec<Vec<f64>>,
    experiment: String,
}

impl DeltaMFigure {
    pub fn new(exp: &ExperimentReport) -> Option<Self> {
        let rows: Vec<_> = exp.delta_m.rows.iter().filter(|r| r.summary.mean.is_finite()).collect();
        if rows.is_empty() {
            return None;
        }
        Some(DeltaMFigure {
            labels: rows.iter().map(|r| exp.combos[r.combo].label()).collect(),
            colors: rows.iter().map(|r| r.combo).collect(),
            means: rows.iter().map(|r| r.summary.mean).collect(),
            cis: rows.iter().map(|r| r.ci).collect(),
            seeds: rows.iter().map(|r| r.per_seed.iter().map(|(_, d)| *d).filter(|d| d.is_finite()).collect()).collect(),
            experiment: exp.name.clone(),
        })
    }

    pub fn title(&self) -> String {
        format!("Δm against STL, experiment {}", self.experiment)
    }

    pub fn caption(&self) -> String {
        "Multi-task performance change against the single-task baselines (%, positive = better than STL). Bars: mean over \
         seeds; whiskers: Student-t 95% CI across seeds (absent with one seed); dots: individual seeds."
            .into()
    }
}

impl Figure for DeltaMFigure {
    fn size(&self) -> (u32, u32) {
        (860, 110 + 40 * self.labels.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
        let n = self.labels.len();
        let values = self.means.iter().copied().chain(self.cis.iter().flat_map(|c| [c.0, c.1])).chain(self.seeds.iter().flatten().copied());
        let (lo, hi) = values.filter(|v| v.is_finite()).fold((0.0f64, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
        let pad = ((hi - lo) * 0.08).max(0.5);
        let body = ctx.body();
        let label_width =
            self.labels.iter().map(|l| root.estimate_text_size(l, &body).map(|(w, _)| w).unwrap_or(0)).max().unwrap_or(0) + ctx.upx(16.0);
        let xd = super::tick_decimals(lo - pad, hi + pad, 8);
        let mut chart = ChartBuilder::on(root)
            .margin(ctx.upx(12.0))
            .margin_right(ctx.upx(24.0))
            .x_label_area_size(ctx.upx(46.0))
            .y_label_area_size(label_width)
            .build_cartesian_2d((lo - pad)..(hi + pad), -0.5f64..(n as f64 - 0.5))
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("Δm against STL (%)  —  positive = better")
            .x_labels(8)
            .x_label_formatter(&|v| if v.abs() < 1e-9 { "0".to_owned() } else { format!("{v:+.xd$}") })
            .label_style(body.clone())
            .axis_desc_style(ctx.axis())
            .light_line_style(palette::LIGHT_GREY)
            .bold_line_style(palette::LIGHT_GREY)
            .draw()
            .map_err(err)?;
        // Rows from the top in table order.
        let y = |i: usize| (n - 1 - i) as f64;
        for i in 0..n {
            let color = palette::series(self.colors[i]);
            chart
                .draw_series(std::iter::once(Rectangle::new([(0.0, y(i) - 0.3), (self.means[i], y(i) + 0.3)], color.mix(0.75).filled())))
                .map_err(err)?;
            let (a, b) = self.cis[i];
            if a.is_finite() && b.is_finite() {
                let style = ctx.stroke(1.6, palette::BLACK);
                chart.draw_series(std::iter::once(PathElement::new(vec![(a, y(i)), (b, y(i))], style))).map_err(err)?;
                for v in [a, b] {
                    chart.draw_series(std::iter::once(PathElement::new(vec![(v, y(i) - 0.15), (v, y(i) + 0.15)], style))).map_err(err)?;
                }
            }
            for &s in &self.seeds[i] {
                chart.draw_series(std::iter::once(Circle::new((s, y(i)), ctx.px(3.0), palette::BLACK.filled()))).map_err(err)?;
            }
            let (px, py) = chart.backend_coord(&(lo - pad, y(i)));
            let style = body.clone().pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(self.labels[i].clone(), (px - ctx.px(8.0), py), style)).map_err(err)?;
        }
        chart
            .draw_series(std::iter::once(PathElement::new(vec![(0.0, -0.5), (0.0, n as f64 - 0.5)], ctx.stroke(1.5, palette::BLACK))))
            .map_err(err)?;
        let (zx, zy) = chart.backend_coord(&(0.0, n as f64 - 0.5));
        root.draw(&Text::new("STL", (zx + ctx.px(4.0), zy + ctx.px(2.0)), ctx.text(12.0, palette::BLACK))).map_err(err)?;
        Ok(())
    }
}
