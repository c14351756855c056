//! Relatedness figures: the task weights each method gave per epoch (per experiment), the
//! MTL gain against gradient cosine (suite), and the relatedness dial: Δm and cosine against
//! the phantom ρ (suite). All three are panels of series, lines or points with whiskers.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_marker, draw_mesh, err, legend, relative, series_line, tick_decimals, Ctx, Figure};
use crate::report::model::{ExperimentReport, SuiteRelatedness};
use crate::report::palette;

/// A point `(x, y)` with an optional vertical whisker `(low, high)`.
type Point = (f64, f64, Option<(f64, f64)>);

/// One series on a panel: colour index and points.
struct Series {
    color: usize,
    points: Vec<Point>,
}

struct Panel {
    title: String,
    x: String,
    y: String,
    series: Vec<Series>,
    /// Draw a horizontal reference line at 0.
    zero: bool,
}

/// A grid of panels with one legend; `lines` joins each series' points.
pub struct PanelsFigure {
    panels: Vec<Panel>,
    legend: Vec<(usize, String)>,
    lines: bool,
    title: String,
    caption: String,
}

const PANEL_W: u32 = 520;
const PANEL_H: u32 = 300;

impl PanelsFigure {
    /// Task weights per epoch, one panel per task, one line per combo (mean over seeds).
    pub fn weights(exp: &ExperimentReport) -> Option<Self> {
        let r = &exp.relatedness;
        if r.weights.is_empty() {
            return None;
        }
        let mut tasks: Vec<&str> = Vec::new();
        for w in &r.weights {
            if !tasks.contains(&w.task.as_str()) {
                tasks.push(&w.task);
            }
        }
        let panels = tasks
            .iter()
            .map(|t| Panel {
                title: format!("task {t}"),
                x: "epoch".into(),
                y: "mean weight".into(),
                series: r
                    .weights
                    .iter()
                    .filter(|w| w.task == *t)
                    .map(|w| Series {
                        color: w.combo,
                        points: w.epochs.iter().zip(&w.mean).filter(|(_, m)| m.is_finite()).map(|(&e, &m)| (e as f64, m, None)).collect(),
                    })
                    .collect(),
                zero: false,
            })
            .collect();
        let mut legend: Vec<(usize, String)> = r.weights.iter().map(|w| (w.combo, exp.combos[w.combo].label())).collect();
        legend.sort();
        legend.dedup();
        Some(PanelsFigure {
            panels,
            legend,
            lines: true,
            title: format!("Task weights over training, experiment {}", exp.name),
            caption: "The weight each method gave each task, mean over the epoch's steps and over seeds (for loss-weighting \
                      methods the loss weights; for gradient methods the weights their combination implies; equal \
                      weighting is 1 throughout)."
                .into(),
        })
    }

    /// Gain per (experiment, combo, task) against gradient cosine, one colour per experiment.
    pub fn gain(s: &SuiteRelatedness) -> Option<Self> {
        if s.points.len() < 2 {
            return None;
        }
        let mut experiments: Vec<&str> = Vec::new();
        for (e, _, _) in &s.points {
            if !experiments.contains(&e.as_str()) {
                experiments.push(e);
            }
        }
        let series = experiments
            .iter()
            .enumerate()
            .map(|(i, e)| Series {
                color: i + 1,
                points: s
                    .points
                    .iter()
                    .filter(|(x, _, _)| x == e)
                    .map(|(_, _, g)| (g.cos, g.gain, Some(g.ci).filter(|c| c.0.is_finite() && c.1.is_finite())))
                    .collect(),
            })
            .collect();
        Some(PanelsFigure {
            panels: vec![Panel {
                title: "MTL gain against gradient cosine".into(),
                x: "mean gradient cosine with the partner tasks".into(),
                y: "gain vs STL (%)".into(),
                series,
                zero: true,
            }],
            legend: experiments.iter().enumerate().map(|(i, e)| (i + 1, e.to_string())).collect(),
            lines: false,
            title: "Relatedness and MTL gain".into(),
            caption: format!(
                "Each point: one MTL combo's gain on one task (relative change of its primary metric against STL, %, mean \
                 over seeds with the Student-t 95% CI) against the task's mean gradient cosine with its partners under that \
                 combo; one colour per experiment. Spearman's ρ = {:.2}.",
                s.rho
            ),
        })
    }

