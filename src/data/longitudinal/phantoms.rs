//! Synthetic longitudinal phantoms: the controlled version of two-time-point data, with as
//! many pairs as wanted. The follow-up's lesion size does not depend on the course, so a
//! single scan cannot tell growth from shrinkage. Each pair shows one bright lesion inside a ring ("skull") on a noisy
//! background at a baseline and a follow-up; between them the lesion grows, shrinks or stays
//! (a third each), the follow-up is shifted by a seeded misregistration of up to
//! `misregistration` pixels and its intensities drift by a gain and an offset of up to
//! `drift`. The change targets come from the masks as drawn, in image coordinates
//! ([`super::change`]), so a misregistered stable lesion shows a thin rim of change, as real
//! imperfect registration does.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::change::PairSplitBuilder;
use crate::data::{Dataset, ImageShape, Provenance, Split};
use crate::{Error, Result};

/// Size, seed and difficulty of a longitudinal phantom dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongitudinalPhantomConfig {
    /// Image side in pixels.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Training pairs.
    #[serde(default = "default_train")]
    pub train: usize,
    /// Validation pairs.
    #[serde(default = "default_eval")]
    pub val: usize,
    /// Test pairs.
    #[serde(default = "default_eval")]
    pub test: usize,
    /// Seed of the data (independent of the training seed).
    #[serde(default)]
    pub seed: u64,
    /// Standard deviation of the pixel noise.
    #[serde(default = "default_noise")]
    pub noise: f32,
    /// Largest shift of the follow-up against the baseline, pixels (each axis).
    #[serde(default = "default_misregistration")]
    pub misregistration: f32,
    /// Largest relative gain change and absolute offset of the follow-up's intensities.
    #[serde(default = "default_drift")]
    pub drift: f32,
}

fn default_size() -> usize {
    32
}
fn default_train() -> usize {
    600
}
fn default_eval() -> usize {
    200
}
fn default_noise() -> f32 {
    0.2
}
fn default_misregistration() -> f32 {
    1.5
}
fn default_drift() -> f32 {
    0.15
}

impl Default for LongitudinalPhantomConfig {
    fn default() -> Self {
        LongitudinalPhantomConfig {
            size: default_size(),
            train: default_train(),
            val: default_eval(),
            test: default_eval(),
            seed: 0,
            noise: default_noise(),
            misregistration: default_misregistration(),
            drift: default_drift(),
        }
    }
}

/// What happens to the lesion between the two time points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Course {
    Grows,
    Shrinks,
    Stable,
}

/// Generates the longitudinal phantom dataset for `config`.
pub fn generate(config: &LongitudinalPhantomConfig) -> Result<Dataset> {
    if config.size < 16 {
        return Err(Error::Invalid(format!("longitudinal phantom size {} is too small; use 16 pixels or more", config.size)));
    }
    if !(0.0..=config.size as f32 / 8.0).contains(&config.misregistration) {
        return Err(Error::Invalid(format!(
            "longitudinal phantom misregistration {} must lie in [0, size / 8 = {}]",
            config.misregistration,
            config.size / 8
        )));
    }
    if !(0.0..0.9).contains(&config.drift) {
        return Err(Error::Invalid(format!("longitudinal phantom drift {} must lie in [0, 0.9)", config.drift)));
    }
    let make = |count: usize, stream: u64| -> Result<Split> {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        rng.set_stream(stream);
        let s = config.size;
        let mut builder = PairSplitBuilder::new(s, s, false, false);
        for _ in 0..count {
            let (images, masks) = pair(&mut rng, config);
            builder.push([&images[0], &images[1]], [&masks[0], &masks[1]], None, None);
        }
        builder.finish()
    };
    let mut class_names = super::class_names();
    class_names.remove(super::PATIENT_SOURCE);
    Ok(Dataset {
        name: "longitudinal-phantoms".into(),
        shape: ImageShape { channels: 2, height: config.size, width: config.size },
        time_points: 2,
        train: make(config.train, 1)?,
        val: make(config.val, 2)?,
        test: make(config.test, 3)?,
        provenance: Provenance {
            files: vec![],
            verified: true,
            citation: "medmtl synthetic longitudinal lesion phantoms (generated, no external data)".into(),
            license: "generated".into(),
        },
        class_names,
    })
}

