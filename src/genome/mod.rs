//! Genomes: node and connection genes as in the reference (`wann_src/ind.py`), their validation and
//! topological order ([`topology`]). Files: versioned JSON (`json`) and the reference's `.out` matrix (`out_format`).
//!
//! Node ids follow the reference's order: bias is 0, inputs are `1..=n_inputs`, outputs come next, and
//! hidden nodes have any larger ids, kept in creation order. Only hidden nodes carry a free activation:
//! inputs have none and outputs are linear.
//!
//! Which genes run as connections depends on the genome's [`Semantics`]; [`Genome::expresses`] is the
//! one place that decides, and everything that builds or measures the network asks it.

pub mod activation;
pub mod json;
pub mod out_format;
pub mod semantics;
pub mod topology;

pub use activation::Activation;
pub use semantics::Semantics;

use crate::error::{Error, Result};
use rustc_hash::FxHashSet as HashSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenNode {
    pub id: u32,
    pub activation: Activation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnGene {
    pub innovation: u64,
    pub src: u32,
    pub dst: u32,
    pub enabled: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Bias,
    Input,
    Output,
    Hidden,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Genome {
    pub n_inputs: u32,
    pub n_outputs: u32,
    /// Hidden nodes in creation order.
    pub hidden: Vec<HiddenNode>,
    /// Connection genes, disabled ones included.
    pub conns: Vec<ConnGene>,
    /// How the genes are expressed; absent in older files and checkpoints, which meant `Neat`.
    #[serde(default)]
    pub semantics: Semantics,
    /// Individually trained weights by innovation number (`wann train`), or `None` for a
    /// shared-weight network. Only expressed connections carry one; the shared-weight rows of a report
    /// ignore them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained: Option<BTreeMap<u64, f32>>,
}

impl Genome {
    /// A network with bias, inputs and outputs and no connections.
    pub fn empty(n_inputs: u32, n_outputs: u32) -> Genome {
        Genome {
            n_inputs,
            n_outputs,
            hidden: Vec::new(),
            conns: Vec::new(),
            semantics: Semantics::Neat,
            trained: None,
        }
    }

    /// The search's starting network: a gene from the bias and every input to every output (output by
    /// output, innovation numbers from 0), each enabled with probability `enable_probability`, drawn
    /// in gene order from `rng`.
    pub fn initial(
        n_inputs: u32,
        n_outputs: u32,
        enable_probability: f64,
        rng: &mut impl rand::Rng,
    ) -> Genome {
        let mut g = Genome::empty(n_inputs, n_outputs);
        let mut innovation = 0;
        for dst in g.output_ids() {
            for src in 0..=n_inputs {
                let enabled = rng.random::<f64>() < enable_probability;
                g.conns.push(ConnGene { innovation, src, dst, enabled });
                innovation += 1;
            }
        }
        g
    }

    /// The same genes read under `semantics`.
    pub fn with_semantics(mut self, semantics: Semantics) -> Genome {
        self.semantics = semantics;
        self
    }

    pub fn first_output_id(&self) -> u32 {
        self.n_inputs + 1
    }

    /// Ids of bias and inputs, then outputs: the nodes every genome of a task has.
    pub fn fixed_node_count(&self) -> u32 {
        1 + self.n_inputs + self.n_outputs
    }

    pub fn output_ids(&self) -> std::ops::Range<u32> {
        self.first_output_id()..self.first_output_id() + self.n_outputs
    }

    pub fn kind_of(&self, id: u32) -> Option<NodeKind> {
        if id >= self.fixed_node_count() && !self.hidden.iter().any(|h| h.id == id) {
            return None;
        }
        self.kind_of_fixed(id)
    }

    /// Kind by id alone, taking every id past the outputs as hidden.
    fn kind_of_fixed(&self, id: u32) -> Option<NodeKind> {
        if id == 0 {
            Some(NodeKind::Bias)
        } else if id <= self.n_inputs {
            Some(NodeKind::Input)
        } else if id < self.fixed_node_count() {
            Some(NodeKind::Output)
        } else {
            Some(NodeKind::Hidden)
        }
    }

    /// Genes whose enabled flag is set (not the same as the connections that run: see
    /// [`expressed_connections`](Self::expressed_connections)).
    pub fn enabled_connections(&self) -> usize {
        self.conns.iter().filter(|c| c.enabled).count()
    }

    /// Whether gene `c` is a connection of the network as it runs: enabled, or, under
    /// [`Semantics::Reference`], disabled between two hidden nodes.
    pub fn expresses(&self, c: &ConnGene) -> bool {
        c.enabled
            || (self.semantics == Semantics::Reference
                && c.src >= self.fixed_node_count()
                && c.dst >= self.fixed_node_count())
    }

    /// The genes that run as connections, in gene order.
    pub fn expressed_conns(&self) -> impl Iterator<Item = &ConnGene> + '_ {
        self.conns.iter().filter(|c| self.expresses(c))
    }

    /// Connections of the network as it runs: the search's complexity objective.
    pub fn expressed_connections(&self) -> usize {
        self.expressed_conns().count()
    }

    /// All nodes: bias, inputs, outputs and hidden.
    pub fn node_count(&self) -> usize {
        self.fixed_node_count() as usize + self.hidden.len()
    }

    pub fn max_node_id(&self) -> u32 {
        self.hidden.iter().map(|h| h.id).max().unwrap_or(0).max(self.fixed_node_count() - 1)
    }

    pub fn max_innovation(&self) -> Option<u64> {
        self.conns.iter().map(|c| c.innovation).max()
    }

    /// Checks every rule a genome must satisfy; the error names the offending gene.
    pub fn validate(&self) -> Result<()> {
        check_shape(self.n_inputs, self.n_outputs)?;
        let mut ids = HashSet::default();
        for h in &self.hidden {
            if h.id < self.fixed_node_count() {
                return Err(Error::Genome(format!(
                    "hidden node id {} collides with the bias/input/output ids 0..{}",
                    h.id,
                    self.fixed_node_count()
                )));
            }
            if !ids.insert(h.id) {
                return Err(Error::Genome(format!("hidden node id {} appears twice", h.id)));
            }
        }
        let mut innovations = HashSet::default();
        let mut pairs = HashSet::default();
        let kind_of = |id: u32| {
            if id >= self.fixed_node_count() && !ids.contains(&id) {
                None
            } else {
                self.kind_of_fixed(id)
            }
        };
        for c in &self.conns {
            let what = || format!("connection {} ({} -> {})", c.innovation, c.src, c.dst);
            let src = kind_of(c.src)
                .ok_or_else(|| Error::Genome(format!("{}: source node {} does not exist", what(), c.src)))?;
            let dst = kind_of(c.dst).ok_or_else(|| {
                Error::Genome(format!("{}: destination node {} does not exist", what(), c.dst))
            })?;
            if src == NodeKind::Output {
                return Err(Error::Genome(format!("{}: an output node cannot be a source", what())));
            }
            if matches!(dst, NodeKind::Bias | NodeKind::Input) {
                return Err(Error::Genome(format!(
                    "{}: the bias and input nodes cannot be destinations",
                    what()
                )));
            }
            if !innovations.insert(c.innovation) {
                return Err(Error::Genome(format!("{}: innovation number used twice", what())));
            }
            if !pairs.insert((c.src, c.dst)) {
                return Err(Error::Genome(format!("{}: duplicate connection gene", what())));
            }
        }
        for (&innovation, &w) in self.trained.iter().flatten() {
            if !innovations.contains(&innovation) {
                return Err(Error::Genome(format!(
                    "trained weight {w} belongs to connection {innovation}, which the network does not have"
                )));
            }
            if !w.is_finite() {
                return Err(Error::Genome(format!(
                    "connection {innovation}: trained weight {w} is not a finite number"
                )));
            }
        }
        self.execution_order().map(|_| ())
    }

    /// Hidden node ids in a topological order of the expressed connections, or an error naming a node
    /// on a cycle. Kahn's algorithm always taking the earliest-created ready node: when creation order is
    /// already topological (as in a `.out` file) it is kept exactly. Outputs, being sinks, come after.
    pub fn execution_order(&self) -> Result<Vec<u32>> {
        topology::execution_order(self)
    }

    /// Activation of a node as executed: hidden nodes their own, outputs linear, others none.
    pub fn activation_of(&self, id: u32) -> Activation {
        self.hidden.iter().find(|h| h.id == id).map_or(Activation::Linear, |h| h.activation)
    }
}

/// Most inputs a network may have (a 256x256 image); memory is sized from this count, so a file
/// cannot ask for more.
pub const MAX_INPUTS: u32 = 1 << 16;
/// Most outputs a network may have.
pub const MAX_OUTPUTS: u32 = 1 << 10;

/// Checks input and output counts (from a file or a flag) before anything is sized from them.
pub fn check_shape(n_inputs: u32, n_outputs: u32) -> Result<()> {
    if n_inputs == 0 || n_outputs == 0 {
        return Err(Error::Genome(format!(
            "a network needs at least one input and one output (has {n_inputs} and {n_outputs})"
        )));
    }
    if n_inputs > MAX_INPUTS || n_outputs > MAX_OUTPUTS {
        return Err(Error::Genome(format!(
            "{n_inputs} inputs and {n_outputs} outputs: at most {MAX_INPUTS} inputs and {MAX_OUTPUTS} outputs are supported"
        )));
    }
    Ok(())
}

/// Loads a genome from JSON, or from the reference's `.out` format when the name ends in `.out`
/// (which needs the task's input and output counts). A `.out` file's cell values are ignored: it is
/// read as a shared-weight network (see [`load_trained`]).
pub fn load(path: &std::path::Path, n_inputs: u32, n_outputs: u32) -> Result<Genome> {
    if is_out(path) {
        out_format::load(path, n_inputs, n_outputs)
    } else {
        json::load(path)
    }
}

/// As [`load`], but a `.out` file's cell values become the network's trained weights.
pub fn load_trained(path: &std::path::Path, n_inputs: u32, n_outputs: u32) -> Result<Genome> {
    if is_out(path) {
        out_format::load_trained(path, n_inputs, n_outputs)
    } else {
        json::load(path)
    }
}

/// Whether a file name says the reference's `.out` format.
pub fn is_out(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e == "out")
}

/// Saves as `.out` when the name ends in `.out`, else as JSON.
pub fn save(genome: &Genome, path: &std::path::Path) -> Result<()> {
    if is_out(path) {
        out_format::save(genome, path)
    } else {
        json::save(genome, path)
    }
}
