//! What a network is evaluated on. The search only sees this trait: MNIST classification is one
//! task; a control task (the paper's cart-pole swing-up) would be another implementation.

use crate::data::{minibatch, Dataset};
use crate::error::Result;
use crate::eval::Evaluator;
use crate::program::Programs;
use std::sync::Arc;

/// Which sample of the task a fitness is measured on. Both are reproducible from the run's seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    /// The sample every individual of generation `g` is judged on.
    Generation(u64),
    /// A fresh sample to re-check a new champion found in generation `g` (not seen in training).
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
pub struct Classification {
    evaluator: Box<dyn Evaluator + Send>,
    data: Arc<Dataset>,
    batch: usize,
    seed: u64,
}

impl Classification {
    pub fn new(evaluator: Box<dyn Evaluator + Send>, data: Arc<Dataset>, batch: usize, seed: u64) -> Self {
        Classification { evaluator, data, batch, seed }
    }

    fn indices(&self, sample: Sample) -> Vec<u32> {
        let n = self.data.len();
        match sample {
            Sample::Generation(g) => minibatch::draw(self.seed, 2 * g, n, self.batch),
            Sample::Check(g) => minibatch::draw(self.seed, 2 * g + 1, n, self.batch),
        }
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
        let ev = self.evaluator.evaluate(programs, weights, &indices)?;
        Ok(ev.stats.iter().map(|s| -s.ce_sum / indices.len() as f64).collect())
    }
    fn fitness_with_parents(
        &mut self,
        programs: &Programs,
        parents: &[Option<usize>],
        weights: &[f32],
        sample: Sample,
    ) -> Result<Vec<f64>> {
        let indices = self.indices(sample);
        let ev = self.evaluator.evaluate_with_parents(programs, parents, weights, &indices)?;
        Ok(ev.stats.iter().map(|s| -s.ce_sum / indices.len() as f64).collect())
    }
    fn cases_per_evaluation(&self) -> u64 {
        self.batch.min(self.data.len()) as u64
    }
}
