//! Figures, drawn with plotters from the summary model: one file per figure kind. Each is
//! drawn twice by the same code, as SVG (1 unit = 1 CSS pixel) and as PNG at twice that
//! resolution (for Markdown and the HTML page, sharp on high-density screens).
//!
//! Text needs a font in PNGs: DejaVu Sans (assets/fonts, Bitstream Vera / public-domain
//! licence, kept beside it) is compiled in and registered with plotters, so figures look
//! the same on machines without fonts. SVGs name the family and let the viewer render it.

mod curves;
mod delta_m;
mod fraction;
mod gallery;
mod heatmap;
mod pareto;
mod relatedness;
mod scatter;
mod subgroups;

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::doc::FigureRef;
use super::model::Report;
use super::palette;
use crate::{Error, Result};

/// The font family figures use (registered under this name).
pub const FONT: &str = "DejaVu Sans";
static DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded file is a valid TrueType font; failure would be a build mistake.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS);
    });
}

/// Which figure of an experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FigureKind {
    /// Delta-m per combo with its CI across seeds (`delta_m`).
    DeltaM,
    /// Primary metric against training throughput, with the Pareto front (`pareto`).
    Pareto,
    /// Training loss and validation primary metric per epoch (`curves`).
    Curves,
    /// Kendall's tau-b between the rankings under each (task, metric) (`rank_agreement`).
    RankHeatmap,
    /// Best, median and worst test cases of the named segmentation task (`gallery_<task>`).
    Gallery(String),
    /// Agreement of the rankings by the papers' headline metrics with Δm (`literature_ranks`).
    LiteratureRanks,
    /// The named task's primary metric per subgroup (`subgroups_<task>`).
    Subgroups(String),
    /// Predicted against true values of the named regression task (`scatter_<task>`).
    Scatter(String),
    /// Task weights per epoch (`weights`).
    Weights,
    /// Suite: MTL gain against gradient cosine (`relatedness_gain`, experiment "").
    RelatednessGain,
    /// Suite: Δm and cosine against the phantom relatedness dial (`relatedness_dial`, experiment "").
    Dial,
    /// Suite: main tasks' metrics against the labelled fraction of a dataset's task
    /// (`fraction_<dataset>_<task>`, experiment "").
    Fraction {
        /// The dataset the experiments share.
        dataset: String,
        /// The partly labelled task.
        task: String,
    },
}

/// A drawn figure: where it belongs, its files' paths and caption, and their contents.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Name of the experiment the figure belongs to.
    pub experiment: String,
    /// Which figure it is.
    pub kind: FigureKind,
    /// Its file paths (relative to the report folder), title and caption.
    pub reference: FigureRef,
    /// PNG bytes, drawn at twice the logical size.
    pub png: Vec<u8>,
    /// SVG text (1 unit = 1 CSS pixel), rasters embedded.
    pub svg: String,
}

/// Drawing context: the scale from logical (CSS) pixels to backend pixels, and whether the
/// backend can take raster images (PNG) or they are added afterwards (SVG).
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Backend pixels per logical pixel (1 for SVG, 2 for PNG).
    pub scale: f64,
    /// Whether the backend draws raster images itself (PNG); SVG gets them from `Figure::rasters`.
    pub raster: bool,
}

