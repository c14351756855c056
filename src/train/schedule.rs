//! Learning-rate schedules (candle-nn has none).

use serde::{Deserialize, Serialize};

/// A learning-rate schedule over the epochs of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// The same learning rate throughout.
    #[default]
    Constant,
    /// MedMNIST v2's `MultiStepLR(milestones=[0.5 E, 0.75 E], gamma=0.1)`.
    Medmnist,
}

impl Schedule {
    /// Learning rate for 0-based `epoch` of `epochs`, as PyTorch's MultiStepLR stepped once
    /// per epoch gives it.
    pub fn lr(self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            Schedule::Constant => base,
            Schedule::Medmnist => {
                let milestones = [epochs / 2, (epochs * 3) / 4];
                let passed = milestones.iter().filter(|&&m| epoch >= m).count();
                base * 0.1f64.powi(passed as i32)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medmnist_schedule_drops_tenfold_at_half_and_three_quarters() {
        let s = Schedule::Medmnist;
        assert_eq!(s.lr(1e-3, 0, 100), 1e-3);
        assert_eq!(s.lr(1e-3, 49, 100), 1e-3);
        assert!((s.lr(1e-3, 50, 100) - 1e-4).abs() < 1e-12);
        assert!((s.lr(1e-3, 74, 100) - 1e-4).abs() < 1e-12);
        assert!((s.lr(1e-3, 75, 100) - 1e-5).abs() < 1e-12);
        assert_eq!(Schedule::Constant.lr(0.1, 99, 100), 0.1);
    }
}
