//! Expanding a suite into its runs: experiment x design x weighting x seed.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{Experiment, ModelConfig, Suite};
use crate::model::arch::Design;
use crate::train::TrainConfig;
use crate::weighting::WeightingKind;

/// One training run of a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSpec {
    pub suite: String,
    pub experiment: Experiment,
    pub design: Design,
    /// `None` for STL, which trains each task alone and so has nothing to weight.
    pub weighting: Option<WeightingKind>,
    pub seed: u64,
    pub train: TrainConfig,
    pub model: ModelConfig,
}

impl RunSpec {
    pub fn weighting_name(&self) -> &'static str {
        self.weighting.map_or("none", WeightingKind::as_str)
    }

    /// A folder-safe name, unique within the suite.
    pub fn run_id(&self) -> String {
        format!("{}__{}-{}__seed{}", self.experiment.name, self.design, self.weighting_name(), self.seed)
    }

    /// SHA-256 over every setting that changes this run's numbers (experiment with its data
    /// and tasks, design, weighting, seed, training and model settings).
    pub fn config_hash(&self) -> String {
        let json = serde_json::to_string(&(
            &self.experiment.dataset,
            &self.experiment.spec,
            self.experiment.size,
            &self.experiment.tasks,
            &self.experiment.phantoms,
            self.design,
            self.weighting,
            self.seed,
            &self.train,
            &self.model,
        ))
        .unwrap_or_default();
        crate::data::fetch::hex(&Sha256::digest(json.as_bytes()))
    }
}

/// All runs of `suite`, in a fixed order (experiment, design, weighting, seed). STL appears
/// once per seed whatever the weightings, since it has no task losses to weight.
pub fn plan(suite: &Suite) -> Vec<RunSpec> {
    let mut runs = Vec::new();
    for exp in &suite.experiments {
        for &design in suite.designs_for(exp) {
            let weightings: Vec<Option<WeightingKind>> =
                if design == Design::Stl { vec![None] } else { suite.weightings_of(exp, design).into_iter().map(Some).collect() };
            for weighting in weightings {
                for &seed in &suite.seeds {
                    runs.push(RunSpec {
                        suite: suite.name.clone(),
                        experiment: exp.clone(),
                        design,
                        weighting,
                        seed,
                        train: suite.train_for(exp).clone(),
                        model: suite.model_for(exp).clone(),
                    });
                }
            }
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_crosses_designs_weightings_seeds_and_stl_once() {
        let (suite, _, _) = Suite::find("smoke").unwrap();
        let runs = plan(&suite);
        let stl = runs.iter().filter(|r| r.design == Design::Stl).count();
        let hps = runs.iter().filter(|r| r.design == Design::Hps).count();
        assert_eq!(stl, suite.seeds.len());
        assert_eq!(hps, suite.seeds.len() * suite.weightings.len());
        let ids: std::collections::BTreeSet<_> = runs.iter().map(RunSpec::run_id).collect();
        assert_eq!(ids.len(), runs.len());
        let hashes: std::collections::BTreeSet<_> = runs.iter().map(RunSpec::config_hash).collect();
        assert_eq!(hashes.len(), runs.len());
        assert_eq!(runs[0].config_hash(), plan(&suite)[0].config_hash());
    }
}