impl Ctx {
    /// Backend pixels of a logical length.
    pub fn px(&self, v: f64) -> i32 {
        (v * self.scale).round() as i32
    }
    /// Backend pixels of a logical length, rounded and at least 0 (for widths).
    pub fn upx(&self, v: f64) -> u32 {
        (v * self.scale).round().max(0.0) as u32
    }
    /// The figure font at a logical size.
    pub fn font(&self, size: f64) -> FontDesc<'static> {
        (FONT, size * self.scale).into_font()
    }
    /// Figure-font text style at a logical size and colour.
    pub fn text(&self, size: f64, color: RGBColor) -> TextStyle<'static> {
        self.font(size).color(&color)
    }
    /// Body text (tick labels, legends).
    pub fn body(&self) -> TextStyle<'static> {
        self.text(14.0, palette::BLACK)
    }
    /// Axis titles.
    pub fn axis(&self) -> TextStyle<'static> {
        self.text(15.0, palette::BLACK)
    }
    /// Panel titles.
    pub fn title(&self) -> TextStyle<'static> {
        self.text(16.0, palette::BLACK)
    }
    /// Line style of a logical width (at least 1 backend pixel) and colour.
    pub fn stroke(&self, width: f64, color: RGBColor) -> ShapeStyle {
        color.stroke_width(self.upx(width).max(1))
    }
}

/// A raster image placed on a figure, in logical pixels (grey or RGB, 0..255, `C x H x W`).
#[derive(Debug, Clone)]
pub struct Raster {
    /// Left edge, logical pixels.
    pub x: f64,
    /// Top edge, logical pixels.
    pub y: f64,
    /// Logical pixels per image pixel.
    pub pixel: f64,
    /// Image channels C (1 grey, 3 RGB; others show the first channel).
    pub channels: usize,
    /// Image height H, image pixels.
    pub height: usize,
    /// Image width W, image pixels.
    pub width: usize,
    /// Pixels, `C x H x W`, 0..255.
    pub data: Vec<u8>,
}

/// One kind of figure: its logical size and drawing code, generic over the backend.
pub trait Figure {
    /// Logical size `(width, height)` in CSS pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the figure on `root` (cleared to white) at the context's scale.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, ctx: Ctx) -> std::result::Result<(), String>;
    /// Raster images to place under the drawing in the SVG (PNG draws them itself).
    fn rasters(&self) -> Vec<Raster> {
        Vec::new()
    }
}

/// Decimals of tick labels for at most `ticks` ticks over `lo..hi`: the fewest that print
/// every tick plotters will draw there exactly, so labels are neither repeated nor ragged.
pub fn tick_decimals(lo: f64, hi: f64, ticks: usize) -> usize {
    use plotters::coord::ranged1d::Ranged;
    let coord: plotters::coord::types::RangedCoordf64 = (lo..hi).into();
    let keys = coord.key_points(ticks);
    let scale = lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE);
    (0..=6)
        .find(|&d| {
            let f = 10f64.powi(d as i32);
            keys.iter().all(|v| ((v * f).round() / f - v).abs() <= 1e-9 * scale)
        })
        .unwrap_or(6)
}

/// `chart.backend_coord` is in the backend's pixels; elements drawn on a sub-area take
/// pixels relative to that area's corner.
pub fn relative<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, at: (i32, i32)) -> (i32, i32) {
    let base = area.get_base_pixel();
    (at.0 - base.0, at.1 - base.1)
}

/// Maps any plotters error to a message.
pub fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draws a figure as SVG and as a 2x PNG.
pub fn render<F: Figure>(figure: &F) -> std::result::Result<(String, Vec<u8>), String> {
    register_font();
    let (w, h) = figure.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        figure.draw(&root, Ctx { scale: 1.0, raster: false })?;
        root.present().map_err(err)?;
    }
    // Viewers without DejaVu Sans get a similar sans-serif instead of their default serif.
    let svg = svg.replace(&format!("font-family=\"{FONT}\""), &format!("font-family=\"{FONT}, Verdana, Arial, sans-serif\""));
    let svg = with_rasters(svg, &figure.rasters());
    let (pw, ph) = (w * 2, h * 2);
    let mut buf = vec![255u8; (pw * ph * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (pw, ph)).into_drawing_area();
        figure.draw(&root, Ctx { scale: 2.0, raster: true })?;
        root.present().map_err(err)?;
    }
    Ok((svg, encode_png(&buf, pw, ph, 3)?))
}

