//! Search settings: the paper's MNIST values by default (`p/default_wan.json` + `p/mnist256.json`),
//! the paper's swing-up values (`p/default_wan.json` + `p/swingup.json`), quick presets, a JSON config
//! file and command-line overrides. The default semantics is `neat`, which is what a config without
//! the field has always meant; the presets choose `reference`.

use super::mutation::MutationRates;
use crate::error::{Error, Result};
use crate::eval::backend::Backend;
use crate::genome::{Activation, Semantics};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// What the networks are judged on.
    pub task: TaskKind,
    pub population: usize,
    pub generations: u64,
    /// The shared weight values every network is judged at.
    pub weights: Vec<f32>,
    /// Training images per generation's minibatch.
    pub minibatch: usize,
    pub tournament: usize,
    pub cull_ratio: f64,
    pub elite_ratio: f64,
    /// Probability that a generation ranks on (mean, 1/connections) rather than (mean, max).
    pub prob_moo: f64,
    /// Probability that each bias/input -> output connection starts enabled.
    pub init_enable: f64,
    pub mutation: MutationRates,
    /// Activations hidden nodes draw from (reference ids).
    pub activations: Vec<Activation>,
    pub seed: u64,
    /// Write a checkpoint every this many generations (and on Ctrl-C and at the end).
    pub checkpoint_every: u64,
    pub backend: Backend,
    /// Only the first N training images (0: all 60,000).
    pub train_limit: usize,
    /// Control tasks: episodes per weight value, each network's fitness being the mean return.
    pub episodes: usize,
    /// How genomes are expressed and ranked. A config file without it means `neat` (what it meant
    /// before the setting existed); `--preset paper` and `quick` use `reference`.
    #[serde(default)]
    pub semantics: Semantics,
    /// Training images a candidate champion is re-checked on before it replaces the champion (all of
    /// them when the training set is smaller). The default, 20,000, is as many as the reference's
    /// 20 fresh 1,000-image minibatches.
    pub champion_check: usize,
    /// Not a setting: the identity of the run directory this config belongs to, also kept in the
    /// run's checkpoint, so that a resume refuses another run's checkpoint. Empty outside a run.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_id: String,
    /// Evaluate children as deltas of their parents where the evaluator can (the same results,
    /// less work); off only to compare or bisect.
    pub delta: bool,
}

/// The tasks a search can run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// MNIST digits, 16x16 (256 inputs, 10 outputs).
    #[default]
    Mnist,
    /// The cart-pole swing-up (5 inputs, 1 output).
    Swingup,
}

impl TaskKind {
    /// Inputs and outputs of the task's networks.
    pub fn shape(self) -> (u32, u32) {
        match self {
            TaskKind::Mnist => (256, 10),
            TaskKind::Swingup => (crate::swingup::physics::N_OBSERVATIONS, 1),
        }
    }
}

/// The default champion re-check: 20,000 fresh training images (the reference: 20 x 1,000).
pub const CHAMPION_CHECK: usize = 20_000;
/// Most networks per generation: memory grows with the population (the paper uses 960).
pub const MAX_POPULATION: usize = 100_000;
/// Most shared weight values a network is judged at (the paper uses 6).
pub const MAX_WEIGHTS: usize = 1024;

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            task: TaskKind::Mnist,
            population: 960,
            generations: 4096,
            weights: crate::eval::TRAINING_WEIGHTS.to_vec(),
            minibatch: 1000,
            tournament: 32,
            cull_ratio: 0.2,
            elite_ratio: 0.2,
            prob_moo: 0.8,
            init_enable: 0.05,
            mutation: MutationRates::default(),
            activations: Activation::MNIST_POOL.to_vec(),
            seed: 0,
            checkpoint_every: 10,
            backend: Backend::Auto,
            train_limit: 0,
            episodes: 3,
            semantics: Semantics::Neat,
            champion_check: CHAMPION_CHECK,
            run_id: String::new(),
            delta: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// The paper's MNIST settings (population 960, 4096 generations), run as its code ran them.
    Paper,
    /// Real progress on MNIST in a few minutes on two CPU cores; the paper's semantics, smaller.
    Quick,
}

