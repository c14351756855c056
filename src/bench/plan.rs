//! Expanding a suite into its runs: experiment x design x weighting x seed.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{Experiment, ModelConfig, Suite};
use crate::hyper::ParamTable;
use crate::model::arch::Design;
use crate::train::TrainConfig;
use crate::weighting::WeightingKind;

/// One training run of a suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSpec {
    /// The suite's name.
    pub suite: String,
    /// The experiment: dataset, tasks and overrides.
    pub experiment: Experiment,
    /// The architecture.
    pub design: Design,
    /// `None` for STL, which trains each task alone and so has nothing to weight.
    pub weighting: Option<WeightingKind>,
    /// Seed of the initial weights, the data order and the bootstrap.
    pub seed: u64,
    /// Training settings, with the experiment's overrides applied.
    pub train: TrainConfig,
    /// Backbone and width, with the experiment's overrides applied.
    pub model: ModelConfig,
    /// The suite's overrides of the design's hyper-parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design_params: Option<ParamTable>,
    /// The suite's overrides of the weighting method's hyper-parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighting_params: Option<ParamTable>,
}

impl RunSpec {
    /// The weighting method's name; `none` for STL.
    pub fn weighting_name(&self) -> &'static str {
        self.weighting.map_or("none", WeightingKind::as_str)
    }

    /// A folder-safe name, unique within the suite.
    pub fn run_id(&self) -> String {
        format!("{}__{}-{}__seed{}", self.experiment.name, self.design, self.weighting_name(), self.seed)
    }

    /// SHA-256 over every setting that changes this run's numbers (experiment with its data
    /// and tasks, design, weighting, seed, training and model settings, hyper-parameter
    /// overrides, subgroups and shifts). These join the hash only when present, so runs without
    /// them keep the hashes they had before they could be set.
    pub fn config_hash(&self) -> String {
        let mut json = serde_json::to_string(&(
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
        if self.design_params.is_some() || self.weighting_params.is_some() {
            json += &serde_json::to_string(&(&self.design_params, &self.weighting_params)).unwrap_or_default();
        }
        if self.experiment.subgroups.is_some() || self.experiment.shift.is_some() {
            json += &serde_json::to_string(&(&self.experiment.subgroups, &self.experiment.shift)).unwrap_or_default();
        }
        // Longitudinal data: the patient fold and the phantom settings decide the samples.
        // (Appended only when set, so the hashes of every other run stay as they were; the
        // report-only `pool` is left out.)
        if self.experiment.folds.is_some() || self.experiment.longitudinal_phantoms.is_some() {
            json += &serde_json::to_string(&(&self.experiment.folds, &self.experiment.longitudinal_phantoms)).unwrap_or_default();
        }
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
                if design.single_task { vec![None] } else { suite.weightings_of(exp, design).into_iter().map(Some).collect() };
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
                        design_params: suite.design_params_of(design).cloned(),
                        weighting_params: weighting.and_then(|w| suite.weighting_params_of(w)).cloned(),
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
        let stl = runs.iter().filter(|r| r.design.single_task).count();
        let hps = runs.iter().filter(|r| r.design.as_str() == "hps").count();
        assert_eq!(stl, suite.seeds.len());
        assert_eq!(hps, suite.seeds.len() * suite.weightings.len());
        let ids: std::collections::BTreeSet<_> = runs.iter().map(RunSpec::run_id).collect();
        assert_eq!(ids.len(), runs.len());
        let hashes: std::collections::BTreeSet<_> = runs.iter().map(RunSpec::config_hash).collect();
        assert_eq!(hashes.len(), runs.len());
        assert_eq!(runs[0].config_hash(), plan(&suite)[0].config_hash());
    }

    #[test]
    fn the_patient_fold_changes_the_config_hash_and_the_report_pool_does_not() {
        let (suite, _, _) = Suite::find("longitudinal").unwrap();
        let first = |s: &Suite, name: &str| plan(s).into_iter().find(|r| r.experiment.name == name).unwrap();
        let run = first(&suite, "btp-fold0-siamese");
        let mut other = run.clone();
        other.experiment.folds.as_mut().unwrap().test = 1;
        assert_ne!(run.config_hash(), other.config_hash());
        let mut pooled = run.clone();
        pooled.experiment.pool = Some("another".into());
        assert_eq!(run.config_hash(), pooled.config_hash());
        let phantoms = first(&suite, "phantoms-siamese");
        let mut noisier = phantoms.clone();
        noisier.experiment.longitudinal_phantoms.as_mut().unwrap().noise = 0.5;
        assert_ne!(phantoms.config_hash(), noisier.config_hash());
    }

    #[test]
    fn hyper_parameters_change_the_config_hash_only_when_set() {
        let (mut suite, _, _) = Suite::find("smoke").unwrap();
        let pcgrad: WeightingKind = "pcgrad".parse().unwrap();
        let pcgrad_run = |s: &Suite| plan(s).into_iter().find(|r| r.weighting == Some(pcgrad)).unwrap();
        let default_hash = pcgrad_run(&suite).config_hash();
        let with = |text: &str| {
            let mut run = pcgrad_run(&suite);
            run.weighting_params = Some(text.parse().unwrap());
            run.config_hash()
        };
        assert_ne!(with("x = 0.4"), default_hash);
        assert_ne!(with("x = 0.4"), with("x = 0.3"), "two values of one hyper-parameter");
        let cagrad: WeightingKind = "cagrad".parse().unwrap();
        suite.weighting_params.insert(cagrad, "c = 0.4".parse().unwrap());
        assert_eq!(pcgrad_run(&suite).config_hash(), default_hash, "another method's overrides leave this run alone");
        suite.weighting_params.insert(pcgrad, ParamTable::new());
        assert_ne!(pcgrad_run(&suite).config_hash(), default_hash, "the suite's section reaches the run");
    }
}
