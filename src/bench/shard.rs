//! Splitting a suite's run grid across machines: shard `i` of `n` runs the runs whose
//! position in the (fixed) plan is `i` modulo `n`, so shards are disjoint, cover the grid,
//! and do not depend on what has already run.

use crate::{Error, Result};

/// Shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard's number, `0..count`.
    pub index: usize,
    /// Number of shards the grid is split into.
    pub count: usize,
}

impl Shard {
    /// Parses `i/n` with `0 <= i < n`.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || Error::Invalid(format!("--shard '{text}': expected i/n with 0 <= i < n, e.g. 0/4"));
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The shard of a Slurm job-array task, from `SLURM_ARRAY_TASK_ID`,
    /// `SLURM_ARRAY_TASK_COUNT` and `SLURM_ARRAY_TASK_MIN` (arrays may start at 1).
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        let (Some(id), Some(count)) = (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_COUNT")) else {
            return Ok(None);
        };
        let min = var("SLURM_ARRAY_TASK_MIN").unwrap_or_else(|| "0".into());
        let parse =
            |name: &str, v: &str| v.trim().parse::<usize>().map_err(|_| Error::Invalid(format!("{name}='{v}' is not a whole number")));
        let (id, count, min) =
            (parse("SLURM_ARRAY_TASK_ID", &id)?, parse("SLURM_ARRAY_TASK_COUNT", &count)?, parse("SLURM_ARRAY_TASK_MIN", &min)?);
        let index =
            id.checked_sub(min).ok_or_else(|| Error::Invalid(format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")))?;
        Shard::parse(&format!("{index}/{count}")).map(Some)
    }

    /// Whether the run at `position` in the plan belongs to this shard.
    pub fn contains(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_grid() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::parse(&format!("{i}/3")).unwrap()).collect();
        for pos in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.contains(pos)).count(), 1);
        }
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("1").is_err());
        assert!(Shard::parse("a/2").unwrap_err().to_string().contains("i/n"));
    }

    #[test]
    fn slurm_arrays_starting_at_one_map_to_zero_based_shards() {
        let env = |id: &'static str, min: &'static str| {
            move |k: &str| match k {
                "SLURM_ARRAY_TASK_ID" => Some(id.to_string()),
                "SLURM_ARRAY_TASK_COUNT" => Some("4".to_string()),
                "SLURM_ARRAY_TASK_MIN" => Some(min.to_string()),
                _ => None,
            }
        };
        assert_eq!(Shard::from_slurm(env("1", "1")).unwrap(), Some(Shard { index: 0, count: 4 }));
        assert_eq!(Shard::from_slurm(env("3", "0")).unwrap(), Some(Shard { index: 3, count: 4 }));
        assert_eq!(Shard::from_slurm(|_| None).unwrap(), None);
    }
}
