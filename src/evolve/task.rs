//! What a network is evaluated on. The search only sees this trait: MNIST classification is one
//! task; the paper's cart-pole swing-up (`crate::swingup::task::SwingUp`) is another.

use crate::data::{minibatch, Dataset};
use crate::error::Result;
use crate::eval::{Evaluation, Evaluator};
use crate::program::Programs;
use std::sync::Arc;

/// Which sample of the task a fitness is measured on. Both are reproducible from the run's seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    /// The sample every individual of generation `g` is judged on.
    Generation(u64),
    /// The sample a candidate champion found in generation `g` is re-checked on.
    Check(u64),
}

pub trait Task {
    /// For logs: what the task is and what evaluates it.
    fn describe(&self) -> String;
    fn n_inputs(&self) -> u32;
    fn n_outputs(&self) -> u32;
    /// Fitness (higher is better) of every (program, weight) pair: `[program * weights.len() + w]`.
    fn fitness(&mut self, programs: &Programs, weights: &[f32], sample: Sample) -> Result<Vec<f64>>;
    /// [`Task::fitness`], told that program `i` was bred from program `parents[i]` of the same call
    /// (see [`Evaluator::evaluate_with_parents`]); the same results. By default: `fitness`.
    fn fitness_with_parents(
        &mut self,
        programs: &Programs,
        parents: &[Option<usize>],
        weights: &[f32],
        sample: Sample,
    ) -> Result<Vec<f64>> {
        let _ = parents;
        self.fitness(programs, weights, sample)
    }
    /// Edge-evaluations one program costs per weight value and enabled connection (for throughput).
    fn cases_per_evaluation(&self) -> u64;
}

/// Classification: fitness is minus the mean cross-entropy over a minibatch drawn without replacement.
/// A candidate champion is re-checked on `check` images drawn the same way from a separate stream, or
/// on the whole set when `check` covers it (the search's default): then every candidate and the
/// champion are judged on the same images.
pub struct Classification {
    evaluator: Box<dyn Evaluator + Send>,
    data: Arc<Dataset>,
    batch: usize,
    check: usize,
    seed: u64,
}

impl Classification {
    /// Minibatches of `batch` images; candidate champions re-checked on one more fresh minibatch
    /// unless [`with_check`](Self::with_check) says otherwise (the search sets its config's size).
    pub fn new(evaluator: Box<dyn Evaluator + Send>, data: Arc<Dataset>, batch: usize, seed: u64) -> Self {
        Classification { evaluator, data, batch, check: batch, seed }
    }

    /// Re-checks candidate champions on `images` images (all of them if the set is not larger).
    pub fn with_check(mut self, images: usize) -> Self {
        self.check = images;
        self
    }

    fn indices(&self, sample: Sample) -> Vec<u32> {
        let n = self.data.len();
        match sample {
            Sample::Generation(g) => minibatch::draw(self.seed, 2 * g, n, self.batch),
            Sample::Check(g) => minibatch::draw(self.seed, 2 * g + 1, n, self.check),
        }
    }

    /// Every (program, weight) pair over the whole dataset: the champion's training-set accuracy.
    pub fn whole_set(&mut self, programs: &Programs, weights: &[f32]) -> Result<Evaluation> {
        let all: Vec<u32> = (0..self.data.len() as u32).collect();
        self.evaluator.evaluate(programs, weights, &all)
    }
}

impl Task for Classification {
    fn describe(&self) -> String {
        format!(
            "{} ({} examples, minibatch {}) on {}",
            self.data.name,
            self.data.len(),
            self.batch,
            self.evaluator.describe()
        )
    }
    fn n_inputs(&self) -> u32 {
        self.data.dim as u32
    }
    fn n_outputs(&self) -> u32 {
        self.data.classes as u32
    }
    fn fitness(&mut self, programs: &Programs, weights: &[f32], sample: Sample) -> Result<Vec<f64>> {
        let indices = self.indices(sample);
        Ok(minus_mean_ce(&self.evaluator.evaluate(programs, weights, &indices)?))
    }
    fn fitness_with_parents(
        &mut self,
        programs: &Programs,
        parents: &[Option<usize>],
        weights: &[f32],
        sample: Sample,
    ) -> Result<Vec<f64>> {
        let indices = self.indices(sample);
        Ok(minus_mean_ce(&self.evaluator.evaluate_with_parents(programs, parents, weights, &indices)?))
    }
    fn cases_per_evaluation(&self) -> u64 {
        self.batch.min(self.data.len()) as u64
    }
}

/// Fitness of every (program, weight) pair of an evaluation: minus its mean cross-entropy.
fn minus_mean_ce(ev: &crate::eval::Evaluation) -> Vec<f64> {
    ev.stats.iter().map(|s| -s.ce_sum / ev.n_examples as f64).collect()
}
