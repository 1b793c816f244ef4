//! The swing-up as a search task: every (network, weight) is judged by its mean return over the
//! generation's episodes (the same start states for the whole generation, as the reference seeds
//! every individual alike); a new champion is re-checked on fresh episodes.

use super::controller::Controller;
use super::physics::{start_states, EpisodeSet, MAX_STEPS, N_OBSERVATIONS};
use super::rollout::mean_returns;
use crate::error::{Error, Result};
use crate::evolve::task::{Sample, Task};
use crate::program::Programs;

/// How many times more episodes re-check a new champion than judge a generation (the reference
/// re-tests a new best 20 times over its usual repetitions).
pub const CHECK_FACTOR: usize = 20;

pub struct SwingUp {
    seed: u64,
    episodes: usize,
}

impl SwingUp {
    pub fn new(seed: u64, episodes: usize) -> Result<SwingUp> {
        if episodes == 0 {
            return Err(Error::Invalid("the swing-up needs at least one episode per weight value".into()));
        }
        Ok(SwingUp { seed, episodes })
    }
}

impl Task for SwingUp {
    fn describe(&self) -> String {
        format!(
            "cart-pole swing-up ({} episodes per weight value, {} to re-check a champion) on {} CPU threads, f64",
            self.episodes,
            CHECK_FACTOR * self.episodes,
            rayon::current_num_threads()
        )
    }
    fn n_inputs(&self) -> u32 {
        N_OBSERVATIONS
    }
    fn n_outputs(&self) -> u32 {
        1
    }
    fn fitness(&mut self, programs: &Programs, weights: &[f32], sample: Sample) -> Result<Vec<f64>> {
        if programs.n_inputs != N_OBSERVATIONS || programs.n_outputs != 1 {
            return Err(Error::Invalid(format!(
                "the swing-up needs networks with {N_OBSERVATIONS} inputs and 1 output, not {} and {}",
                programs.n_inputs, programs.n_outputs
            )));
        }
        let starts = match sample {
            Sample::Generation(g) => start_states(self.seed, EpisodeSet::Generation(g), self.episodes),
            Sample::Check(g) => start_states(self.seed, EpisodeSet::Check(g), CHECK_FACTOR * self.episodes),
        };
        let nets: Vec<Controller> =
            (0..programs.headers.len()).map(|p| Controller::from_programs(programs, p)).collect();
        let weights: Vec<f64> = weights.iter().map(|&w| w as f64).collect();
        Ok(mean_returns(&nets, &weights, &starts))
    }
    /// An upper bound: episodes that leave the track end early.
    fn cases_per_evaluation(&self) -> u64 {
        self.episodes as u64 * MAX_STEPS as u64
    }
}
