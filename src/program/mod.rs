//! Compilation: a genome becomes a [`Program`], a topologically sorted instruction buffer of plain
//! `bytemuck::Pod` records that the CPU and GPU evaluators both run; many programs are packed into one
//! [`Programs`] buffer with per-program offsets.
//!
//! Value slots: 0 is the bias (1.0), `1..=n_inputs` the inputs, then one slot per op in execution
//! order. Each op reads its sources from `edges[src_start ..]`: first `n_const` bias/input slots (their
//! sum does not depend on the shared weight, so evaluators compute it once per example), then
//! `n_hidden` op slots. The last `n_outputs` ops are the outputs, in output order.
//! Hidden nodes from which no output can be reached are pruned: they cannot change any result.
//! The sources are the genome's expressed connections ([`Genome::expresses`]), so a program runs
//! the network its genome's semantics describes.

pub mod liveness;

pub mod delta;

use crate::error::{Error, Result};
use crate::genome::{topology, Activation, Genome};
use bytemuck::{Pod, Zeroable};
use rustc_hash::FxHashMap as HashMap;

/// One node's instruction.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Op {
    pub activation: u32,
    /// Index of the first source in the program's edge list.
    pub src_start: u32,
    /// Bias/input sources, which come first.
    pub n_const: u32,
    /// Op sources, which follow.
    pub n_hidden: u32,
}

/// Where one program lives in a packed [`Programs`] buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct ProgramHeader {
    pub op_start: u32,
    pub n_ops: u32,
    pub edge_start: u32,
    pub n_edges: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub n_inputs: u32,
    pub n_outputs: u32,
    pub ops: Vec<Op>,
    /// Source slots, indexed from each op's `src_start`.
    pub edges: Vec<u32>,
    /// For each edge, the index in the genome's `conns` of the connection gene it expresses (trained
    /// weights are kept per gene).
    pub edge_genes: Vec<u32>,
    /// The genome node each op computes, one per op: lets a child's program find the ops it shares
    /// with its parent's ([`delta`]).
    pub node_ids: Vec<u32>,
    /// Expressed connections of the genome (the search's complexity objective; includes pruned ones).
    /// The name predates semantics: under `neat` these are exactly the enabled genes.
    pub enabled_connections: u32,
    /// Nodes in the genome: bias, inputs, hidden and outputs.
    pub node_count: u32,
}

impl Program {
    /// First op slot (slots below it are bias and inputs).
    pub fn first_op_slot(&self) -> u32 {
        1 + self.n_inputs
    }

    pub fn slot_count(&self) -> usize {
        self.first_op_slot() as usize + self.ops.len()
    }

    /// Ops fed only by bias/inputs and ops fed by other ops, counted by their edges:
    /// `(const_edges, hidden_edges)`.
    pub fn edge_split(&self) -> (u64, u64) {
        self.ops.iter().fold((0, 0), |(c, h), op| (c + op.n_const as u64, h + op.n_hidden as u64))
    }

    pub fn view(&self) -> View<'_> {
        View {
            first_op_slot: self.first_op_slot(),
            ops: &self.ops,
            edges: &self.edges,
            node_ids: &self.node_ids,
        }
    }
}

/// One program's buffers, borrowed from a [`Program`] or a packed [`Programs`].
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    pub first_op_slot: u32,
    pub ops: &'a [Op],
    pub edges: &'a [u32],
    /// Node id per op (empty where unknown: then nothing is shared with another program).
    pub node_ids: &'a [u32],
}

impl View<'_> {
    /// Checks what every evaluator relies on, so that a program not made by [`compile`] is an
    /// error rather than an out-of-bounds read: at least `n_outputs` ops (the last ones are the
    /// outputs), known activations, edge ranges inside the edges, bias/input sources below
    /// `first_op_slot`, op sources earlier ops that are not outputs, one node id per op or none.
    pub fn check(&self, n_outputs: u32) -> Result<()> {
        let bad = |what: String| {
            Error::Invalid(format!("malformed program: {what}; compile programs with program::compile"))
        };
        let n = self.ops.len();
        if n < n_outputs as usize {
            return Err(bad(format!("{n} ops for {n_outputs} outputs")));
        }
        if !self.node_ids.is_empty() && self.node_ids.len() != n {
            return Err(bad(format!("{} node ids for {n} ops", self.node_ids.len())));
        }
        let first_output = n - n_outputs as usize;
        let first = self.first_op_slot;
        for (k, op) in self.ops.iter().enumerate() {
            if Activation::from_id(op.activation).is_none() {
                return Err(bad(format!("op {k} has activation id {}", op.activation)));
            }
            let end = op.src_start as u64 + op.n_const as u64 + op.n_hidden as u64;
            if end > self.edges.len() as u64 {
                return Err(bad(format!(
                    "op {k} reads edges {}..{end} of {}",
                    op.src_start,
                    self.edges.len()
                )));
            }
            let srcs = &self.edges[op.src_start as usize..end as usize];
            let (consts, hidden) = srcs.split_at(op.n_const as usize);
            if let Some(s) = consts.iter().find(|&&s| s >= first) {
                return Err(bad(format!("op {k}: bias/input source {s} is not below {first}")));
            }
            let earlier = |s: u32| s >= first && ((s - first) as usize) < k.min(first_output);
            if let Some(s) = hidden.iter().find(|&&s| !earlier(s)) {
                return Err(bad(format!("op {k}: op source {s} is not an earlier hidden op")));
            }
        }
        Ok(())
    }
}

