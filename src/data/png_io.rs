//! Reading PNG images and masks with the `png` crate.
//!
//! Images: any PNG colour type and bit depth, expanded to 8 bits per channel
//! (`Transformations::EXPAND | STRIP_16`: 1/2/4-bit grey scaled to 0..255, palettes to
//! RGB, 16-bit to its high byte), alpha dropped, then converted to 1 or 3 channels.
//! Masks: the *stored* sample values are kept (a 1-bit mask reads as 0/1, a palette mask as
//! its indices, 16-bit as the high byte), because for index masks the value is the class.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use png::{BitDepth, ColorType, Transformations};

use crate::{Error, Result};

/// An 8-bit raster, channels interleaved, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    /// Width, pixels.
    pub width: usize,
    /// Height, pixels.
    pub height: usize,
    /// Channels per pixel (1 grey, 3 RGB).
    pub channels: usize,
    /// `height x width x channels` bytes.
    pub data: Vec<u8>,
}

/// Images larger than this many pixels are refused as corrupt (a 16k x 16k scan is fine).
pub const MAX_PIXELS: u64 = 1 << 28;

fn open(path: &Path, transformations: Transformations) -> Result<(png::Reader<BufReader<File>>, Vec<u8>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut decoder = png::Decoder::new(BufReader::new(file));
    decoder.set_transformations(transformations);
    let reader = decoder.read_info().map_err(|e| Error::format(path, format!("not a readable PNG image: {e}")))?;
    let info = reader.info();
    if info.width as u64 * info.height as u64 > MAX_PIXELS {
        return Err(Error::format(path, format!("PNG claims {}x{} pixels, more than medmtl reads", info.width, info.height)));
    }
    let size = reader.output_buffer_size().ok_or_else(|| Error::format(path, "PNG image is too large to decode"))?;
    Ok((reader, vec![0u8; size]))
}

/// Decodes an image to `channels` (1 or 3) 8-bit channels.
pub fn read_image(path: &Path, channels: usize) -> Result<Raster> {
    let (mut reader, mut buf) = open(path, Transformations::EXPAND | Transformations::STRIP_16)?;
    let frame = reader.next_frame(&mut buf).map_err(|e| Error::format(path, format!("PNG image data is corrupt: {e}")))?;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let stride = frame.line_size;
    let src_channels = match frame.color_type {
        ColorType::Grayscale => 1,
        ColorType::GrayscaleAlpha => 2,
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
        ColorType::Indexed => {
            return Err(Error::format(path, "palette PNG was not expanded"));
        }
    };
    let mut data = Vec::with_capacity(w * h * channels);
    for y in 0..h {
        let row = &buf[y * stride..y * stride + w * src_channels];
        for px in row.chunks_exact(src_channels) {
            match (src_channels, channels) {
                (1 | 2, 1) => data.push(px[0]),
                (1 | 2, _) => data.extend_from_slice(&[px[0]; 3]),
                (_, 1) => data.push(luma(px[0], px[1], px[2])),
                (_, _) => data.extend_from_slice(&px[..3]),
            }
        }
    }
    Ok(Raster { width: w, height: h, channels, data })
}

/// ITU-R BT.601 luma, rounded.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((299 * r as u32 + 587 * g as u32 + 114 * b as u32 + 500) / 1000) as u8
}

/// Decodes a mask to one channel of stored sample values. Colour masks give, per pixel, the
/// largest of R, G and B (enough for black/white masks saved as RGB).
pub fn read_mask(path: &Path) -> Result<Raster> {
    let (mut reader, mut buf) = open(path, Transformations::IDENTITY)?;
    let frame = reader.next_frame(&mut buf).map_err(|e| Error::format(path, format!("PNG mask data is corrupt: {e}")))?;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let stride = frame.line_size;
    let bits = match frame.bit_depth {
        BitDepth::One => 1,
        BitDepth::Two => 2,
        BitDepth::Four => 4,
        BitDepth::Eight => 8,
        BitDepth::Sixteen => 16,
    };
    let samples = match frame.color_type {
        ColorType::Grayscale | ColorType::Indexed => 1,
        ColorType::GrayscaleAlpha => 2,
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
    };
    let colour = matches!(frame.color_type, ColorType::Rgb | ColorType::Rgba);
    let mut data = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = &buf[y * stride..(y + 1) * stride];
        for x in 0..w {
            let sample = |s: usize| -> u8 {
                let i = x * samples + s;
                match bits {
                    8 => row[i],
                    16 => row[2 * i],
                    b => {
                        let bit = i * b;
                        let byte = row[bit / 8];
                        (byte >> (8 - b - bit % 8)) & ((1u8 << b) - 1)
                    }
                }
            };
            data.push(if colour { sample(0).max(sample(1)).max(sample(2)) } else { sample(0) });
        }
    }
    Ok(Raster { width: w, height: h, channels: 1, data })
}

/// Writes an 8-bit grey or RGB PNG (used by tests and to export masks).
pub fn write_png(path: &Path, raster: &Raster) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), raster.width as u32, raster.height as u32);
    encoder.set_color(match raster.channels {
        1 => ColorType::Grayscale,
        3 => ColorType::Rgb,
        c => return Err(Error::Invalid(format!("cannot write a {c}-channel PNG"))),
    });
    encoder.set_depth(BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| Error::format(path, format!("cannot write PNG: {e}")))?;
    writer.write_image_data(&raster.data).map_err(|e| Error::format(path, format!("cannot write PNG: {e}")))?;
    writer.finish().map_err(|e| Error::format(path, format!("cannot write PNG: {e}")))
}
