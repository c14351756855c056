//! Segmentation gallery: test images of the best, median and worst case (by the best
//! multi-task combo's Dice), each shown plain, with STL's prediction and with that combo's,
//! ground-truth contour in yellow and predicted contour in blue, drawn on pixel edges.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{err, Ctx, Figure, Raster};
use crate::report::model::{ExperimentReport, Gallery};
use crate::report::palette;

const TRUTH: RGBColor = palette::YELLOW;
const PREDICTED: RGBColor = palette::SKY_BLUE;

pub struct GalleryFigure {
    gallery: Gallery,
    stl_label: String,
    mtl_label: String,
    experiment: String,
}

const PANEL: f64 = 200.0;
const GAP: f64 = 18.0;
const LEFT: f64 = 110.0;
const HEAD: f64 = 44.0;
const ROW_TITLE: f64 = 22.0;

impl GalleryFigure {
    pub fn new(exp: &ExperimentReport, g: &Gallery) -> Self {
        GalleryFigure {
            gallery: g.clone(),
            stl_label: exp.combos[g.stl].label(),
            mtl_label: exp.combos[g.mtl].label(),
            experiment: exp.name.clone(),
        }
    }

    pub fn title(&self) -> String {
        format!("Segmentation examples, task {}, experiment {}", self.gallery.task, self.experiment)
    }

    pub fn caption(&self) -> String {
        format!(
            "Test images of task {} with the best, median and worst Dice of {} (the multi-task combo with the highest mean \
             Dice), seed {}. Columns: the image; STL's prediction; {}'s prediction. Yellow: ground-truth contour; blue: \
             predicted contour. Dice of each model on the image above its panel.",
            self.gallery.task, self.mtl_label, self.gallery.seed, self.mtl_label
        )
    }

    fn pixel(&self) -> f64 {
        PANEL / self.gallery.height.max(self.gallery.width).max(1) as f64
    }

    /// Top-left corner (logical px) of row r, column c.
    fn origin(&self, r: usize, c: usize) -> (f64, f64) {
        (LEFT + c as f64 * (PANEL + GAP), HEAD + r as f64 * (PANEL + GAP + ROW_TITLE) + ROW_TITLE)
    }
}

/// Edges of the regions of a label map, as segments in pixel-corner coordinates: every
/// side of a foreground pixel whose neighbour (or the outside) has another label.
pub fn contour_segments(labels: &[u8], h: usize, w: usize) -> Vec<((usize, usize), (usize, usize))> {
    let at = |y: isize, x: isize| -> u8 {
        if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
            0
        } else {
            labels[y as usize * w + x as usize]
        }
    };
    let mut out = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let v = labels[y * w + x];
            if v == 0 {
                continue;
            }
            let (yi, xi) = (y as isize, x as isize);
            if at(yi - 1, xi) != v {
                out.push(((x, y), (x + 1, y)));
            }
            if at(yi + 1, xi) != v {
                out.push(((x, y + 1), (x + 1, y + 1)));
            }
            if at(yi, xi - 1) != v {
                out.push(((x, y), (x, y + 1)));
            }
            if at(yi, xi + 1) != v {
                out.push(((x + 1, y), (x + 1, y + 1)));
            }
        }
    }
    out
}

impl Figure for GalleryFigure {
    fn size(&self) -> (u32, u32) {
        let rows = self.gallery.cases.len() as f64;
        let w = LEFT + 3.0 * PANEL + 2.0 * GAP + 20.0;
        let h = HEAD + rows * (PANEL + GAP + ROW_TITLE) + 34.0;
        (w.ceil() as u32, h.ceil() as u32)
    }