/// PNG bytes of 8-bit grey (1 channel) or RGB (3) pixels.
pub fn encode_png(pixels: &[u8], width: u32, height: u32, channels: usize) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(if channels == 1 { png::ColorType::Grayscale } else { png::ColorType::Rgb });
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header().map_err(err)?;
        writer.write_image_data(pixels).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok(out)
}

/// Interleaved `H x W x C` (C = 1 or 3) of a channel-first image; 2 or 4+ channels show
/// the first channel in grey.
pub fn interleave(r: &Raster) -> (Vec<u8>, usize) {
    let plane = r.height * r.width;
    if r.channels == 3 {
        let mut out = Vec::with_capacity(plane * 3);
        for i in 0..plane {
            for c in 0..3 {
                out.push(r.data[c * plane + i]);
            }
        }
        (out, 3)
    } else {
        (r.data[..plane].to_vec(), 1)
    }
}

/// Puts raster images into an SVG as embedded PNG `<image>`s just after the background, so
/// everything plotters drew (contours, text) stays on top.
fn with_rasters(svg: String, rasters: &[Raster]) -> String {
    if rasters.is_empty() {
        return svg;
    }
    let mut images = String::new();
    for r in rasters {
        let (pixels, channels) = interleave(r);
        let Ok(png) = encode_png(&pixels, r.width as u32, r.height as u32, channels) else { continue };
        images.push_str(&format!(
            "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"{}\"/>\n",
            r.x,
            r.y,
            r.pixel * r.width as f64,
            r.pixel * r.height as f64,
            super::format::png_data_uri(&png)
        ));
    }
    // The background is the first element after the <svg> tag.
    let at =
        svg.find("<rect").and_then(|i| svg[i..].find("/>").map(|j| i + j + 2)).unwrap_or_else(|| svg.rfind("</svg>").unwrap_or(svg.len()));
    let mut out = svg;
    out.insert_str(at, &format!("\n{images}"));
    out
}

/// Draws a legend of combos (colour, marker, label) in a row-wrapping block at `(x, y)`
/// logical pixels, `width` wide; returns the height used.
pub fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: Ctx,
    entries: &[(usize, String)],
    x: f64,
    y: f64,
    width: f64,
    line: bool,
) -> std::result::Result<f64, String> {
    let style = ctx.body();
    let (mut cx, mut cy) = (x, y);
    let row = 22.0;
    for (i, label) in entries {
        let (tw, _) = root.estimate_text_size(label, &style).map_err(err)?;
        let item = 30.0 + tw as f64 / ctx.scale + 18.0;
        if cx > x && cx + item > x + width {
            cx = x;
            cy += row;
        }
        let color = palette::series(*i);
        let mid = (ctx.px(cx + 11.0), ctx.px(cy + row / 2.0));
        if line {
            let segments: Vec<(f64, f64)> = if palette::dashed(*i) { vec![(0.0, 7.0), (15.0, 22.0)] } else { vec![(0.0, 22.0)] };
            for (a, b) in segments {
                root.draw(&PathElement::new(vec![(ctx.px(cx + a), mid.1), (ctx.px(cx + b), mid.1)], ctx.stroke(2.5, color)))
                    .map_err(err)?;
            }
        }
        draw_marker(root, ctx, palette::marker(*i), mid, 5.0, color, true)?;
        let anchored = style.clone().pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Left,
            plotters::style::text_anchor::VPos::Center,
        ));
        root.draw(&Text::new(label.clone(), (ctx.px(cx + 28.0), mid.1), anchored)).map_err(err)?;
        cx += item;
    }
    Ok(cy + row - y)
}

