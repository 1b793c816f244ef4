//! The paper's four conditions for a swing-up network, over the same episodes (start states
//! `0..episodes` of the evaluation set of `seed`):
//! - **random individual weights**: every connection its own weight from U(-2, 2), drawn afresh for
//!   each episode;
//! - **random shared weight**: one weight from U(-2, 2) per episode;
//! - **tuned shared weight**: the weight of the sweep grid with the best mean return (first on ties);
//! - **trained weights**: the network's own per-connection weights, when it has them.
//!
//! Each is reported as mean ± population std of the episode returns, beside the paper's numbers.

use super::controller::Controller;
use super::physics::{start_states, EpisodeSet};
use super::rollout::returns;
use crate::error::{Error, Result};
use crate::genome::Genome;
use crate::report::stats::{mean_std, MeanStd};
use crate::report::Sweep;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

/// The paper's swing-up results (Gaier & Ha 2019, table 1: mean ± std over 100 episodes).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PaperSwingUp {
    pub random_individual: (f64, f64),
    pub random_shared: (f64, f64),
    pub tuned_shared: (f64, f64),
    pub tuned_individual: (f64, f64),
}

pub const PAPER: PaperSwingUp = PaperSwingUp {
    random_individual: (57.0, 121.0),
    random_shared: (515.0, 58.0),
    tuned_shared: (723.0, 16.0),
    tuned_individual: (932.0, 6.0),
};

/// Default grid of the tuned-weight sweep: fine, because good swing-up weights sit on narrow peaks.
pub const DEFAULT_SWEEP: Sweep = Sweep { start: -2.0, stop: 2.0, step: 0.01 };

#[derive(Clone, Debug)]
pub struct Options {
    pub episodes: usize,
    pub seed: u64,
    pub sweep: Sweep,
}

#[derive(Clone, Debug, Serialize)]
pub struct SweepPoint {
    pub weight: f64,
    pub mean: f64,
    pub std: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SwingUpReport {
    pub episodes: usize,
    pub seed: u64,
    /// Connections of the network as it runs (its semantics decides).
    pub connections: usize,
    pub hidden_nodes: usize,
    pub random_individual: MeanStd,
    pub random_shared: MeanStd,
    pub tuned_weight: f64,
    pub tuned_shared: MeanStd,
    pub trained: Option<MeanStd>,
    pub sweep: Sweep,
    /// Mean and std of the return at every sweep weight.
    pub curve: Vec<SweepPoint>,
    pub paper: PaperSwingUp,
    pub evaluation_seconds: f64,
}

/// The sweep's grid in f64 (each point rounded to 9 decimals, so `-2 + 261 · 0.01` is `0.61`).
pub fn sweep_grid(sweep: &Sweep) -> Result<Vec<f64>> {
    let n = sweep.grid()?.len();
    Ok((0..n).map(|i| ((sweep.start + i as f64 * sweep.step) * 1e9).round() / 1e9).collect())
}

pub fn report(genome: &Genome, options: &Options) -> Result<SwingUpReport> {
    if genome.n_inputs != super::physics::N_OBSERVATIONS || genome.n_outputs != 1 {
        return Err(Error::Invalid(format!(
            "the swing-up needs a network with 5 inputs and 1 output; this one has {} and {}",
            genome.n_inputs, genome.n_outputs
        )));
    }
    if options.episodes == 0 {
        return Err(Error::Invalid("at least one episode is needed".into()));
    }
    let t = std::time::Instant::now();
    let n = options.episodes;
    let starts = start_states(options.seed, EpisodeSet::Evaluation, n);
    let shared = Controller::from_genome(genome, None)?;

    // Random draws come from their own stream of the seed, one fixed block per episode.
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    rng.set_stream(1);
    let shared_draws: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
    let individual: Vec<Controller> = (0..n)
        .map(|_| {
            let w: Vec<f64> = genome.conns.iter().map(|_| rng.random_range(-2.0..2.0)).collect();
            Controller::from_genome(genome, Some(&w))
        })
        .collect::<Result<_>>()?;
    let random_individual: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|e| super::rollout::episode_return(&individual[e], 0.0, starts[e]))
        .collect();
    let random_shared: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|e| super::rollout::episode_return(&shared, shared_draws[e], starts[e]))
        .collect();

    let grid = sweep_grid(&options.sweep)?;
    let all = returns(std::slice::from_ref(&shared), &grid, &starts);
    let per_weight: Vec<MeanStd> = all.chunks(n).map(|c| mean_std(c).expect("n >= 1")).collect();
    let best = (0..grid.len())
        .max_by(|&a, &b| per_weight[a].mean.total_cmp(&per_weight[b].mean).then(b.cmp(&a)))
        .expect("a sweep has at least one point");

    let trained = match Controller::trained(genome)? {
        Some(net) => mean_std(&returns(std::slice::from_ref(&net), &[0.0], &starts)),
        None => None,
    };
    Ok(SwingUpReport {
        episodes: n,
        seed: options.seed,
        connections: genome.expressed_connections(),
        hidden_nodes: genome.hidden.len(),
        random_individual: mean_std(&random_individual).expect("n >= 1"),
        random_shared: mean_std(&random_shared).expect("n >= 1"),
        tuned_weight: grid[best],
        tuned_shared: per_weight[best],
        trained,
        sweep: options.sweep,
        curve: grid
            .iter()
            .zip(&per_weight)
            .map(|(&weight, s)| SweepPoint { weight, mean: s.mean, std: s.std })
            .collect(),
        paper: PAPER,
        evaluation_seconds: t.elapsed().as_secs_f64(),
    })
}
