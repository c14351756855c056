//! Synthetic "lesion" phantoms: the dataset that needs no download.
//!
//! Each grey image holds one dark lesion (ellipse, rectangle or triangle, randomly sized,
//! placed and rotated) on a smoothly varying, noisy background, loosely like a lesion in
//! ultrasound. The generator is a pure function of its configuration and seed, so the smoke
//! suite and the tests see the same pixels everywhere. Target sources:
//! - `shape`: lesion class (0 ellipse, 1 rectangle, 2 triangle),
//! - `area`: lesion area as a fraction of the image (regression),
//! - `mask`: the lesion's pixel mask (binary segmentation),
//! - `shape_mask`: the lesion's pixels labelled with its shape class + 1 (4-class
//!   segmentation),
//! - `attributes`: three binary findings per image (multi-label): large (area >= 10% of
//!   the image), high contrast, elongated (short/long axis < 0.75).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, ImageShape, Provenance, SourceValues, Split};
use crate::Result;

/// Class names of the `shape` source, in index order.
pub const SHAPE_NAMES: [&str; 3] = ["ellipse", "rectangle", "triangle"];

/// Size and seed of a phantom dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhantomConfig {
    /// Image side in pixels.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Training images (default 1000).
    #[serde(default = "default_train")]
    pub train: usize,
    /// Validation images (default 250).
    #[serde(default = "default_eval")]
    pub val: usize,
    /// Test images (default 250).
    #[serde(default = "default_eval")]
    pub test: usize,
    /// Seed of the data (independent of the training seed, so that every training seed sees
    /// the same data).
    #[serde(default)]
    pub seed: u64,
    /// Standard deviation of the pixel noise (image intensities span about [-1, 1]).
    #[serde(default = "default_noise")]
    pub noise: f32,
    /// The relatedness dial ρ in [0, 1]: adds two binary sources, `dial_a` (the lesion's
    /// contrast is high) and `dial_b`, which for each sample with probability ρ is the same
    /// label and otherwise depends on an independent feature of the same difficulty (the
    /// background is bright). ρ = 1: identical tasks; ρ = 0: unrelated ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relatedness: Option<f64>,
}

fn default_size() -> usize {
    28
}
fn default_train() -> usize {
    1000
}
fn default_eval() -> usize {
    250
}
fn default_noise() -> f32 {
    0.25
}

impl Default for PhantomConfig {
    fn default() -> Self {
        PhantomConfig {
            size: default_size(),
            train: default_train(),
            val: default_eval(),
            test: default_eval(),
            seed: 0,
            noise: default_noise(),
            relatedness: None,
        }
    }
}

/// Generates the phantom dataset for `config`.
pub fn generate(config: &PhantomConfig) -> Result<Dataset> {
    if config.size < 8 {
        return Err(crate::Error::Invalid(format!("phantom size {} is too small; use 8 pixels or more", config.size)));
    }
    if let Some(rho) = config.relatedness.filter(|r| !(0.0..=1.0).contains(r)) {
        return Err(crate::Error::Invalid(format!("phantom relatedness {rho} must lie in [0, 1]")));
    }
    let shape = ImageShape { channels: 1, height: config.size, width: config.size };
    let make = |count: usize, stream: u64| -> Result<Split> {
        // One independent stream per split, so changing the size of one split leaves the
        // others' samples unchanged.
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(stream);
        // The dial's coins come from a stream of their own: every other source stays the
        // same whatever ρ is.
        let mut coins = ChaCha8Rng::seed_from_u64(config.seed);
        coins.set_stream(stream + 100);
        generate_split(&mut rng, &mut coins, count, config)
    };
    Ok(Dataset {
        name: "phantoms".into(),
        shape,
        time_points: 1,
        train: make(config.train, 1)?,
        val: make(config.val, 2)?,
        test: make(config.test, 3)?,
        provenance: Provenance {
            files: vec![],
            verified: true,
            citation: "medmtl synthetic lesion phantoms (generated, no external data)".into(),
            license: "generated".into(),
        },
        class_names: BTreeMap::from([
            ("shape".to_owned(), SHAPE_NAMES.iter().map(|s| s.to_string()).collect()),
            ("shape_mask".to_owned(), std::iter::once("background").chain(SHAPE_NAMES).map(str::to_owned).collect()),
            ("attributes".to_owned(), ["large", "high contrast", "elongated"].map(str::to_owned).to_vec()),
            ("dial_a".to_owned(), ["no", "yes"].map(str::to_owned).to_vec()),
            ("dial_b".to_owned(), ["no", "yes"].map(str::to_owned).to_vec()),
        ]),
    })
}