/// Draws a series' line in its palette style (solid, or dashed once the colours repeat),
/// so a design keeps the same look in every figure.
pub fn series_line<DB, X, Y>(
    chart: &mut plotters::chart::ChartContext<'_, DB, Cartesian2d<X, Y>>,
    ctx: Ctx,
    series: usize,
    points: &[(f64, f64)],
) -> std::result::Result<(), String>
where
    DB: DrawingBackend,
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    let color = palette::series(series);
    if palette::dashed(series) {
        chart.draw_series(DashedLineSeries::new(points.iter().copied(), ctx.px(7.0), ctx.px(4.0), ctx.stroke(2.0, color))).map_err(err)?;
    } else {
        chart.draw_series(LineSeries::new(points.iter().copied(), ctx.stroke(2.0, color))).map_err(err)?;
    }
    Ok(())
}

/// Draws one marker centred at backend coordinates `at`, `size` logical px in radius.
pub fn draw_marker<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: Ctx,
    marker: palette::Marker,
    at: (i32, i32),
    size: f64,
    color: RGBColor,
    filled: bool,
) -> std::result::Result<(), String> {
    let r = ctx.px(size);
    let style = if filled { color.filled() } else { ctx.stroke(1.5, color) };
    let (x, y) = at;
    match marker {
        palette::Marker::Circle => root.draw(&Circle::new(at, r, style)),
        palette::Marker::Square => root.draw(&Rectangle::new([(x - r, y - r), (x + r, y + r)], style)),
        palette::Marker::Triangle => root.draw(&Polygon::new(vec![(x, y - r), (x - r, y + r), (x + r, y + r)], style)),
        palette::Marker::Diamond => root.draw(&Polygon::new(vec![(x, y - r), (x - r, y), (x, y + r), (x + r, y)], style)),
    }
    .map_err(err)
}

/// Names, captions and stores one drawn figure.
fn rendered(
    experiment: &str,
    kind: FigureKind,
    stem: String,
    (title, caption, width): (String, String, u32),
    result: std::result::Result<(String, Vec<u8>), String>,
) -> Result<Rendered> {
    let (svg, png) = result.map_err(|e| Error::Invalid(format!("figure {stem}: {e}")))?;
    Ok(Rendered {
        experiment: experiment.to_owned(),
        kind,
        reference: FigureRef { png: format!("figures/{stem}.png"), svg: format!("figures/{stem}.svg"), stem, title, caption, width },
        png,
        svg,
    })
}

/// The figure of that kind belonging to experiment `exp` ("" for suite-level figures).
pub fn figure(figures: &[Rendered], exp: &str, kind: &FigureKind) -> Option<FigureRef> {
    figures.iter().find(|f| f.experiment == exp && &f.kind == kind).map(|f| f.reference.clone())
}

/// Draws a chart's mesh in the house style every figure shares (body-size tick labels, axis
/// titles, a light grid), after the figure's own axis settings.
pub fn draw_mesh<X, Y, DB>(mesh: &mut plotters::chart::MeshStyle<'_, '_, X, Y, DB>, ctx: Ctx) -> std::result::Result<(), String>
where
    X: plotters::coord::ranged1d::Ranged + plotters::coord::ranged1d::ValueFormatter<<X as plotters::coord::ranged1d::Ranged>::ValueType>,
    Y: plotters::coord::ranged1d::Ranged + plotters::coord::ranged1d::ValueFormatter<<Y as plotters::coord::ranged1d::Ranged>::ValueType>,
    DB: DrawingBackend,
{
    mesh.label_style(ctx.body())
        .axis_desc_style(ctx.axis())
        .light_line_style(palette::LIGHT_GREY.mix(0.6))
        .bold_line_style(palette::LIGHT_GREY)
        .draw()
        .map_err(err)
}