/// One pair: images and 0/1 masks at both time points.
fn pair(rng: &mut ChaCha8Rng, config: &LongitudinalPhantomConfig) -> ([Vec<f32>; 2], [Vec<u8>; 2]) {
    let s = config.size as f32;
    let course = match rng.random_range(0..3u32) {
        0 => Course::Grows,
        1 => Course::Shrinks,
        _ => Course::Stable,
    };
    let factor = match course {
        Course::Grows => rng.random_range(1.3..1.7f32),
        Course::Shrinks => rng.random_range(0.5..0.75f32),
        Course::Stable => rng.random_range(0.97..1.03f32),
    };
    // The follow-up radius is drawn independently of the course and the baseline is derived
    // from it, so the follow-up alone says nothing about growth: only a model that compares
    // the two time points can tell.
    let radius = rng.random_range(0.07..0.14f32) * s / factor;
    let (cx, cy) = (rng.random_range(0.35..0.65f32) * s, rng.random_range(0.35..0.65f32) * s);
    let aspect = rng.random_range(0.7..1.0f32);
    let angle = rng.random_range(0.0..std::f32::consts::PI);
    let contrast = rng.random_range(0.6..1.0f32);
    let m = config.misregistration;
    let shifts = [(0.0, 0.0), (rng.random_range(-m..=m), rng.random_range(-m..=m))];
    let d = config.drift;
    let (gain, offset) = (1.0 + rng.random_range(-d..=d), rng.random_range(-d..=d));
    let mut images = [Vec::new(), Vec::new()];
    let mut masks = [Vec::new(), Vec::new()];
    for t in 0..2 {
        let r = if t == 0 { radius } else { radius * factor };
        let (dx, dy) = shifts[t];
        let n = config.size * config.size;
        let (mut image, mut mask) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (sin, cos) = angle.sin_cos();
        for y in 0..config.size {
            for x in 0..config.size {
                let (px, py) = (x as f32 + 0.5 - dx, y as f32 + 0.5 - dy);
                // The ring: anatomy that moves with the misregistration.
                let rr = ((px - s / 2.0).powi(2) + (py - s / 2.0).powi(2)).sqrt() / (s / 2.0);
                let ring = if (0.82..0.95).contains(&rr) { 0.8 } else { 0.0 };
                let (ux, uy) = (px - cx, py - cy);
                let (a, b) = (ux * cos + uy * sin, -ux * sin + uy * cos);
                let inside = (a / r).powi(2) + (b / (r * aspect)).powi(2) <= 1.0;
                let base = -0.6 + ring + if inside { contrast } else { 0.0 };
                let noisy = base + config.noise * gaussian(rng);
                image.push(if t == 1 { gain * noisy + offset } else { noisy });
                mask.push(inside as u8);
            }
        }
        images[t] = image;
        masks[t] = mask;
    }
    (images, masks)
}

/// A standard normal draw (Box-Muller), so the generator needs no distribution crate state.
fn gaussian(rng: &mut ChaCha8Rng) -> f32 {
    let u: f32 = rng.random_range(f32::EPSILON..1.0);
    let v: f32 = rng.random_range(0.0..1.0);
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::longitudinal::{AREA_CHANGE_SOURCE, GROWS_SOURCE};
    use crate::data::SourceValues;

    #[test]
    fn phantom_pairs_are_seeded_and_change_as_drawn() {
        let config = LongitudinalPhantomConfig { train: 60, val: 10, test: 10, ..Default::default() };
        let a = generate(&config).unwrap();
        let b = generate(&config).unwrap();
        assert_eq!(a.train.images(), b.train.images(), "same seed, same pixels");
        let c = generate(&LongitudinalPhantomConfig { seed: 1, ..config.clone() }).unwrap();
        assert_ne!(a.train.images(), c.train.images());
        let Some(SourceValues::Labels(grows)) = a.train.source(GROWS_SOURCE) else { panic!() };
        let Some(SourceValues::Values(ratio)) = a.train.source(AREA_CHANGE_SOURCE) else { panic!() };
        // About a third of the lesions grow (radius x 1.3-1.7); a lesion labelled as growing
        // has a larger area at the follow-up.
        let grown = grows.iter().filter(|&&g| g == 1).count();
        assert!((12..=36).contains(&grown), "{grown} of 60 grow");
        assert!(ratio.iter().zip(grows).all(|(&r, &g)| g == 0 || r > 0.0));
        assert!(generate(&LongitudinalPhantomConfig { misregistration: 100.0, ..config }).is_err());
    }
}
