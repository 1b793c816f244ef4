//! A network as a controller: its nodes in execution order with their source slots, evaluated in
//! f64 one observation at a time. Built from a compiled program (the search: shared weight only) or
//! straight from a genome, optionally with a weight per connection (trained weights, such as the
//! reference's zoo file, or random individual weights).
//!
//! Slots: 0 is the bias (1.0), `1..=n_inputs` the observation, then one per node. Every node
//! computes `act(w · Σ sources)` with a shared weight, or `act(Σ w_k · source_k)` with its own
//! weights; the pre-activation is clamped to ±[`PREACT_LIMIT`] as in every evaluator of the project.

use crate::error::{Error, Result};
use crate::eval::PREACT_LIMIT;
use crate::genome::{Activation, Genome};
use crate::program::Programs;
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    activation: Activation,
    start: u32,
    len: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Controller {
    n_inputs: usize,
    nodes: Vec<Node>,
    sources: Vec<u32>,
    /// One weight per source, when the network has its own weights.
    weights: Option<Vec<f64>>,
}

impl Controller {
    /// Program `p` of a packed set (hidden nodes, then the outputs last, as the compiler orders them).
    pub fn from_programs(programs: &Programs, p: usize) -> Controller {
        let h = programs.headers[p];
        let ops = &programs.ops[h.op_start as usize..(h.op_start + h.n_ops) as usize];
        let edges = &programs.edges[h.edge_start as usize..(h.edge_start + h.n_edges) as usize];
        let nodes = ops
            .iter()
            .map(|op| Node {
                activation: Activation::from_id(op.activation).unwrap_or(Activation::Linear),
                start: op.src_start,
                len: op.n_const + op.n_hidden,
            })
            .collect();
        Controller { n_inputs: programs.n_inputs as usize, nodes, sources: edges.to_vec(), weights: None }
    }

    /// Straight from a genome: bias, inputs, hidden nodes in execution order, then outputs, each
    /// node's sources in that same order (the row order of the `.out` matrix). With `weights` (one
    /// per gene of `genome.conns`, disabled genes ignored) the network uses its own weights.
    pub fn from_genome(genome: &Genome, weights: Option<&[f64]>) -> Result<Controller> {
        genome.validate()?;
        if let Some(w) = weights {
            if w.len() != genome.conns.len() {
                return Err(Error::Invalid(format!(
                    "{} connection weights for a network with {} connection genes",
                    w.len(),
                    genome.conns.len()
                )));
            }
        }
        let order = matrix_order(genome)?;
        let position: HashMap<u32, usize> = order.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        let mut incoming: Vec<Vec<(usize, usize)>> = vec![Vec::new(); order.len()];
        for (k, c) in genome.conns.iter().enumerate().filter(|(_, c)| genome.expresses(c)) {
            incoming[position[&c.dst]].push((position[&c.src], k));
        }
        let first_node = 1 + genome.n_inputs as usize;
        let mut nodes = Vec::new();
        let mut sources = Vec::new();
        let mut per_source = Vec::new();
        for (pos, &id) in order.iter().enumerate().skip(first_node) {
            let mut inc = std::mem::take(&mut incoming[pos]);
            inc.sort_unstable();
            nodes.push(Node {
                activation: genome.activation_of(id),
                start: sources.len() as u32,
                len: inc.len() as u32,
            });
            for (src, k) in inc {
                sources.push(src as u32);
                if let Some(w) = weights {
                    per_source.push(w[k]);
                }
            }
        }
        Ok(Controller {
            n_inputs: genome.n_inputs as usize,
            nodes,
            sources,
            weights: weights.map(|_| per_source),
        })
    }

    /// The network with its trained weights ([`Genome::trained`]), or `None` for a shared-weight
    /// network. Every expressed connection that reaches the output needs a weight (the rest cannot
    /// change the output and count as 0).
    pub fn trained(genome: &Genome) -> Result<Option<Controller>> {
        let Some(trained) = &genome.trained else { return Ok(None) };
        crate::train::edge_weights(genome, &crate::program::compile(genome)?)?;
        let w: Vec<f64> =
            genome.conns.iter().map(|c| trained.get(&c.innovation).map_or(0.0, |&w| w as f64)).collect();
        Controller::from_genome(genome, Some(&w)).map(Some)
    }

