//! Reporting: how good a network is, measured the ways the paper does, with the paper's numbers
//! beside ours, plus pictures and a Graphviz export.
//!
//! [`report`] runs one `evaluate` call (cross-entropy and accuracy at the chosen weight values) and
//! one `predict` call for every other weight value at once (the chosen values, the sweep grid and the
//! random draws in a single batch), then derives everything from the predicted classes:
//! - **random shared weight**: accuracy at `draws` weights from U(-2, 2) (ChaCha8 seeded by `seed`),
//!   mean and population std;
//! - **tuned shared weight**: the best accuracy over the sweep grid (first grid point on ties);
//! - **ensemble**: one vote per weight value of the chosen set, most votes wins, ties to the lowest
//!   class index ([`vote::TIE_RULE`]); its per-digit accuracy and confusion matrix;
//! - per-digit accuracy at every sweep weight (the heat map's data);
//! - the network's size and each output's receptive field ([`receptive`]).

pub mod curves;
pub mod dot;
pub mod font;
pub mod graph;
pub mod pictures;
pub mod receptive;
pub mod stats;
pub mod vote;

use crate::error::{Error, Result};
use crate::eval::{Evaluator, TRAINING_WEIGHTS};
use crate::genome::Genome;
use crate::program::{compile, Programs};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::time::Instant;

/// The paper's MNIST results (Gaier & Ha 2019, test set), as fractions.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PaperNumbers {
    pub random_mean: f64,
    pub random_std: f64,
    pub ensemble: f64,
    pub tuned: f64,
    pub trained: f64,
}

pub const PAPER: PaperNumbers =
    PaperNumbers { random_mean: 0.820, random_std: 0.187, ensemble: 0.916, tuned: 0.919, trained: 0.942 };

/// A grid of weight values `start, start + step, ...` up to `stop` (included within rounding).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sweep {
    pub start: f64,
    pub stop: f64,
    pub step: f64,
}

impl Default for Sweep {
    fn default() -> Sweep {
        Sweep { start: -2.0, stop: 2.0, step: 0.1 }
    }
}

/// Most grid points a sweep may have.
pub const MAX_SWEEP_POINTS: usize = 100_001;
/// Most random draws.
pub const MAX_DRAWS: usize = 1_000_000;
/// Most (weight value, example) predictions one report holds (the default report on the MNIST test
/// set makes 1.5 million).
pub const MAX_PREDICTIONS: u64 = 1 << 28;

impl Sweep {
    /// The grid values, each rounded to 9 decimals so that `-2 + 15 * 0.1` is exactly `-0.5`.
    pub fn grid(&self) -> Result<Vec<f32>> {
        let Sweep { start, stop, step } = *self;
        if !(start.is_finite() && stop.is_finite() && step.is_finite()) {
            return Err(Error::Invalid(format!("sweep {self}: start, stop and step must be finite numbers")));
        }
        if step <= 0.0 {
            return Err(Error::Invalid(format!("sweep {self}: the step must be positive")));
        }
        if stop < start {
            return Err(Error::Invalid(format!("sweep {self}: stop is below start")));
        }
        let n = ((stop - start) / step + 1e-9).floor() + 1.0;
        if n > MAX_SWEEP_POINTS as f64 {
            return Err(Error::Invalid(format!(
                "sweep {self} has {n} points, at most {MAX_SWEEP_POINTS} are allowed: use a larger step"
            )));
        }
        Ok((0..n as usize)
            .map(|i| ((start + i as f64 * step) * 1e9).round() / 1e9)
            .map(|x| x as f32)
            .collect())
    }
}

impl std::fmt::Display for Sweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.start, self.stop, self.step)
    }
}

impl std::str::FromStr for Sweep {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Sweep, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let [a, b, c] = parts.as_slice() else {
            return Err(format!("{} is not START:STOP:STEP (for example -2:2:0.1)", crate::fsutil::quote(s)));
        };
        let num = |x: &str| {
            x.trim().parse::<f64>().map_err(|_| format!("{} is not a number", crate::fsutil::quote(x)))
        };
        let sweep = Sweep { start: num(a)?, stop: num(b)?, step: num(c)? };
        sweep.grid().map_err(|e| e.to_string())?;
        Ok(sweep)
    }
}

