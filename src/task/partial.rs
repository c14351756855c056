//! Partially labelled training data: a task may see labels for only some training samples
//! (`labelled_fraction`), as clinical data come with masks for a subset of images.
//!
//! The labelled subset is drawn by group (patient, examination) where the dataset records
//! groups, so that a patient's images are labelled together or not at all; from a fixed
//! seed (`labelled_seed`, 0 by default), so that every design and every training seed sees
//! the same labelled patients and a comparison at one fraction differs only in training.
//! Only the training split is thinned: validation and test stay fully labelled, so every
//! fraction is selected and scored on the same images.

use std::collections::BTreeSet;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Task, TaskKind};
use crate::data::{Split, SplitName};

/// Which of `n` samples keep their label: whole groups, `round(fraction x groups)` of them
/// (at least one), drawn from `seed`. Samples without a group value are their own group.
pub fn labelled_subset(n: usize, groups: Option<&[String]>, fraction: f64, seed: u64) -> Vec<bool> {
    let group_of = |i: usize| groups.map_or_else(|| format!("#{i}"), |g| g[i].clone());
    let mut names: Vec<String> = (0..n).map(group_of).collect::<BTreeSet<_>>().into_iter().collect();
    let keep = ((fraction * names.len() as f64).round() as usize).clamp(1.min(names.len()), names.len());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(0x1abe_11ed);
    names.shuffle(&mut rng);
    let kept: BTreeSet<&String> = names[..keep].iter().collect();
    (0..n).map(|i| kept.contains(&group_of(i))).collect()
}

impl Task {
    /// Which samples of `split` (the `which` split) are labelled for this task: those the
    /// data label (a mask file present) and, on the training split, in the labelled
    /// fraction; `None` when all are.
    pub fn labelled(&self, split: &Split, which: SplitName) -> Option<Vec<bool>> {
        let in_data = split.labelled(&self.spec.source).filter(|_| !matches!(self.kind, TaskKind::Reconstruction { .. }));
        let fraction = self.spec.labelled_fraction.filter(|&f| f < 1.0 && which == SplitName::Train);
        let drawn = fraction.map(|f| labelled_subset(split.len(), split.groups(), f, self.spec.labelled_seed.unwrap_or(0)));
        match (in_data, drawn) {
            (None, None) => None,
            (Some(d), None) => Some(d.to_vec()),
            (None, Some(f)) => Some(f),
            (Some(d), Some(f)) => Some(d.iter().zip(&f).map(|(&a, &b)| a && b).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(n: usize, per: usize) -> Vec<String> {
        (0..n).map(|i| format!("patient{}", i / per)).collect()
    }

    #[test]
    fn the_stated_fraction_of_patients_is_kept_whole_and_deterministically() {
        let g = groups(300, 3); // 100 patients, 3 images each
        for fraction in [0.5, 0.25, 0.1] {
            let kept = labelled_subset(g.len(), Some(&g), fraction, 0);
            let patients: BTreeSet<&String> = g.iter().zip(&kept).filter(|(_, &k)| k).map(|(p, _)| p).collect();
            assert_eq!(patients.len(), (fraction * 100.0).round() as usize, "fraction {fraction}");
            for (i, p) in g.iter().enumerate() {
                assert_eq!(kept[i], patients.contains(p), "patient {p} is split between labelled and unlabelled");
            }
            assert_eq!(kept, labelled_subset(g.len(), Some(&g), fraction, 0), "deterministic");
            assert_ne!(kept, labelled_subset(g.len(), Some(&g), fraction, 1), "another seed, another subset");
        }
        assert!(labelled_subset(g.len(), Some(&g), 1.0, 0).iter().all(|&k| k));
        assert_eq!(labelled_subset(10, None, 0.01, 0).iter().filter(|&&k| k).count(), 1, "at least one sample stays labelled");
        assert_eq!(labelled_subset(40, None, 0.25, 3).iter().filter(|&&k| k).count(), 10, "ungrouped samples are their own groups");
    }
}
