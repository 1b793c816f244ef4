//! Receptive fields: for each output, which inputs reach it through expressed connections and along
//! how many distinct paths. One pass over the execution order: a node's path counts are the sums of
//! its sources' counts (an input counts one path to itself).

use super::graph::Topology;
use crate::error::{Error, Result};

/// Most path counts held at once (8 bytes each): MNIST's 257 inputs allow half a million nodes.
const MAX_COUNTS: u64 = 1 << 27;
use crate::genome::Genome;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReceptiveField {
    /// The output (the digit on MNIST).
    pub output: usize,
    /// Inputs with at least one path to this output.
    pub inputs_reached: usize,
    /// Paths from each input (`paths[pixel]`, row-major for an image); f64 because counts can grow
    /// exponentially with depth (capped at `f64::MAX`, never infinite).
    pub paths: Vec<f64>,
    /// Paths from the bias node.
    pub bias_paths: f64,
    /// Paths from all inputs together.
    pub total_paths: f64,
}

/// Receptive field of every output, in output order.
pub fn receptive_fields(genome: &Genome) -> Result<Vec<ReceptiveField>> {
    let topo = Topology::new(genome)?;
    let n_in = genome.n_inputs as usize;
    // One count per (bias or input, node): refuse before allocating what cannot be held.
    let cells = (n_in as u64 + 1) * (topo.hidden_order.len() as u64 + genome.n_outputs as u64);
    if cells > MAX_COUNTS {
        return Err(Error::Invalid(format!(
            "receptive fields of {} nodes over {n_in} inputs need {cells} path counts, more than {MAX_COUNTS}",
            topo.hidden_order.len() + genome.n_outputs as usize
        )));
    }
    // counts[node] = paths from [bias, input 1, ..., input n] to the node.
    let mut counts: HashMap<u32, Vec<f64>> = HashMap::new();
    let node_counts = |counts: &HashMap<u32, Vec<f64>>, id: u32| -> Vec<f64> {
        let mut acc = vec![0.0f64; n_in + 1];
        for &s in topo.sources(id) {
            if s <= genome.n_inputs {
                acc[s as usize] += 1.0;
            } else if let Some(c) = counts.get(&s) {
                for (a, &x) in acc.iter_mut().zip(c) {
                    *a = (*a + x).min(f64::MAX);
                }
            }
        }
        acc
    };
    for &id in &topo.hidden_order {
        let c = node_counts(&counts, id);
        counts.insert(id, c);
    }
    Ok(genome
        .output_ids()
        .enumerate()
        .map(|(output, id)| {
            let c = node_counts(&counts, id);
            let paths = c[1..].to_vec();
            ReceptiveField {
                output,
                inputs_reached: paths.iter().filter(|&&p| p > 0.0).count(),
                total_paths: paths.iter().sum::<f64>().min(f64::MAX),
                bias_paths: c[0],
                paths,
            }
        })
        .collect())
}
