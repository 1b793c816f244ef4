//! Evaluators: run compiled programs over labelled examples at several shared-weight values.
//!
//! [`reference`](mod@reference) is the plain f64 oracle straight from the genome; [`cpu::CpuEvaluator`] is the fast
//! multi-core one and `gpu::GpuEvaluator` the WGSL one (with the default `gpu` cargo feature), both
//! behind the [`Evaluator`] trait.
//!
//! Finite by design: every evaluator clamps each node's pre-activation `w * sum` to
//! `[-PREACT_LIMIT, PREACT_LIMIT]` before its activation (outputs included), so no value can overflow
//! whatever the network; a network that saturates gets a finite, poor fitness.

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
pub mod backend;
pub mod cpu;
pub mod family;
pub mod fastmath;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod reference;

use crate::error::Result;
use crate::program::{Program, Programs};

/// Bound on every node's pre-activation, identical on all evaluators.
pub const PREACT_LIMIT: f32 = 1.0e4;

/// The shared weight values every network is judged at during the search (the paper's six).
pub const TRAINING_WEIGHTS: [f32; 6] = [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0];

/// Summed cross-entropy and correct count of one (program, weight) pair over a set of examples.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PairStats {
    pub ce_sum: f64,
    pub correct: u32,
}

/// Results of [`Evaluator::evaluate`]: `stats[program * n_weights + weight]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub n_programs: usize,
    pub n_weights: usize,
    pub n_examples: usize,
    pub stats: Vec<PairStats>,
}

impl Evaluation {
    pub fn get(&self, program: usize, weight: usize) -> PairStats {
        self.stats[program * self.n_weights + weight]
    }
    pub fn mean_ce(&self, program: usize, weight: usize) -> f64 {
        self.get(program, weight).ce_sum / self.n_examples as f64
    }
    pub fn accuracy(&self, program: usize, weight: usize) -> f64 {
        self.get(program, weight).correct as f64 / self.n_examples as f64
    }
}

/// Per (weight, example) predictions of one program: `classes[weight * n_examples + example]`, and
/// the raw outputs (`[weight][example][output]`) when asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    pub n_weights: usize,
    pub n_examples: usize,
    pub classes: Vec<u8>,
    pub outputs: Option<Vec<f32>>,
}

impl Predictions {
    pub fn for_weight(&self, w: usize) -> &[u8] {
        &self.classes[w * self.n_examples..(w + 1) * self.n_examples]
    }
}

/// Where the last `evaluate` call spent its time, for evaluators that can tell (the GPU).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct TimeSplit {
    /// Packing and copying programs and indices to the device.
    pub upload: f64,
    /// The compute passes.
    pub compute: f64,
    /// Copying results back and finishing them on the host.
    pub readback: f64,
}

/// Receives an evaluator's notes, one line each.
pub type NoteSink = Box<dyn FnMut(&str) + Send>;

/// Something that runs programs over the examples of the dataset it was built with.
pub trait Evaluator {
    /// What runs the work, for logs ("cpu: 2 threads, avx2", "gpu: NVIDIA H200 (Vulkan)").
    fn describe(&self) -> String;

    /// Cross-entropy sums and correct counts for every (program, weight) over the examples `indices`.
    fn evaluate(&mut self, programs: &Programs, weights: &[f32], indices: &[u32]) -> Result<Evaluation>;

    /// [`Evaluator::evaluate`], told that program `i` was bred from program `parents[i]` of the same
    /// call (a parent has no parent itself), so that it may evaluate children as deltas of their
    /// parents. The results are those of `evaluate`, exactly on the CPU. By default: `evaluate`.
    fn evaluate_with_parents(
        &mut self,
        programs: &Programs,
        parents: &[Option<usize>],
        weights: &[f32],
        indices: &[u32],
    ) -> Result<Evaluation> {
        let _ = parents;
        self.evaluate(programs, weights, indices)
    }

    /// Per program of the last evaluation, whether it was computed as a delta of its parent (or
    /// taken from the parent as an exact copy) rather than in full; empty where the evaluator does
    /// not compute deltas.
    fn last_deltas(&self) -> Vec<bool> {
        Vec::new()
    }

    /// Where the evaluator's notes go (for example a GPU evaluator handing programs its device
    /// cannot run to the CPU); without a sink they are dropped. The library itself never prints.
    fn set_notes(&mut self, _sink: NoteSink) {}

    /// The time split of the last `evaluate`, where the evaluator measures one.
    fn last_split(&self) -> Option<TimeSplit> {
        None
    }

    /// Seconds each GPU kernel ran during the last `evaluate` (by kernel name), where the evaluator
    /// measures them (GPU timestamps); empty otherwise.
    fn kernel_seconds(&self) -> Vec<(String, f64)> {
        Vec::new()
    }

    /// Counts of how the last `evaluate` ran, where the evaluator tells (the GPU: programs on the
    /// on-chip kernel, the scratch kernel and the CPU, children run as deltas and copies of their
    /// parents, rows and chunks of the family value table); empty otherwise.
    fn work_counts(&self) -> Vec<(String, usize)> {
        Vec::new()
    }

    /// Predicted class (argmax, lowest index on ties) per (weight, example) for one program.
    fn predict(
        &mut self,
        program: &Program,
        weights: &[f32],
        indices: &[u32],
        with_outputs: bool,
    ) -> Result<Predictions>;
}

/// Cross-entropy of a label under a numerically stable log-softmax, and the argmax (first maximum).
pub fn ce_and_argmax_f64(outputs: &[f64], label: usize) -> (f64, usize) {
    let (mut best, mut arg) = (f64::NEG_INFINITY, 0);
    for (i, &o) in outputs.iter().enumerate() {
        if o > best {
            best = o;
            arg = i;
        }
    }
    let lse = best + outputs.iter().map(|&o| (o - best).exp()).sum::<f64>().ln();
    (lse - outputs[label], arg)
}
