//! Individually trained weights: the paper's fourth number. A network found with one shared weight gets
//! one weight per expressed connection, trained by gradient descent, which measures how good its
//! topology is as an architecture.
//!
//! - Start: every weight at the network's best shared weight, the value of the sweep grid (by
//!   default -2 to 2 in steps of 0.1) with the highest accuracy on the training examples (all of them,
//!   the validation ones excepted; the first grid value on ties).
//! - Steps: Adam ([`adam`]) on the mean softmax cross-entropy of shuffled minibatches, the gradient
//!   from a reverse pass over the compiled program ([`kernel`]); the learning rate follows a cosine
//!   from its initial value down to zero over all steps. A minibatch whose gradient is not finite is
//!   skipped (and counted).
//! - Choice: with validation examples (held out from the end of the data), the epoch with the best
//!   validation accuracy is kept (the start counts as epoch 0; the earlier epoch on ties); without,
//!   the last.
//!
//! Deterministic for a seed: the shuffles come from ChaCha8 seeded by it, and the kernel's sums do not
//! depend on the number of threads. Weights are kept per connection gene ([`Genome::trained`]); which
//! genes are expressed is what the compiler emits ([`Program::edge_genes`]).

pub mod adam;
pub mod kernel;
pub mod real;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::cpu::CpuEvaluator;
use crate::eval::{Evaluator, PairStats};
use crate::genome::Genome;
use crate::program::{compile, Program, Programs};
use crate::report::Sweep;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Serialize)]
pub struct Options {
    pub epochs: usize,
    /// Adam's initial step size (it decays along a cosine to zero).
    pub learning_rate: f64,
    pub batch_size: usize,
    /// Seed of the shuffles.
    pub seed: u64,
    /// Examples held out from the end of the data to choose the best epoch; 0 keeps the last epoch.
    pub validation: usize,
    /// Grid of the shared-weight sweep that picks the starting weight.
    pub sweep: Sweep,
    /// Threads; `None` uses rayon's global pool (all cores).
    pub threads: Option<usize>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            epochs: 100,
            learning_rate: 0.03,
            batch_size: 128,
            seed: 0,
            validation: 5000,
            sweep: Sweep::default(),
            threads: None,
        }
    }
}

/// How one epoch went.
#[derive(Clone, Debug, Serialize)]
pub struct EpochStats {
    /// 0 is the start, at the shared weight.
    pub epoch: usize,
    /// The learning rate of the epoch's last step.
    pub learning_rate: f64,
    /// Mean cross-entropy and accuracy on the training examples as seen during the epoch (each
    /// minibatch before its step); for epoch 0, at the starting weights.
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
    /// Minibatches skipped because their gradient was not finite.
    pub skipped_batches: usize,
    /// Seconds since training started.
    pub seconds: f64,
}

/// What training reports as it goes.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// The sweep has chosen the starting weight; epoch 0's statistics.
    Started {
        shared_weight: f32,
        batches_per_epoch: usize,
        start: &'a EpochStats,
    },
    /// One minibatch step: running means over the epoch so far.
    Batch {
        epoch: usize,
        batch: usize,
        batches: usize,
        train_loss: f64,
        train_accuracy: f64,
    },
    Epoch(&'a EpochStats),
}

#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The network with the kept epoch's weights in [`Genome::trained`].
    #[serde(skip)]
    pub genome: Genome,
    pub shared_weight: f32,
    pub trained_connections: usize,
    pub train_examples: usize,
    pub validation_examples: usize,
    /// The kept epoch (0: no epoch beat the starting weights on validation).
    pub best_epoch: usize,
    /// Epoch 0 (the start) and every epoch after it.
    pub history: Vec<EpochStats>,
    pub seconds: f64,
}

/// Trains one weight per expressed connection of `genome` on `data` (see the module's description).
pub fn train(
    genome: &Genome,
    data: Arc<Dataset>,
    options: &Options,
    progress: &mut dyn FnMut(Event),
) -> Result<Outcome> {
    check_options(options, data.len())?;
    let program = compile(genome)?;
    check_network(genome, &program, &data)?;
    let pool = match options.threads {
        Some(t) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .map_err(|e| Error::Invalid(format!("cannot start {t} threads: {e}")))?,
        ),
        None => None,
    };
    train_program(genome, &program, data, options, pool.as_ref(), progress)
}