/// Every figure of the report.
pub fn render_all(report: &Report) -> Result<Vec<Rendered>> {
    let mut out = Vec::new();
    for exp in &report.experiments {
        let stem_of = |kind: &str| format!("{}__{}", super::format::file_part(&exp.name), kind);
        let mut push = |kind: FigureKind, stem: String, words: (String, String, u32), result| -> Result<()> {
            out.push(rendered(&exp.name, kind, stem, words, result)?);
            Ok(())
        };
        if let Some(f) = delta_m::DeltaMFigure::new(exp) {
            push(FigureKind::DeltaM, stem_of("delta_m"), (f.title(), f.caption(), f.size().0), render(&f))?;
        }
        if let Some(f) = pareto::ParetoFigure::new(exp) {
            push(FigureKind::Pareto, stem_of("pareto"), (f.title(), f.caption(), f.size().0), render(&f))?;
        }
        if let Some(f) = curves::CurvesFigure::new(exp) {
            push(FigureKind::Curves, stem_of("curves"), (f.title(), f.caption(), f.size().0), render(&f))?;
        }
        if let Some(f) = heatmap::HeatmapFigure::new(exp) {
            push(FigureKind::RankHeatmap, stem_of("rank_agreement"), (f.title(), f.caption(), f.size().0), render(&f))?;
        }
        if let Some(f) = heatmap::HeatmapFigure::literature(exp) {
            push(FigureKind::LiteratureRanks, stem_of("literature_ranks"), (f.title(), f.caption(), f.size().0), render(&f))?;
        }
        for f in subgroups::SubgroupFigure::all(exp) {
            let stem = stem_of(&format!("subgroups_{}", super::format::file_part(&f.task)));
            push(FigureKind::Subgroups(f.task.clone()), stem, (f.title(), f.caption(), f.size().0), render(&f))?;
        }
        if let Some(f) = relatedness::PanelsFigure::weights(exp) {
            push(FigureKind::Weights, stem_of("weights"), (f.title(), f.caption(), f.size().0), render(&f))?;
        }
        for s in &exp.scatters {
            let Some(f) = scatter::ScatterFigure::new(exp, s) else { continue };
            let stem = stem_of(&format!("scatter_{}", super::format::file_part(&s.task)));
            push(FigureKind::Scatter(s.task.clone()), stem, (f.title(), f.caption(), f.size().0), render(&f))?;
        }
        for g in &exp.galleries {
            let f = gallery::GalleryFigure::new(exp, g);
            let stem = stem_of(&format!("gallery_{}", super::format::file_part(&g.task)));
            push(FigureKind::Gallery(g.task.clone()), stem, (f.title(), f.caption(), f.size().0), render(&f))?;
        }
    }
    if let Some(f) = relatedness::PanelsFigure::gain(&report.relatedness) {
        out.push(rendered("", FigureKind::RelatednessGain, "relatedness_gain".into(), (f.title(), f.caption(), f.size().0), render(&f))?);
    }
    for curve in &report.fractions {
        let Some(f) = fraction::FractionFigure::new(curve) else { continue };
        let kind = FigureKind::Fraction { dataset: curve.dataset.clone(), task: curve.task.clone() };
        let stem = format!("fraction_{}_{}", super::format::file_part(&curve.dataset), super::format::file_part(&curve.task));
        out.push(rendered("", kind, stem, (f.title(), f.caption(), f.size().0), render(&f))?);
    }
    if let Some(f) = relatedness::PanelsFigure::dial(&report.relatedness) {
        out.push(rendered("", FigureKind::Dial, "relatedness_dial".into(), (f.title(), f.caption(), f.size().0), render(&f))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::tick_decimals;

    #[test]
    fn tick_labels_print_every_plotters_tick_exactly() {
        assert_eq!(tick_decimals(0.95, 0.99, 6), 2); // 0.95, 0.96, ...
        assert_eq!(tick_decimals(0.0, 3.0, 6), 0); // 0, 1, 2, 3
        assert_eq!(tick_decimals(0.0, 3.0, 8), 1); // 0, 0.5, ...
        assert_eq!(tick_decimals(0.0, 6.0, 6), 0);
        assert_eq!(tick_decimals(0.0, 600.0, 6), 0);
        assert_eq!(tick_decimals(0.56, 0.95, 6), 1);
    }
}