fn generate_split(rng: &mut ChaCha8Rng, coins: &mut ChaCha8Rng, count: usize, config: &PhantomConfig) -> Result<Split> {
    let s = config.size;
    let mut images = Vec::with_capacity(count * s * s);
    let mut masks = Vec::with_capacity(count * s * s);
    let mut shape_masks = Vec::with_capacity(count * s * s);
    let mut shapes = Vec::with_capacity(count);
    let mut areas = Vec::with_capacity(count);
    let mut attributes = Vec::with_capacity(count * 3);
    let (mut dial_a, mut dial_b) = (Vec::with_capacity(count), Vec::with_capacity(count));
    for _ in 0..count {
        let class = rng.random_range(0..3u32);
        let lesion = Lesion::random(rng, class, s as f32);
        let (gx, gy) = (rng.random_range(-0.3..0.3f32), rng.random_range(-0.3..0.3f32));
        let base = rng.random_range(-0.1..0.3f32);
        let contrast = rng.random_range(0.5..0.9f32);
        let mut inside = 0usize;
        for y in 0..s {
            for x in 0..s {
                let (u, v) = (x as f32 + 0.5, y as f32 + 0.5);
                let in_lesion = lesion.contains(u, v);
                inside += in_lesion as usize;
                let (nx, ny) = (u / s as f32 - 0.5, v / s as f32 - 0.5);
                let mut value = base + gx * nx + gy * ny + config.noise * normal(rng);
                if in_lesion {
                    value -= contrast;
                }
                images.push(value.clamp(-1.0, 1.0));
                masks.push(in_lesion as u8);
                shape_masks.push(if in_lesion { class as u8 + 1 } else { 0 });
            }
        }
        let area = inside as f32 / (s * s) as f32;
        shapes.push(class);
        areas.push(area);
        attributes.extend([(area >= 0.1) as u8, (contrast >= 0.7) as u8, (lesion.b / lesion.a < 0.75) as u8]);
        if let Some(rho) = config.relatedness {
            // Both thresholds sit mid-way in a uniform range of width 0.4.
            let (high_contrast, bright) = ((contrast >= 0.7) as u32, (base >= 0.1) as u32);
            dial_a.push(high_contrast);
            dial_b.push(if coins.random::<f64>() < rho { high_contrast } else { bright });
        }
    }
    let mut sources = BTreeMap::new();
    sources.insert("shape".to_owned(), SourceValues::Labels(shapes));
    sources.insert("area".to_owned(), SourceValues::Values(areas));
    sources.insert("mask".to_owned(), SourceValues::Masks { height: s, width: s, values: masks });
    sources.insert("shape_mask".to_owned(), SourceValues::Masks { height: s, width: s, values: shape_masks });
    sources.insert("attributes".to_owned(), SourceValues::MultiLabels { width: 3, values: attributes });
    if config.relatedness.is_some() {
        sources.insert("dial_a".to_owned(), SourceValues::Labels(dial_a));
        sources.insert("dial_b".to_owned(), SourceValues::Labels(dial_b));
    }
    Split::new(images, ImageShape { channels: 1, height: s, width: s }, sources)
}

/// One lesion in image coordinates: centre, half-extents and rotation.
struct Lesion {
    class: u32,
    cx: f32,
    cy: f32,
    a: f32,
    b: f32,
    cos: f32,
    sin: f32,
}

impl Lesion {
    fn random(rng: &mut ChaCha8Rng, class: u32, s: f32) -> Self {
        let a = rng.random_range(0.12..0.3f32) * s;
        let b = a * rng.random_range(0.55..1.0f32);
        let margin = a + 1.0;
        let angle = rng.random_range(0.0..std::f32::consts::PI);
        Lesion {
            class,
            cx: rng.random_range(margin..(s - margin).max(margin + 1e-3)),
            cy: rng.random_range(margin..(s - margin).max(margin + 1e-3)),
            a,
            b,
            cos: angle.cos(),
            sin: angle.sin(),
        }
    }

