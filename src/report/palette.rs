//! Colours: the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), whose
//! eight colours stay distinguishable under the common colour-vision deficiencies, and a
//! diverging blue–white–vermillion scale built from two of them for correlations.

use plotters::style::RGBColor;

/// Okabe–Ito black: text, and the first series (STL).
pub const BLACK: RGBColor = RGBColor(0, 0, 0);
/// Okabe–Ito orange `#E69F00`.
pub const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
/// Okabe–Ito sky blue `#56B4E9` (predicted contours in galleries).
pub const SKY_BLUE: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
/// Okabe–Ito bluish green `#009E73`.
pub const BLUISH_GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
/// Okabe–Ito yellow `#F0E442` (ground-truth contours; last series, weak on white).
pub const YELLOW: RGBColor = RGBColor(0xF0, 0xE4, 0x42);
/// Okabe–Ito blue `#0072B2` (the diverging scale's +1 end).
pub const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
/// Okabe–Ito vermillion `#D55E00` (the diverging scale's −1 end).
pub const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
/// Okabe–Ito reddish purple `#CC79A7`.
pub const REDDISH_PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
/// Neutral grey for frames and guide lines (not a series colour).
pub const GREY: RGBColor = RGBColor(0x99, 0x99, 0x99);
/// Light grey for grid lines and undefined heatmap cells.
pub const LIGHT_GREY: RGBColor = RGBColor(0xE8, 0xE8, 0xE8);

/// Series colours in order of use: black first (STL, the reference), yellow last (weak on
/// white).
const SERIES: [RGBColor; 8] = [BLACK, BLUE, ORANGE, BLUISH_GREEN, VERMILLION, REDDISH_PURPLE, SKY_BLUE, YELLOW];

/// Colour of the i-th series; beyond eight the colours repeat and [`marker`] tells apart.
pub fn series(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

/// Marker shape of the i-th series: changes every eight so repeated colours differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// Filled or outlined circle (series 0 to 7).
    Circle,
    /// Square (series 8 to 15).
    Square,
    /// Upward triangle (series 16 to 23).
    Triangle,
    /// Diamond (series 24 to 31, then the cycle repeats).
    Diamond,
}

/// Lines of series past the eighth are dashed, so repeated colours stay apart.
pub fn dashed(i: usize) -> bool {
    i >= SERIES.len()
}

/// Marker shape of the i-th series: circle for the first eight, then square, triangle, diamond, repeating.
pub fn marker(i: usize) -> Marker {
    [Marker::Circle, Marker::Square, Marker::Triangle, Marker::Diamond][(i / SERIES.len()) % 4]
}

/// Diverging colour of a value in [-1, 1]: vermillion (−1), white (0), blue (+1).
pub fn diverging(v: f64) -> RGBColor {
    if !v.is_finite() {
        return LIGHT_GREY;
    }
    let v = v.clamp(-1.0, 1.0);
    let end = if v >= 0.0 { BLUE } else { VERMILLION };
    let t = v.abs();
    let mix = |a: u8| (255.0 + (a as f64 - 255.0) * t).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

/// Black or white, whichever reads better on `bg`.
pub fn text_on(bg: RGBColor) -> RGBColor {
    let luminance = 0.2126 * bg.0 as f64 + 0.7152 * bg.1 as f64 + 0.0722 * bg.2 as f64;
    if luminance < 120.0 {
        RGBColor(255, 255, 255)
    } else {
        BLACK
    }
}