/// Compiles a genome, validating it first.
pub fn compile(genome: &Genome) -> Result<Program> {
    genome.validate()?;
    compile_valid(genome)
}

/// Compiles a genome known to be valid (the search's mutations keep genomes valid, and skipping the
/// full validation makes compiling a generation several times cheaper). A cycle is still an error.
pub fn compile_valid(genome: &Genome) -> Result<Program> {
    let first_op_slot = 1 + genome.n_inputs;
    let n_hidden = genome.hidden.len();
    // Node index: hidden nodes 0..n_hidden in creation order, outputs after them.
    let hidden_index: HashMap<u32, usize> =
        genome.hidden.iter().enumerate().map(|(i, h)| (h.id, i)).collect();
    let first_output = genome.first_output_id();
    let index_of = |id: u32| -> Option<usize> {
        if id >= first_output && id < first_output + genome.n_outputs {
            Some(n_hidden + (id - first_output) as usize)
        } else {
            hidden_index.get(&id).copied()
        }
    };
    let n_nodes = n_hidden + genome.n_outputs as usize;
    // Expressed sources of every hidden/output node: (source id, source node index if computed, index
    // of the gene in `genome.conns`).
    let mut sources: Vec<Vec<(u32, Option<usize>, u32)>> = vec![Vec::new(); n_nodes];
    for (gene, c) in genome.conns.iter().enumerate().filter(|(_, c)| genome.expresses(c)) {
        let dst = index_of(c.dst).ok_or_else(|| {
            Error::Genome(format!("connection {}: bad destination {}", c.innovation, c.dst))
        })?;
        let src =
            if c.src < first_op_slot {
                None
            } else {
                Some(index_of(c.src).ok_or_else(|| {
                    Error::Genome(format!("connection {}: bad source {}", c.innovation, c.src))
                })?)
            };
        sources[dst].push((c.src, src, gene as u32));
    }
    // Live hidden nodes: those from which an output can be reached.
    let live =
        topology::reaching(n_nodes, n_hidden..n_nodes, |n| sources[n].iter().filter_map(|&(_, s, _)| s));
    // Topological order of live hidden nodes (earliest-created first), then the outputs.
    let edges = (0..n_hidden)
        .filter(|&d| live[d])
        .flat_map(|d| sources[d].iter().filter_map(move |&(_, s, _)| s.map(|s| (s, d))));
    let mut order = topology::kahn_order(n_hidden, |i| live[i], edges)
        .map_err(|_| Error::Genome("the expressed connections form a cycle".into()))?;
    order.extend(n_hidden..n_nodes);
    let mut slot_of = vec![0u32; n_nodes];
    for (k, &n) in order.iter().enumerate() {
        slot_of[n] = first_op_slot + k as u32;
    }
    let mut ops = Vec::with_capacity(order.len());
    let mut edges = Vec::new();
    let mut edge_genes = Vec::new();
    let node_ids = order
        .iter()
        .map(|&n| if n < n_hidden { genome.hidden[n].id } else { first_output + (n - n_hidden) as u32 })
        .collect();
    for &n in &order {
        let mut slots: Vec<(u32, u32)> =
            sources[n].iter().map(|&(id, s, gene)| (s.map_or(id, |s| slot_of[s]), gene)).collect();
        slots.sort_unstable(); // bias/input slots first, then ops; ascending for locality
        let n_const = slots.iter().take_while(|&&(s, _)| s < first_op_slot).count() as u32;
        let activation = if n < n_hidden { genome.hidden[n].activation } else { Activation::Linear };
        ops.push(Op {
            activation: activation.id(),
            src_start: edges.len() as u32,
            n_const,
            n_hidden: slots.len() as u32 - n_const,
        });
        edges.extend(slots.iter().map(|&(s, _)| s));
        edge_genes.extend(slots.iter().map(|&(_, gene)| gene));
    }
    Ok(Program {
        n_inputs: genome.n_inputs,
        n_outputs: genome.n_outputs,
        ops,
        edges,
        edge_genes,
        node_ids,
        enabled_connections: genome.expressed_connections() as u32,
        node_count: genome.node_count() as u32,
    })
}

