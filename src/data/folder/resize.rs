//! Resizing to a square of `size` pixels with `fast_image_resize`.
//!
//! `pad`: the image is scaled by `s = size / max(w, h)` in both directions. The short side
//! becomes `floor(short * s)` pixels and the source is cropped symmetrically by the
//! fraction of a pixel that rounding leaves, so the scale is exactly `s` along both axes
//! (pixels stay square: one new pixel = `1 / s` original pixels), then centred on a square
//! canvas. `stretch`: each side is scaled to `size` independently.
//! Images use area averaging (box filter) when shrinking and bilinear interpolation when
//! enlarging, or bilinear throughout; masks always use nearest neighbour, so they keep
//! their values.

use fast_image_resize::{images::Image, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::spec::{Fit, ImageFilter};
use crate::data::png_io::Raster;

/// Where the resized content sits in the square and its scale (new pixels per original
/// pixel) along x and y.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Column of the content's left edge in the square, pixels.
    pub left: usize,
    /// Row of the content's top edge in the square, pixels.
    pub top: usize,
    /// Width of the resized content, pixels.
    pub width: usize,
    /// Height of the resized content, pixels.
    pub height: usize,
    /// Source crop box (left, top, width, height) in original pixels.
    pub crop: (f64, f64, f64, f64),
    /// New pixels per original pixel along x.
    pub scale_x: f64,
    /// New pixels per original pixel along y (equal to `scale_x` for `pad`).
    pub scale_y: f64,
}

/// Where a `width x height` image lands in a `size x size` square under `fit` (see the module docs).
pub fn placement(width: usize, height: usize, size: usize, fit: Fit) -> Placement {
    match fit {
        Fit::Stretch => Placement {
            left: 0,
            top: 0,
            width: size,
            height: size,
            crop: (0.0, 0.0, width as f64, height as f64),
            scale_x: size as f64 / width as f64,
            scale_y: size as f64 / height as f64,
        },
        Fit::Pad => {
            let s = size as f64 / width.max(height) as f64;
            let side = |n: usize| -> (usize, f64, f64) {
                if n == width.max(height) {
                    return (size, 0.0, n as f64);
                }
                let out = ((n as f64 * s + 1e-9).floor() as usize).max(1);
                let src = (out as f64 / s).min(n as f64);
                (out, (n as f64 - src) / 2.0, src)
            };
            let (w, cx, cw) = side(width);
            let (h, cy, ch) = side(height);
            Placement { left: (size - w) / 2, top: (size - h) / 2, width: w, height: h, crop: (cx, cy, cw, ch), scale_x: s, scale_y: s }
        }
    }
}

fn pixel_type(channels: usize) -> PixelType {
    match channels {
        1 => PixelType::U8,
        3 => PixelType::U8x3,
        c => panic!("unsupported channel count {c}"),
    }
}

/// Resizes `src` into a `size x size` raster filled with `pad` outside the placement.
pub fn resize(src: &Raster, size: usize, fit: Fit, filter: Option<ImageFilter>, pad: u8) -> (Raster, Placement) {
    let p = placement(src.width, src.height, size, fit);
    let c = src.channels;
    let alg = match filter {
        None => ResizeAlg::Nearest,
        Some(ImageFilter::Bilinear) => ResizeAlg::Convolution(FilterType::Bilinear),
        Some(ImageFilter::Area) if p.scale_x < 1.0 || p.scale_y < 1.0 => ResizeAlg::Convolution(FilterType::Box),
        Some(ImageFilter::Area) => ResizeAlg::Convolution(FilterType::Bilinear),
    };
    let source =
        Image::from_vec_u8(src.width as u32, src.height as u32, src.data.clone(), pixel_type(c)).expect("raster buffer matches its size");
    let mut dst = Image::new(p.width as u32, p.height as u32, pixel_type(c));
    let (cl, ct, cw, ch) = p.crop;
    let options = ResizeOptions::new().resize_alg(alg).crop(cl, ct, cw, ch);
    Resizer::new().resize(&source, &mut dst, &options).expect("same pixel types and a valid crop box");
    let mut out = vec![pad; size * size * c];
    let inner = dst.buffer();
    for y in 0..p.height {
        let from = &inner[y * p.width * c..(y + 1) * p.width * c];
        let start = ((p.top + y) * size + p.left) * c;
        out[start..start + p.width * c].copy_from_slice(from);
    }
    (Raster { width: size, height: size, channels: c, data: out }, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_keeps_square_pixels_and_centres() {
        let p = placement(800, 540, 128, Fit::Pad);
        assert_eq!((p.width, p.height, p.left), (128, 86, 0));
        assert_eq!(p.top, 21);
        assert!((p.crop.3 * p.scale_y - 86.0).abs() < 1e-9, "{p:?}");
        assert!((p.crop.1 - 1.25).abs() < 1e-9);
        let q = placement(240, 474, 64, Fit::Pad);
        assert_eq!((q.height, q.top), (64, 0));
        assert_eq!(q.width, 32);
    }

    #[test]
    fn area_average_and_nearest_masks() {
        // 4x4 checker of 2x2 blocks of 0 and 200 -> 2x2 of the block values.
        let mut data = vec![0u8; 16];
        for y in 0..4 {
            for x in 0..4 {
                data[y * 4 + x] = if (x / 2 + y / 2) % 2 == 0 { 0 } else { 200 };
            }
        }
        let src = Raster { width: 4, height: 4, channels: 1, data };
        let (out, _) = resize(&src, 2, Fit::Stretch, Some(ImageFilter::Area), 0);
        assert_eq!(out.data, vec![0, 200, 200, 0]);
        // Uniform image: area average keeps the value.
        let flat = Raster { width: 7, height: 5, channels: 1, data: vec![77; 35] };
        let (out, _) = resize(&flat, 3, Fit::Stretch, Some(ImageFilter::Area), 0);
        assert!(out.data.iter().all(|&v| v == 77));
        // A 0/1 mask stays 0/1 with nearest neighbour at any scale.
        let mask = Raster { width: 9, height: 7, channels: 1, data: (0..63).map(|i| (i % 3 == 0) as u8).collect() };
        for size in [2, 5, 16] {
            let (out, _) = resize(&mask, size, Fit::Pad, None, 0);
            assert!(out.data.iter().all(|&v| v <= 1));
        }
    }
}
