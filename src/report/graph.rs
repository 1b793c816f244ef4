//! The shape of a genome as the report needs it: expressed incoming sources, execution order and
//! layers (bias and inputs 0; a hidden node one above its highest hidden source; outputs above all
//! hidden nodes), as in the reference's `getLayer` (computed by [`topology`]).

use crate::error::Result;
use crate::genome::{topology, Genome};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

pub struct Topology {
    /// Hidden node ids in execution order.
    pub hidden_order: Vec<u32>,
    /// Expressed sources of each node that has any.
    pub incoming: HashMap<u32, Vec<u32>>,
    /// Layer of every hidden node (1 = fed by bias/inputs only).
    pub layer: FxHashMap<u32, u32>,
    /// Number of hidden layers (0 without hidden nodes).
    pub hidden_layers: u32,
}

impl Topology {
    pub fn new(genome: &Genome) -> Result<Topology> {
        genome.validate()?;
        let hidden_order = genome.execution_order()?;
        let mut incoming: HashMap<u32, Vec<u32>> = HashMap::new();
        for c in genome.expressed_conns() {
            incoming.entry(c.dst).or_default().push(c.src);
        }
        let layer = topology::hidden_layers(genome, &hidden_order);
        let hidden_layers = layer.values().copied().max().unwrap_or(0);
        Ok(Topology { hidden_order, incoming, layer, hidden_layers })
    }

    pub fn sources(&self, id: u32) -> &[u32] {
        self.incoming.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }
}