    fn contains(&self, x: f32, y: f32) -> bool {
        let (dx, dy) = (x - self.cx, y - self.cy);
        // Coordinates in the lesion's own rotated frame.
        let u = dx * self.cos + dy * self.sin;
        let v = -dx * self.sin + dy * self.cos;
        match self.class {
            0 => (u / self.a).powi(2) + (v / self.b).powi(2) <= 1.0,
            1 => u.abs() <= self.a * 0.8 && v.abs() <= self.b * 0.8,
            _ => {
                // Isosceles triangle with apex at u = a and base at u = -a.
                let t = (self.a - u) / (2.0 * self.a);
                (0.0..=1.0).contains(&t) && v.abs() <= self.b * t
            }
        }
    }
}

/// A standard normal draw (Box-Muller); avoids a dependency for one distribution.
fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> PhantomConfig {
        PhantomConfig { size: 16, train: 30, val: 10, test: 10, seed: 7, noise: 0.2, relatedness: None }
    }

    #[test]
    fn same_seed_same_pixels_other_seed_other_pixels() {
        let a = generate(&small()).unwrap();
        let b = generate(&small()).unwrap();
        assert_eq!(a.train.images(), b.train.images());
        let c = generate(&PhantomConfig { seed: 8, ..small() }).unwrap();
        assert_ne!(a.train.images(), c.train.images());
    }

    #[test]
    fn targets_agree_with_the_mask() {
        let d = generate(&small()).unwrap();
        let (Some(SourceValues::Masks { values, .. }), Some(SourceValues::Values(areas))) = (d.test.source("mask"), d.test.source("area"))
        else {
            panic!("phantoms lack mask or area");
        };
        for (i, area) in areas.iter().enumerate() {
            let pixels: usize = values[i * 256..(i + 1) * 256].iter().map(|&v| v as usize).sum();
            assert!(pixels > 0, "sample {i} has an empty lesion");
            assert!((pixels as f32 / 256.0 - area).abs() < 1e-6);
        }
        let Some(SourceValues::Labels(shapes)) = d.train.source("shape") else { panic!() };
        assert!(shapes.iter().all(|&c| c < 3));
        assert!((0..3).all(|c| shapes.contains(&c)), "all classes appear in 30 samples");
    }

    #[test]
    fn lesions_are_darker_than_background() {
        let d = generate(&PhantomConfig { noise: 0.0, ..small() }).unwrap();
        let Some(SourceValues::Masks { values, .. }) = d.train.source("mask") else { panic!() };
        let (mut inside, mut outside) = ((0.0, 0), (0.0, 0));
        for (p, &m) in d.train.images().iter().zip(values) {
            if m == 1 {
                inside = (inside.0 + p, inside.1 + 1)
            } else {
                outside = (outside.0 + p, outside.1 + 1)
            }
        }
        assert!(inside.0 / (inside.1 as f32) < outside.0 / (outside.1 as f32) - 0.3);
    }

    #[test]
    fn the_relatedness_dial_mixes_the_same_and_an_independent_feature() {
        let config = |rho: f64| PhantomConfig { train: 2000, relatedness: Some(rho), ..small() };
        let labels = |d: &Dataset, name: &str| match d.train.source(name) {
            Some(SourceValues::Labels(l)) => l.clone(),
            _ => panic!("no source {name}"),
        };
        let agreement = |rho: f64| {
            let d = generate(&config(rho)).unwrap();
            let (a, b) = (labels(&d, "dial_a"), labels(&d, "dial_b"));
            a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
        };
        assert_eq!(agreement(1.0), 1.0);
        // Independent features agree half the time; rho = 0.5 halfway to 1.
        assert!((agreement(0.0) - 0.5).abs() < 0.05, "{}", agreement(0.0));
        assert!((agreement(0.5) - 0.75).abs() < 0.05, "{}", agreement(0.5));
        // The dial changes nothing else.
        let (plain, dialled) = (generate(&PhantomConfig { train: 2000, ..small() }).unwrap(), generate(&config(0.3)).unwrap());
        assert_eq!(plain.train.images(), dialled.train.images());
        assert_eq!(plain.train.source("attributes"), dialled.train.source("attributes"));
        assert!(plain.train.source("dial_a").is_none());
        assert!(generate(&config(1.5)).is_err());
    }
}