    fn rasters(&self) -> Vec<Raster> {
        let g = &self.gallery;
        let mut out = Vec::new();
        for (r, case) in g.cases.iter().enumerate() {
            for c in 0..3 {
                let (x, y) = self.origin(r, c);
                out.push(Raster {
                    x,
                    y,
                    pixel: self.pixel(),
                    channels: g.channels,
                    height: g.height,
                    width: g.width,
                    data: case.image.clone(),
                });
            }
        }
        out
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, ctx: Ctx) -> Result<(), String> {
        let g = &self.gallery;
        let p = self.pixel();
        let stl = if self.stl_label == "stl" { "STL".to_owned() } else { format!("STL ({})", self.stl_label) };
        let heads = ["image".to_owned(), stl, self.mtl_label.clone()];
        for (c, head) in heads.iter().enumerate() {
            let (x, _) = self.origin(0, c);
            let style = ctx.title().pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(head.clone(), (ctx.px(x + PANEL / 2.0), ctx.px(HEAD / 2.0)), style)).map_err(err)?;
        }
        if ctx.raster {
            for raster in self.rasters() {
                let (pixels, channels) = super::interleave(&raster);
                for yy in 0..raster.height {
                    for xx in 0..raster.width {
                        let k = (yy * raster.width + xx) * channels;
                        let color = if channels == 3 {
                            RGBColor(pixels[k], pixels[k + 1], pixels[k + 2])
                        } else {
                            RGBColor(pixels[k], pixels[k], pixels[k])
                        };
                        let (x0, y0) = (raster.x + xx as f64 * p, raster.y + yy as f64 * p);
                        root.draw(&Rectangle::new([(ctx.px(x0), ctx.px(y0)), (ctx.px(x0 + p), ctx.px(y0 + p))], color.filled()))
                            .map_err(err)?;
                    }
                }
            }
        }
        for (r, case) in g.cases.iter().enumerate() {
            let (_, y) = self.origin(r, 0);
            let label_style = ctx.title().pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(case.label.to_owned(), (ctx.px(LEFT - 14.0), ctx.px(y + PANEL / 2.0 - 9.0)), label_style)).map_err(err)?;
            let sub = ctx.body().pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(format!("test #{}", case.index), (ctx.px(LEFT - 14.0), ctx.px(y + PANEL / 2.0 + 11.0)), sub))
                .map_err(err)?;
            for (c, prediction, dice) in [(1, &case.stl_prediction, case.stl_dice), (2, &case.mtl_prediction, case.mtl_dice)] {
                let (x0, y0) = self.origin(r, c);
                let to = |(x, y): (usize, usize)| (ctx.px(x0 + x as f64 * p), ctx.px(y0 + y as f64 * p));
                for (color, labels, width) in [(TRUTH, &case.truth, 3.0), (PREDICTED, prediction, 2.0)] {
                    for (a, b) in contour_segments(labels, g.height, g.width) {
                        root.draw(&PathElement::new(vec![to(a), to(b)], ctx.stroke(width, color))).map_err(err)?;
                    }
                }
                let text = format!("Dice {}", if dice.is_finite() { format!("{dice:.3}") } else { "undefined".into() });
                root.draw(&Text::new(text, (ctx.px(x0), ctx.px(y0 - ROW_TITLE + 3.0)), ctx.body())).map_err(err)?;
            }
        }
        // Key.
        let (_, h) = self.size();
        let y = h as f64 - 22.0;
        let mut x = LEFT;
        for (color, label) in [(TRUTH, "ground truth"), (PREDICTED, "prediction")] {
            root.draw(&Rectangle::new([(ctx.px(x), ctx.px(y - 4.0)), (ctx.px(x + 26.0), ctx.px(y + 4.0))], color.filled())).map_err(err)?;
            root.draw(&Rectangle::new([(ctx.px(x), ctx.px(y - 4.0)), (ctx.px(x + 26.0), ctx.px(y + 4.0))], ctx.stroke(1.0, palette::GREY)))
                .map_err(err)?;
            root.draw(&Text::new(label, (ctx.px(x + 34.0), ctx.px(y)), ctx.body().pos(Pos::new(HPos::Left, VPos::Center)))).map_err(err)?;
            x += 170.0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::contour_segments;

    #[test]
    fn a_single_pixel_has_four_edges_and_a_bar_six() {
        assert_eq!(contour_segments(&[0, 0, 0, 0, 1, 0, 0, 0, 0], 3, 3).len(), 4);
        assert_eq!(contour_segments(&[1, 1, 0, 0], 2, 2).len(), 6);
        assert!(contour_segments(&[0; 4], 2, 2).is_empty());
    }
}