impl SearchConfig {
    pub fn preset(p: Preset) -> SearchConfig {
        match p {
            Preset::Paper => SearchConfig { semantics: Semantics::Reference, ..Default::default() },
            Preset::Quick => SearchConfig {
                population: 480,
                generations: 300,
                semantics: Semantics::Reference,
                ..Default::default()
            },
        }
    }

    /// The preset `p` for `task`.
    pub fn preset_for(task: TaskKind, p: Preset) -> SearchConfig {
        match task {
            TaskKind::Mnist => SearchConfig::preset(p),
            TaskKind::Swingup => SearchConfig::swingup(p),
        }
    }

    /// The reference's swing-up run (`p/default_wan.json` + `p/swingup.json`): population 192, 1024
    /// generations, 3 episodes per weight value, tournament 8, elite and cull 0.2, half the initial
    /// connections enabled, the same six weights and mutation rates as MNIST, and hidden activations
    /// 1-10 (step included). Quick: a smaller population for a few minutes on two cores.
    pub fn swingup(p: Preset) -> SearchConfig {
        let paper = SearchConfig {
            task: TaskKind::Swingup,
            population: 192,
            generations: 1024,
            tournament: 8,
            init_enable: 0.5,
            activations: Activation::ALL[..10].to_vec(),
            episodes: 3,
            semantics: Semantics::Reference,
            ..Default::default()
        };
        match p {
            Preset::Paper => paper,
            Preset::Quick => SearchConfig { population: 96, generations: 256, ..paper },
        }
    }

    pub fn load(path: &Path) -> Result<SearchConfig> {
        Self::from_json(&crate::fsutil::read_text(path, crate::fsutil::MAX_CONFIG_FILE)?, path)
    }

    /// Parses and validates a config's JSON text; `path` only names the file in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<SearchConfig> {
        let c: SearchConfig = serde_json::from_str(text).map_err(|e| {
            Error::format(path, format!("not a valid search config: {}", crate::fsutil::clip(e)))
        })?;
        c.validate().map_err(|e| Error::format(path, e.to_string()))?;
        Ok(c)
    }

    /// Per generation: how many are culled, kept as elites, and bred as children.
    pub fn selection_counts(&self) -> (usize, usize, usize) {
        let culled = (self.cull_ratio * self.population as f64).floor() as usize;
        let elites = (self.elite_ratio * (self.population - culled) as f64).floor() as usize;
        (culled, elites, self.population - elites)
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if !(2..=MAX_POPULATION).contains(&self.population) {
            return bad(format!("population must be from 2 to {MAX_POPULATION} (is {})", self.population));
        }
        if self.generations == 0 {
            return bad("generations must be at least 1".into());
        }
        if self.weights.is_empty() || self.weights.iter().any(|w| !w.is_finite()) {
            return bad("weights must be a non-empty list of finite numbers".into());
        }
        if self.weights.len() > MAX_WEIGHTS {
            return bad(format!("at most {MAX_WEIGHTS} weight values (has {})", self.weights.len()));
        }
        if self.minibatch == 0 || self.tournament == 0 {
            return bad("minibatch and tournament must be at least 1".into());
        }
        if self.tournament > MAX_POPULATION {
            return bad(format!("tournament must be at most {MAX_POPULATION} (is {})", self.tournament));
        }
        for (name, v) in [
            ("cull_ratio", self.cull_ratio),
            ("elite_ratio", self.elite_ratio),
            ("prob_moo", self.prob_moo),
            ("init_enable", self.init_enable),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("{name} must be between 0 and 1 (is {v})"));
            }
        }
        if self.cull_ratio >= 1.0 {
            return bad("cull_ratio must be below 1: someone has to breed".into());
        }
        let m = &self.mutation;
        let rates = [m.add_connection, m.add_node, m.enable, m.change_activation];
        if rates.iter().any(|r| !(*r >= 0.0 && r.is_finite())) || rates.iter().sum::<f64>() <= 0.0 {
            return bad("mutation rates must be non-negative and not all zero".into());
        }
        if self.activations.is_empty() {
            return bad("the activation pool is empty".into());
        }
        if self.episodes == 0 {
            return bad("episodes must be at least 1".into());
        }
        if self.champion_check == 0 {
            return bad(
                "champion_check must be at least 1 image (default: 20,000; 60000 is the whole training set)"
                    .into(),
            );
        }
        if self.checkpoint_every == 0 {
            return bad("checkpoint_every must be at least 1".into());
        }
        Ok(())
    }
}