/// Many programs in one set of buffers, ready for upload.
#[derive(Clone, Debug, Default)]
pub struct Programs {
    pub n_inputs: u32,
    pub n_outputs: u32,
    pub headers: Vec<ProgramHeader>,
    pub ops: Vec<Op>,
    pub edges: Vec<u32>,
    /// Node id per op, laid out like `ops`.
    pub node_ids: Vec<u32>,
    pub enabled_connections: Vec<u32>,
}

impl Programs {
    pub fn pack<'a>(programs: impl IntoIterator<Item = &'a Program>) -> Programs {
        let mut out = Programs::default();
        for p in programs {
            if out.headers.is_empty() {
                out.n_inputs = p.n_inputs;
                out.n_outputs = p.n_outputs;
            }
            assert!(
                p.n_inputs == out.n_inputs && p.n_outputs == out.n_outputs,
                "programs packed together must share input and output counts"
            );
            out.headers.push(ProgramHeader {
                op_start: out.ops.len() as u32,
                n_ops: p.ops.len() as u32,
                edge_start: out.edges.len() as u32,
                n_edges: p.edges.len() as u32,
            });
            out.ops.extend_from_slice(&p.ops);
            out.edges.extend_from_slice(&p.edges);
            if p.node_ids.len() == p.ops.len() {
                out.node_ids.extend_from_slice(&p.node_ids);
            } else {
                out.node_ids.extend(std::iter::repeat_n(delta::UNKNOWN_NODE, p.ops.len()));
            }
            out.enabled_connections.push(p.enabled_connections);
        }
        out
    }

    /// The programs at `which`, in that order, repacked into buffers of their own.
    pub fn subset(&self, which: &[usize]) -> Programs {
        let mut out = Programs { n_inputs: self.n_inputs, n_outputs: self.n_outputs, ..Programs::default() };
        for &i in which {
            out.headers.push(ProgramHeader {
                op_start: out.ops.len() as u32,
                edge_start: out.edges.len() as u32,
                ..self.headers[i]
            });
            out.ops.extend_from_slice(self.ops_of(i));
            out.edges.extend_from_slice(self.edges_of(i));
            out.node_ids.extend_from_slice(self.node_ids_of(i));
            out.enabled_connections.push(self.enabled_connections[i]);
        }
        out
    }

    pub fn len(&self) -> usize {
        self.headers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    pub fn ops_of(&self, i: usize) -> &[Op] {
        let h = self.headers[i];
        &self.ops[h.op_start as usize..(h.op_start + h.n_ops) as usize]
    }

    pub fn edges_of(&self, i: usize) -> &[u32] {
        let h = self.headers[i];
        &self.edges[h.edge_start as usize..(h.edge_start + h.n_edges) as usize]
    }

    /// Node ids of program `i`'s ops (empty if the buffers were built without them).
    pub fn node_ids_of(&self, i: usize) -> &[u32] {
        let h = self.headers[i];
        if self.node_ids.len() != self.ops.len() {
            return &[];
        }
        &self.node_ids[h.op_start as usize..(h.op_start + h.n_ops) as usize]
    }

    pub fn view(&self, i: usize) -> View<'_> {
        View {
            first_op_slot: 1 + self.n_inputs,
            ops: self.ops_of(i),
            edges: self.edges_of(i),
            node_ids: self.node_ids_of(i),
        }
    }

    /// Every program's ranges inside the buffers, then [`View::check`] of each (on all cores: it
    /// reads every edge).
    pub fn check(&self) -> Result<()> {
        use rayon::prelude::*;
        for (i, h) in self.headers.iter().enumerate() {
            let ops_end = h.op_start as u64 + h.n_ops as u64;
            let edges_end = h.edge_start as u64 + h.n_edges as u64;
            if ops_end > self.ops.len() as u64 || edges_end > self.edges.len() as u64 {
                return Err(Error::Invalid(format!(
                    "malformed program buffers: program {i} reaches past the packed ops or edges; pack programs with Programs::pack"
                )));
            }
        }
        if !self.node_ids.is_empty() && self.node_ids.len() != self.ops.len() {
            return Err(Error::Invalid(format!(
                "malformed program buffers: {} node ids for {} ops; pack programs with Programs::pack",
                self.node_ids.len(),
                self.ops.len()
            )));
        }
        (0..self.len()).into_par_iter().try_for_each(|i| self.view(i).check(self.n_outputs))
    }

    /// Enabled connections over all programs: the unit of the edge-evaluation count.
    pub fn total_enabled_connections(&self) -> u64 {
        self.enabled_connections.iter().map(|&c| c as u64).sum()
    }
}

/// Activation of an op, decoded (ops only ever hold valid ids: the compiler writes them).
pub fn op_activation(op: &Op) -> Activation {
    Activation::from_id(op.activation).unwrap_or(Activation::Linear)
}