/// Which weight values vote in the ensemble.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EnsembleSet {
    /// The per-weight values (`--weights`, by default the 6 training values).
    #[default]
    Training,
    /// Every point of the sweep grid.
    Sweep,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Weight values for the per-weight rows (cross-entropy and accuracy).
    pub weights: Vec<f32>,
    /// Random shared-weight draws from U(-2, 2).
    pub draws: usize,
    pub seed: u64,
    pub sweep: Sweep,
    pub ensemble: EnsembleSet,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            weights: TRAINING_WEIGHTS.to_vec(),
            draws: 100,
            seed: 0,
            sweep: Sweep::default(),
            ensemble: EnsembleSet::Training,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct NetworkSummary {
    /// All nodes: bias, inputs, outputs and hidden.
    pub nodes: usize,
    pub hidden_nodes: usize,
    /// Hidden nodes from which an output can be reached (the others cannot change any result).
    pub live_hidden_nodes: usize,
    pub hidden_layers: u32,
    /// Connections of the network as it runs (under `neat` semantics, the enabled genes).
    pub enabled_connections: usize,
    /// Connection genes, disabled ones included.
    pub connection_genes: usize,
    /// How the genes are expressed.
    pub semantics: crate::genome::Semantics,
    /// Inputs with a path to at least one output.
    pub inputs_used: usize,
    /// Most node values live at once when evaluating (outputs included): the value slots the GPU's
    /// on-chip kernel needs per image and weight.
    pub max_live_values: usize,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct WeightRow {
    pub weight: f32,
    pub accuracy: f64,
    pub mean_cross_entropy: f64,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct WeightAccuracy {
    pub weight: f32,
    pub accuracy: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RandomSummary {
    pub seed: u64,
    pub draws: usize,
    /// Mean, population std, min and max of the accuracies; `None` with 0 draws.
    pub accuracy: Option<stats::MeanStd>,
    pub samples: Vec<WeightAccuracy>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TunedSummary {
    pub sweep: Sweep,
    pub best_weight: f32,
    pub best_accuracy: f64,
    pub grid: Vec<WeightAccuracy>,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnsembleSummary {
    pub set: EnsembleSet,
    pub weights: Vec<f32>,
    pub tie_rule: &'static str,
    /// Examples decided by the tie rule.
    pub ties: usize,
    pub accuracy: f64,
    /// Accuracy within each true digit; `None` for a digit without examples.
    pub per_digit: Vec<Option<f64>>,
    /// `confusion[true digit][predicted digit]`.
    pub confusion: Vec<Vec<u32>>,
}

/// Per-digit accuracy at every sweep weight: the heat map's data.
#[derive(Clone, Debug, Serialize)]
pub struct DigitSweep {
    pub weights: Vec<f32>,
    /// `accuracy[digit][k]` at `weights[k]`; `None` for a digit without examples.
    pub accuracy: Vec<Vec<Option<f64>>>,
    /// Accuracy over all examples at each weight.
    pub overall: Vec<f64>,
    /// The best weight of each digit (first on ties), never 0: at w = 0 every output is 0 and the
    /// first class wins by default, which says nothing about the network.
    pub best_weight: Vec<Option<f32>>,
}

/// A network with individually trained weights (`wann train`) evaluated with them.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TrainedSummary {
    /// Connections with their own weight (the expressed ones that reach an output).
    pub connections: usize,
    pub accuracy: f64,
    pub mean_cross_entropy: f64,
}

/// The trained-weights row of `genome` on the examples `indices` of `data`; `None` for a shared-weight
/// network.
pub fn trained_summary(
    genome: &Genome,
    data: &crate::data::Dataset,
    indices: &[u32],
) -> Result<Option<TrainedSummary>> {
    if genome.trained.is_none() {
        return Ok(None);
    }
    if indices.is_empty() {
        return Err(Error::Invalid("there are no examples to evaluate on (an example limit of 0?)".into()));
    }
    let stats = crate::train::evaluate(genome, data, indices)?;
    let n = indices.len() as f64;
    Ok(Some(TrainedSummary {
        connections: compile(genome)?.edges.len(),
        accuracy: stats.correct as f64 / n,
        mean_cross_entropy: stats.ce_sum / n,
    }))
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub network: NetworkSummary,
    pub examples: usize,
    pub evaluator: String,
    pub per_weight: Vec<WeightRow>,
    pub random: RandomSummary,
    pub tuned: TunedSummary,
    pub ensemble: EnsembleSummary,
    pub per_digit_sweep: DigitSweep,
    pub receptive_fields: Vec<receptive::ReceptiveField>,
    /// With individually trained weights, for a trained network ([`trained_summary`]); `None` otherwise.
    pub trained: Option<TrainedSummary>,
    pub paper: PaperNumbers,
    /// Seconds spent in the two evaluator calls.
    pub evaluation_seconds: f64,
}

/// The random shared weights of a report: `draws` values from U(-2, 2), ChaCha8 seeded by `seed`.
pub fn random_weights(draws: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..draws).map(|_| rng.random_range(-2.0f32..2.0)).collect()
}

/// Everything about `genome` on the examples `0..labels.len()` of the dataset `evaluator` was built
/// with (`labels` are that dataset's labels).
pub fn report(
    evaluator: &mut dyn Evaluator,
    genome: &Genome,
    labels: &[u8],
    options: &Options,
) -> Result<Report> {
    if labels.is_empty() {
        return Err(Error::Invalid("there are no examples to evaluate on (an example limit of 0?)".into()));
    }
    if options.weights.is_empty() {
        return Err(Error::Invalid("give at least one weight value".into()));
    }
    if let Some(bad) = options.weights.iter().find(|w| !w.is_finite()) {
        return Err(Error::Invalid(format!("weight {bad} is not a finite number")));
    }
    if options.draws > MAX_DRAWS {
        return Err(Error::Invalid(format!(
            "{} random draws is too many (at most {MAX_DRAWS})",
            options.draws
        )));
    }
    let grid = options.sweep.grid()?;
    // One predicted class per (weight value, example), held at once: bounded before any work.
    let predictions = (options.weights.len() + grid.len() + options.draws) as u64 * labels.len() as u64;
    if predictions > MAX_PREDICTIONS {
        return Err(Error::Invalid(format!(
            "{} weight values (per-weight, sweep and random draws) x {} examples is {predictions} predictions, \
             more than {MAX_PREDICTIONS}: use fewer draws, a coarser sweep or fewer examples",
            options.weights.len() + grid.len() + options.draws,
            labels.len()
        )));
    }
    let program = compile(genome)?;
    let topo = graph::Topology::new(genome)?;
    let fields = receptive::receptive_fields(genome)?;
    let draws = random_weights(options.draws, options.seed);
    let n = labels.len();
    let indices: Vec<u32> = (0..n as u32).collect();

    // One batch: per-weight values, then the sweep grid, then the random draws.
    let all: Vec<f32> = options.weights.iter().chain(&grid).chain(&draws).copied().collect();
    let started = Instant::now();
    let evaluation = evaluator.evaluate(&Programs::pack([&program]), &options.weights, &indices)?;
    let predictions = evaluator.predict(&program, &all, &indices, false)?;
    let evaluation_seconds = started.elapsed().as_secs_f64();
    if predictions.n_weights != all.len()
        || predictions.n_examples != n
        || predictions.classes.len() != all.len() * n
    {
        return Err(Error::Invalid(format!(
            "the evaluator returned {} predictions for {} weights x {n} examples",
            predictions.classes.len(),
            all.len()
        )));
    }
    let classes = (genome.n_outputs as usize).max(labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0));
    let acc_at = |k: usize| stats::accuracy(predictions.for_weight(k), labels);

    let per_weight = options
        .weights
        .iter()
        .enumerate()
        .map(|(k, &weight)| WeightRow {
            weight,
            accuracy: evaluation.accuracy(0, k),
            mean_cross_entropy: evaluation.mean_ce(0, k),
        })
        .collect();

    let off_grid = options.weights.len();
    let off_draws = off_grid + grid.len();
    let grid_acc: Vec<WeightAccuracy> = grid
        .iter()
        .enumerate()
        .map(|(k, &weight)| WeightAccuracy { weight, accuracy: acc_at(off_grid + k) })
        .collect();
    let best = grid_acc
        .iter()
        .fold(
            None::<WeightAccuracy>,
            |b, g| if b.is_none_or(|b| g.accuracy > b.accuracy) { Some(*g) } else { b },
        )
        .ok_or_else(|| Error::Invalid("the sweep grid is empty".into()))?;

    let samples: Vec<WeightAccuracy> = draws
        .iter()
        .enumerate()
        .map(|(k, &weight)| WeightAccuracy { weight, accuracy: acc_at(off_draws + k) })
        .collect();
    let random = RandomSummary {
        seed: options.seed,
        draws: options.draws,
        accuracy: stats::mean_std(&samples.iter().map(|s| s.accuracy).collect::<Vec<_>>()),
        samples,
    };

    let (voter_offset, voter_weights) = match options.ensemble {
        EnsembleSet::Training => (0, options.weights.clone()),
        EnsembleSet::Sweep => (off_grid, grid.clone()),
    };
    let voters: Vec<&[u8]> =
        (0..voter_weights.len()).map(|k| predictions.for_weight(voter_offset + k)).collect();
    let v = vote::vote(&voters)?;
    let confusion = stats::confusion(&v.classes, labels, classes);
    let ensemble = EnsembleSummary {
        set: options.ensemble,
        weights: voter_weights,
        tie_rule: vote::TIE_RULE,
        ties: v.ties,
        accuracy: stats::accuracy(&v.classes, labels),
        per_digit: stats::per_class_accuracy(&confusion),
        confusion,
    };

    let by_weight: Vec<Vec<Option<f64>>> = (0..grid.len())
        .map(|k| stats::per_class_accuracy_of(predictions.for_weight(off_grid + k), labels, classes))
        .collect();
    let digit_acc: Vec<Vec<Option<f64>>> =
        (0..classes).map(|d| by_weight.iter().map(|row| row[d]).collect()).collect();
    let best_weight = digit_acc
        .iter()
        .map(|accs| {
            let mut best: Option<(usize, f64)> = None;
            for (k, a) in accs.iter().enumerate().filter(|&(k, _)| grid[k] != 0.0) {
                if let Some(a) = *a {
                    if best.is_none_or(|(_, b)| a > b) {
                        best = Some((k, a));
                    }
                }
            }
            best.map(|(k, _)| grid[k])
        })
        .collect();
    let per_digit_sweep = DigitSweep {
        weights: grid.clone(),
        accuracy: digit_acc,
        overall: grid_acc.iter().map(|g| g.accuracy).collect(),
        best_weight,
    };

    let mut used = vec![false; genome.n_inputs as usize];
    for f in &fields {
        for (u, &p) in used.iter_mut().zip(&f.paths) {
            *u |= p > 0.0;
        }
    }
    let network = NetworkSummary {
        nodes: genome.node_count(),
        hidden_nodes: genome.hidden.len(),
        live_hidden_nodes: program.ops.len() - genome.n_outputs as usize,
        hidden_layers: topo.hidden_layers,
        enabled_connections: genome.expressed_connections(),
        connection_genes: genome.conns.len(),
        semantics: genome.semantics,
        inputs_used: used.iter().filter(|&&u| u).count(),
        max_live_values: program.slot_map().n_slots as usize,
    };

    Ok(Report {
        network,
        examples: n,
        evaluator: evaluator.describe(),
        per_weight,
        random,
        tuned: TunedSummary {
            sweep: options.sweep,
            best_weight: best.weight,
            best_accuracy: best.accuracy,
            grid: grid_acc,
        },
        ensemble,
        per_digit_sweep,
        receptive_fields: fields,
        trained: None,
        paper: PAPER,
        evaluation_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_sweep_has_41_points_and_hits_the_training_values() {
        let g = Sweep::default().grid().unwrap();
        assert_eq!(g.len(), 41);
        assert_eq!(g[0], -2.0);
        assert_eq!(g[40], 2.0);
        assert_eq!(g[20], 0.0);
        for w in TRAINING_WEIGHTS {
            assert!(g.contains(&w), "{w} is on the grid");
        }
    }

    #[test]
    fn sweep_parsing_and_errors() {
        let s: Sweep = "-1:1:0.5".parse().unwrap();
        assert_eq!(s.grid().unwrap(), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!("0:0:1".parse::<Sweep>().unwrap().grid().unwrap(), vec![0.0]);
        for bad in ["1:2", "a:1:0.1", "1:0:0.1", "0:1:0", "0:1:-0.1", "0:1e9:1e-9", "nan:1:0.1"] {
            assert!(bad.parse::<Sweep>().is_err(), "{bad} is rejected");
        }
    }

    #[test]
    fn random_weights_are_seeded_and_in_range() {
        let a = random_weights(100, 7);
        assert_eq!(a, random_weights(100, 7));
        assert_ne!(a, random_weights(100, 8));
        assert!(a.iter().all(|w| (-2.0..2.0).contains(w)));
    }
}