/// Runs `f` on `pool`, or on the current pool.
fn on<R: Send>(pool: Option<&rayon::ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

fn check_options(o: &Options, examples: usize) -> Result<()> {
    if o.epochs == 0 {
        return Err(Error::Invalid("train for at least one epoch (the number of epochs is 0)".into()));
    }
    if !(o.learning_rate.is_finite() && o.learning_rate > 0.0) {
        return Err(Error::Invalid(format!(
            "the learning rate must be a positive number (it is {}); 0.03 is a good start",
            o.learning_rate
        )));
    }
    if o.batch_size == 0 {
        return Err(Error::Invalid("the minibatch size must be at least 1".into()));
    }
    if o.threads == Some(0) {
        return Err(Error::Invalid("the number of threads must be at least 1".into()));
    }
    if examples == 0 {
        return Err(Error::Invalid("there are no training examples".into()));
    }
    if o.validation >= examples {
        return Err(Error::Invalid(format!(
            "{} validation examples leave none of the {examples} examples to train on",
            o.validation
        )));
    }
    o.sweep.grid()?;
    Ok(())
}

fn check_network(genome: &Genome, program: &Program, data: &Dataset) -> Result<()> {
    if program.n_inputs as usize != data.dim || program.n_outputs as usize != data.classes {
        return Err(Error::Invalid(format!(
            "the network has {} inputs and {} outputs, the dataset {} has {} inputs and {} classes",
            program.n_inputs, program.n_outputs, data.name, data.dim, data.classes
        )));
    }
    if genome.expressed_connections() == 0 {
        return Err(Error::Invalid(
            "the network has no enabled connections: there is nothing to train".into(),
        ));
    }
    if program.edges.is_empty() {
        return Err(Error::Invalid(format!(
            "none of the network's {} enabled connections leads to an output: there is nothing to train",
            genome.expressed_connections()
        )));
    }
    Ok(())
}

fn train_program(
    genome: &Genome,
    program: &Program,
    data: Arc<Dataset>,
    options: &Options,
    pool: Option<&rayon::ThreadPool>,
    progress: &mut dyn FnMut(Event),
) -> Result<Outcome> {
    let started = Instant::now();
    let n_train = data.len() - options.validation;
    let train_set: Vec<u32> = (0..n_train as u32).collect();
    let validation_set: Vec<u32> = (n_train as u32..data.len() as u32).collect();
    let validate = |weights: &[f32]| -> (Option<f64>, Option<f64>) {
        if validation_set.is_empty() {
            return (None, None);
        }
        let s = on(pool, || kernel::sums(program, weights, &data, &validation_set, false));
        let n = validation_set.len() as f64;
        (Some(s.ce_sum / n), Some(s.correct as f64 / n))
    };

    // The start: the best shared weight on the training examples.
    let grid = options.sweep.grid()?;
    let packed = Programs::pack([program]);
    let sweep = on(pool, || CpuEvaluator::new(data.clone()).evaluate(&packed, &grid, &train_set))?;
    let mut best_k = 0;
    for k in 1..grid.len() {
        if sweep.accuracy(0, k) > sweep.accuracy(0, best_k) {
            best_k = k;
        }
    }
    let shared_weight = grid[best_k];
    let mut params = vec![shared_weight as f64; program.edges.len()];
    let mut weights = vec![shared_weight; program.edges.len()];
    let (validation_loss, validation_accuracy) = validate(&weights);
    let start = EpochStats {
        epoch: 0,
        learning_rate: 0.0,
        train_loss: sweep.mean_ce(0, best_k),
        train_accuracy: sweep.accuracy(0, best_k),
        validation_loss,
        validation_accuracy,
        skipped_batches: 0,
        seconds: started.elapsed().as_secs_f64(),
    };
    let batches = n_train.div_ceil(options.batch_size);
    progress(Event::Started { shared_weight, batches_per_epoch: batches, start: &start });

    let mut best = (0, weights.clone(), validation_accuracy);
    let mut history = vec![start];
    let mut adam = adam::Adam::new(params.len());
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut order = train_set.clone();
    let total_steps = (options.epochs * batches) as f64;
    let mut step = 0usize;
    for epoch in 1..=options.epochs {
        order.shuffle(&mut rng);
        let (mut ce, mut correct, mut seen, mut skipped) = (0.0, 0u64, 0usize, 0usize);
        let mut learning_rate = options.learning_rate;
        for (b, batch) in order.chunks(options.batch_size).enumerate() {
            let sums = on(pool, || kernel::sums(program, &weights, &data, batch, true));
            ce += sums.ce_sum;
            correct += sums.correct as u64;
            seen += batch.len();
            learning_rate = options.learning_rate
                * 0.5
                * (1.0 + (std::f64::consts::PI * step as f64 / total_steps).cos());
            step += 1;
            if sums.grad.iter().all(|g| g.is_finite()) {
                let scale = 1.0 / batch.len() as f64;
                let grad: Vec<f64> = sums.grad.iter().map(|g| g * scale).collect();
                adam.step(&mut params, &grad, learning_rate);
                for (w, &p) in weights.iter_mut().zip(&params) {
                    *w = p as f32;
                }
            } else {
                skipped += 1;
            }
            progress(Event::Batch {
                epoch,
                batch: b + 1,
                batches,
                train_loss: ce / seen as f64,
                train_accuracy: correct as f64 / seen as f64,
            });
        }
        let (validation_loss, validation_accuracy) = validate(&weights);
        let stats = EpochStats {
            epoch,
            learning_rate,
            train_loss: ce / seen as f64,
            train_accuracy: correct as f64 / seen as f64,
            validation_loss,
            validation_accuracy,
            skipped_batches: skipped,
            seconds: started.elapsed().as_secs_f64(),
        };
        progress(Event::Epoch(&stats));
        if validation_accuracy.is_none() || validation_accuracy > best.2 {
            best = (epoch, weights.clone(), validation_accuracy);
        }
        history.push(stats);
    }
    Ok(Outcome {
        genome: with_edge_weights(genome, program, &best.1),
        shared_weight,
        trained_connections: program.edges.len(),
        train_examples: n_train,
        validation_examples: validation_set.len(),
        best_epoch: best.0,
        history,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `genome` with `weights` (one per edge of `program`, compiled from it) as its trained weights.
pub fn with_edge_weights(genome: &Genome, program: &Program, weights: &[f32]) -> Genome {
    let trained = program
        .edge_genes
        .iter()
        .zip(weights)
        .map(|(&gene, &w)| (genome.conns[gene as usize].innovation, w))
        .collect();
    Genome { trained: Some(trained), ..genome.clone() }
}

/// The trained weight of every edge of `program` (compiled from `genome`), or an error naming an
/// expressed connection without one.
pub fn edge_weights(genome: &Genome, program: &Program) -> Result<Vec<f32>> {
    let trained = genome.trained.as_ref().ok_or_else(|| {
        Error::Invalid("the network has no trained weights (train it with `wann train`)".into())
    })?;
    program
        .edge_genes
        .iter()
        .map(|&gene| {
            let c = &genome.conns[gene as usize];
            trained.get(&c.innovation).copied().ok_or_else(|| {
                Error::Genome(format!(
                    "connection {} ({} -> {}) is expressed but has no trained weight",
                    c.innovation, c.src, c.dst
                ))
            })
        })
        .collect()
}

/// Cross-entropy sum and correct count of a trained network over the examples `indices` (all cores;
/// the same f32 forward pass as training).
pub fn evaluate(genome: &Genome, data: &Dataset, indices: &[u32]) -> Result<PairStats> {
    let program = compile(genome)?;
    check_network(genome, &program, data)?;
    let weights = edge_weights(genome, &program)?;
    if let Some(&bad) = indices.iter().find(|&&i| i as usize >= data.len()) {
        return Err(Error::Invalid(format!(
            "example index {bad} is outside the dataset ({} examples)",
            data.len()
        )));
    }
    let s = kernel::sums(&program, &weights, data, indices, false);
    Ok(PairStats { ce_sum: s.ce_sum, correct: s.correct })
}
