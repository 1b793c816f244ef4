//! The reference evaluator: the plainest correct code, in f64, straight from the genome (not from a
//! compiled program), so that it is an independent oracle for the compiler and the fast evaluators.

use super::{ce_and_argmax_f64, PairStats, PREACT_LIMIT};
use crate::data::Dataset;
use crate::error::Result;
use crate::genome::Genome;
use std::collections::HashMap;

/// A genome prepared for repeated evaluation: execution order and incoming expressed sources.
pub struct ReferenceNet {
    genome: Genome,
    order: Vec<u32>,
    /// Per node: (source id, innovation of the connection gene).
    incoming: HashMap<u32, Vec<(u32, u64)>>,
}

impl ReferenceNet {
    pub fn new(genome: &Genome) -> Result<ReferenceNet> {
        genome.validate()?;
        let order: Vec<u32> = genome.execution_order()?.into_iter().chain(genome.output_ids()).collect();
        let mut incoming: HashMap<u32, Vec<(u32, u64)>> = HashMap::new();
        for c in genome.expressed_conns() {
            incoming.entry(c.dst).or_default().push((c.src, c.innovation));
        }
        Ok(ReferenceNet { genome: genome.clone(), order, incoming })
    }

    /// The network's outputs for one input vector at shared weight `w`.
    pub fn outputs(&self, input: &[f32], w: f64) -> Vec<f64> {
        self.outputs_with(input, w, false)
    }

    /// As [`outputs`](Self::outputs); with `f32_storage` every node's pre-activation and value are rounded to
    /// f32. The gap between the two measures how sensitive a network is to f32 rounding (deep
    /// chains of periodic activations are chaotic), which is what an f32 evaluator can be held to.
    pub fn outputs_with(&self, input: &[f32], w: f64, f32_storage: bool) -> Vec<f64> {
        let round = |x: f64| if f32_storage { x as f32 as f64 } else { x };
        self.run(input, |srcs, value| w * srcs.iter().map(|(s, _)| value[s]).sum::<f64>(), round)
    }

    /// The outputs with an individual weight on every connection (a trained network): each node's
    /// pre-activation is `sum of weight_of(innovation) * source value`, clamped as everywhere.
    pub fn outputs_weighted(&self, input: &[f32], weight_of: &dyn Fn(u64) -> f64) -> Vec<f64> {
        self.run(input, |srcs, value| srcs.iter().map(|&(s, g)| weight_of(g) * value[&s]).sum(), |v| v)
    }

    /// Runs the nodes in order: `pre(sources, values)` gives a node's pre-activation before the clamp;
    /// `store` is applied to the clamped pre-activation and to the node's value (a rounding, or none).
    fn run(
        &self,
        input: &[f32],
        pre: impl Fn(&[(u32, u64)], &HashMap<u32, f64>) -> f64,
        store: impl Fn(f64) -> f64,
    ) -> Vec<f64> {
        let limit = PREACT_LIMIT as f64;
        let mut value: HashMap<u32, f64> = HashMap::new();
        value.insert(0, 1.0);
        for (i, &x) in input.iter().enumerate() {
            value.insert(i as u32 + 1, x as f64);
        }
        for &id in &self.order {
            let srcs = self.incoming.get(&id).map_or(&[][..], Vec::as_slice);
            let p = pre(srcs, &value).clamp(-limit, limit);
            let v = self.genome.activation_of(id).apply_f64(store(p));
            value.insert(id, store(v));
        }
        self.genome.output_ids().map(|id| value[&id]).collect()
    }
}

/// Summed cross-entropy and correct count per weight over the examples `indices`.
pub fn evaluate(genome: &Genome, weights: &[f32], data: &Dataset, indices: &[u32]) -> Result<Vec<PairStats>> {
    evaluate_with(genome, weights, data, indices, false)
}

/// [`evaluate`], optionally with f32 storage of node values (see [`ReferenceNet::outputs_with`]).
pub fn evaluate_with(
    genome: &Genome,
    weights: &[f32],
    data: &Dataset,
    indices: &[u32],
    f32_storage: bool,
) -> Result<Vec<PairStats>> {
    let net = ReferenceNet::new(genome)?;
    Ok(weights
        .iter()
        .map(|&w| {
            let mut stats = PairStats::default();
            for &i in indices {
                let outputs = net.outputs_with(data.input(i as usize), w as f64, f32_storage);
                let (ce, arg) = ce_and_argmax_f64(&outputs, data.labels[i as usize] as usize);
                stats.ce_sum += ce;
                stats.correct += (arg == data.labels[i as usize] as usize) as u32;
            }
            stats
        })
        .collect())
}

/// Predicted class per (weight, example), `[weight][example]`.
pub fn predict(genome: &Genome, weights: &[f32], data: &Dataset, indices: &[u32]) -> Result<Vec<u8>> {
    let net = ReferenceNet::new(genome)?;
    let mut out = Vec::with_capacity(weights.len() * indices.len());
    for &w in weights {
        for &i in indices {
            let o = net.outputs(data.input(i as usize), w as f64);
            out.push(ce_and_argmax_f64(&o, 0).1 as u8);
        }
    }
    Ok(out)
}