    pub fn has_own_weights(&self) -> bool {
        self.weights.is_some()
    }

    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    /// Value slots needed by [`output`](Self::output).
    pub fn slot_count(&self) -> usize {
        1 + self.n_inputs + self.nodes.len()
    }

    /// The last node's value (the single output of a control task) for `observation` at shared
    /// weight `w` (ignored when the network has its own weights). `slots` is scratch space.
    #[inline]
    pub fn output(&self, observation: &[f64], w: f64, slots: &mut Vec<f64>) -> f64 {
        slots.clear();
        slots.push(1.0);
        slots.extend_from_slice(&observation[..self.n_inputs]);
        let limit = PREACT_LIMIT as f64;
        for node in &self.nodes {
            let range = node.start as usize..(node.start + node.len) as usize;
            let pre = match &self.weights {
                None => w * self.sources[range].iter().map(|&s| slots[s as usize]).sum::<f64>(),
                Some(ws) => self.sources[range.clone()]
                    .iter()
                    .zip(&ws[range])
                    .map(|(&s, &wk)| wk * slots[s as usize])
                    .sum(),
            };
            slots.push(node.activation.apply_f64(pre.clamp(-limit, limit)));
        }
        *slots.last().unwrap_or(&0.0)
    }
}

/// Node ids in the row order of the `.out` matrix: bias, inputs, hidden in execution order, outputs.
fn matrix_order(genome: &Genome) -> Result<Vec<u32>> {
    Ok((0..=genome.n_inputs).chain(genome.execution_order()?).chain(genome.output_ids()).collect())
}

/// The reference's trained-weight file (`WANNTool/zoo/*.wann.json`: `[[p_0, ..., p_n], score]`): the
/// parameters go, in order, onto the expressed connections in row-major order of the network's `.out`
/// matrix (as WANNTool's `importNet` lists the non-zero entries), each plus `bias` (WANNTool's
/// `weight_bias`, -1.5 for the swing-up). Returns one weight per gene of `genome.conns` (0 for
/// genes that are not expressed).
pub fn zoo_weights(genome: &Genome, text: &str, bias: f64, path: &Path) -> Result<Vec<f64>> {
    let err = |m: String| Error::format(path, m);
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| err(format!("not JSON: {e}")))?;
    let params = value
        .get(0)
        .and_then(|v| v.as_array())
        .ok_or_else(|| err("expected [[parameters...], score] as in the reference's zoo files".into()))?
        .iter()
        .map(|v| v.as_f64().ok_or_else(|| err(format!("parameter {v} is not a number"))))
        .collect::<Result<Vec<f64>>>()?;
    let order = matrix_order(genome)?;
    let position: HashMap<u32, usize> = order.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let mut enabled: Vec<(usize, usize, usize)> = genome
        .conns
        .iter()
        .enumerate()
        .filter(|(_, c)| genome.expresses(c))
        .map(|(k, c)| (position[&c.src], position[&c.dst], k))
        .collect();
    if params.len() != enabled.len() {
        return Err(err(format!(
            "{} parameters, but the network has {} expressed connections: is this the zoo file of this network?",
            params.len(),
            enabled.len()
        )));
    }
    enabled.sort_unstable();
    let mut weights = vec![0.0; genome.conns.len()];
    for ((_, _, k), p) in enabled.into_iter().zip(params) {
        weights[k] = p + bias;
    }
    Ok(weights)
}

/// `genome` with the zoo file at `path` ([`zoo_weights`]) as its trained weights (in f32, as
/// [`Genome::trained`] keeps them), replacing any it had.
pub fn with_zoo_weights(genome: Genome, path: &Path, bias: f64) -> Result<Genome> {
    let text = crate::fsutil::read_text(path, crate::fsutil::MAX_GENOME_FILE)?;
    let w = zoo_weights(&genome, &text, bias, path)?;
    let trained = (genome.conns.iter().zip(&w))
        .filter(|(c, _)| genome.expresses(c))
        .map(|(c, &w)| (c.innovation, w as f32))
        .collect();
    Ok(Genome { trained: Some(trained), ..genome })
}