    /// Δm and gradient cosine against the dial's ρ, one line per combo.
    pub fn dial(s: &SuiteRelatedness) -> Option<Self> {
        if s.dial.is_empty() {
            return None;
        }
        let mut legend: Vec<(usize, String)> = s.dial.iter().map(|p| (p.color, p.combo.clone())).collect();
        legend.sort();
        legend.dedup();
        let series = |cos: bool| -> Vec<Series> {
            legend
                .iter()
                .map(|(color, label)| Series {
                    color: *color,
                    points: s
                        .dial
                        .iter()
                        .filter(|p| &p.combo == label)
                        .filter(|p| if cos { p.cos.is_finite() } else { p.delta_m.is_finite() })
                        .map(|p| {
                            if cos {
                                (p.rho, p.cos, None)
                            } else {
                                (p.rho, p.delta_m, Some(p.delta_m_ci).filter(|c| c.0.is_finite() && c.1.is_finite()))
                            }
                        })
                        .collect(),
                })
                .filter(|s| !s.points.is_empty())
                .collect()
        };
        Some(PanelsFigure {
            panels: vec![
                Panel {
                    title: "Δm against STL".into(), x: "relatedness ρ".into(), y: "Δm (%)".into(), series: series(false), zero: true
                },
                Panel {
                    title: "gradient cosine".into(),
                    x: "relatedness ρ".into(),
                    y: "mean cosine".into(),
                    series: series(true),
                    zero: true,
                },
            ],
            legend,
            lines: true,
            title: "The relatedness dial".into(),
            caption: "Left: Δm against STL (mean over seeds, Student-t 95% CI) per combo as the two phantom tasks share their \
                      feature with probability ρ; below 0 is negative transfer. Right: the mean gradient cosine of the two \
                      tasks on the shared parameters (STL has none)."
                .into(),
        })
    }

    pub fn title(&self) -> String {
        self.title.clone()
    }

    pub fn caption(&self) -> String {
        self.caption.clone()
    }

    fn columns(&self) -> usize {
        self.panels.len().clamp(1, 2)
    }
}

impl Figure for PanelsFigure {
    fn size(&self) -> (u32, u32) {
        let columns = self.columns() as u32;
        let rows = (self.panels.len() as u32).div_ceil(columns);
        let legend_rows = (self.legend.len() as u32).div_ceil(4 * columns);
        let width = if columns == 1 { 720 } else { PANEL_W * columns };
        (width, PANEL_H * rows + 26 + 22 * legend_rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
        let (w, _) = self.size();
        let used = legend(root, ctx, &self.legend, 16.0, 8.0, w as f64 - 32.0, self.lines)?;
        let (_, bottom) = root.split_vertically(ctx.px(used + 16.0));
        let columns = self.columns();
        let rows = self.panels.len().div_ceil(columns);
        let areas = bottom.split_evenly((rows, columns));
        for (panel, area) in self.panels.iter().zip(&areas) {
            draw_panel(panel, area, ctx, self.lines)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(panel: &Panel, area: &DrawingArea<DB, Shift>, ctx: Ctx, lines: bool) -> Result<(), String> {
    let values: Vec<(f64, f64)> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .flat_map(|&(x, y, w)| std::iter::once((x, y)).chain(w.into_iter().flat_map(move |(a, b)| [(x, a), (x, b)])))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if values.is_empty() {
        return Ok(());
    }
    let (mut x0, mut x1) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.0), h.max(p.0)));
    let (mut y0, mut y1) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.1), h.max(p.1)));
    if panel.zero {
        (y0, y1) = (y0.min(0.0), y1.max(0.0));
    }
    let xp = ((x1 - x0) * 0.06).max(0.02);
    let yp = ((y1 - y0) * 0.08).max(1e-3);
    (x0, x1, y0, y1) = (x0 - xp, x1 + xp, y0 - yp, y1 + yp);
    let (xd, yd) = (tick_decimals(x0, x1, 6), tick_decimals(y0, y1, 6));
    let mut chart = ChartBuilder::on(area)
        .margin(ctx.upx(10.0))
        .margin_right(ctx.upx(20.0))
        .caption(panel.title.clone(), ctx.title())
        .x_label_area_size(ctx.upx(40.0))
        .y_label_area_size(ctx.upx(62.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    draw_mesh(
        chart
            .configure_mesh()
            .x_desc(panel.x.as_str())
            .y_desc(panel.y.as_str())
            .x_labels(6)
            .x_label_formatter(&|v| format!("{v:.xd$}"))
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.yd$}")),
        ctx,
    )?;
    if panel.zero && y0 < 0.0 && y1 > 0.0 {
        chart.draw_series(std::iter::once(PathElement::new(vec![(x0, 0.0), (x1, 0.0)], ctx.stroke(1.2, palette::BLACK)))).map_err(err)?;
    }
    for s in &panel.series {
        let color = palette::series(s.color);
        let mut points: Vec<(f64, f64)> = s.points.iter().map(|&(x, y, _)| (x, y)).collect();
        if lines {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            series_line(&mut chart, ctx, s.color, &points)?;
        }
        for &(x, y, whisker) in &s.points {
            if let Some((a, b)) = whisker {
                chart.draw_series(std::iter::once(PathElement::new(vec![(x, a), (x, b)], ctx.stroke(1.4, color)))).map_err(err)?;
            }
            let at = relative(area, chart.backend_coord(&(x, y)));
            draw_marker(area, ctx, palette::marker(s.color), at, 4.5, color, true)?;
        }
    }
    Ok(())
}
