//! Compilation: a genome becomes a [`Program`], a topologically sorted instruction buffer of plain
//! `bytemuck::Pod` records that the CPU and GPU evaluators both run; many programs are packed into one
//! [`Programs`] buffer with per-program offsets.
//!
//! Value slots: 0 is the bias (1.0), `1..=n_inputs` the inputs, then one slot per op in execution
//! order. Each op reads its sources from `edges[src_start ..]`: first `n_const` bias/input slots (their
//! sum does not depend on the shared weight, so evaluators compute it once per example), then
//! `n_hidden` op slots. The last `n_outputs` ops are the outputs, in output order.
//! Hidden nodes from which no output can be reached are pruned: they cannot change any result.

use crate::error::Result;
use crate::genome::{Activation, Genome};
use bytemuck::{Pod, Zeroable};
use std::collections::HashMap;

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
    /// Enabled connections in the genome (the search's complexity objective; includes pruned ones).
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
}

/// Compiles a genome (validated first).
pub fn compile(genome: &Genome) -> Result<Program> {
    genome.validate()?;
    let hidden_order = genome.execution_order()?;
    let live = live_hidden(genome);
    let order: Vec<u32> =
        hidden_order.into_iter().filter(|id| live.contains_key(id)).chain(genome.output_ids()).collect();
    let first_op_slot = 1 + genome.n_inputs;
    let slot_of: HashMap<u32, u32> =
        order.iter().enumerate().map(|(k, &id)| (id, first_op_slot + k as u32)).collect();
    let slot = |id: u32| if id < first_op_slot { Some(id) } else { slot_of.get(&id).copied() };

    let mut incoming: HashMap<u32, Vec<u32>> = HashMap::new();
    for c in genome.conns.iter().filter(|c| c.enabled) {
        if let (Some(s), true) = (slot(c.src), slot_of.contains_key(&c.dst)) {
            incoming.entry(c.dst).or_default().push(s);
        }
    }
    let mut ops = Vec::with_capacity(order.len());
    let mut edges = Vec::new();
    for &id in &order {
        let mut sources = incoming.remove(&id).unwrap_or_default();
        sources.sort_unstable(); // bias/input slots first, then ops; ascending for locality
        let n_const = sources.iter().take_while(|&&s| s < first_op_slot).count() as u32;
        ops.push(Op {
            activation: genome.activation_of(id).id(),
            src_start: edges.len() as u32,
            n_const,
            n_hidden: sources.len() as u32 - n_const,
        });
        edges.extend(sources);
    }
    Ok(Program {
        n_inputs: genome.n_inputs,
        n_outputs: genome.n_outputs,
        ops,
        edges,
        enabled_connections: genome.enabled_connections() as u32,
        node_count: genome.node_count() as u32,
    })
}

/// Hidden nodes that reach an output through enabled connections (value: unused).
fn live_hidden(genome: &Genome) -> HashMap<u32, ()> {
    let mut preds: HashMap<u32, Vec<u32>> = HashMap::new();
    for c in genome.conns.iter().filter(|c| c.enabled) {
        preds.entry(c.dst).or_default().push(c.src);
    }
    let mut live = HashMap::new();
    let mut stack: Vec<u32> = genome.output_ids().collect();
    while let Some(id) = stack.pop() {
        for &s in preds.get(&id).map(Vec::as_slice).unwrap_or(&[]) {
            if s >= genome.fixed_node_count() && live.insert(s, ()).is_none() {
                stack.push(s);
            }
        }
    }
    live
}

/// Many programs in one set of buffers, ready for upload.
#[derive(Clone, Debug, Default)]
pub struct Programs {
    pub n_inputs: u32,
    pub n_outputs: u32,
    pub headers: Vec<ProgramHeader>,
    pub ops: Vec<Op>,
    pub edges: Vec<u32>,
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
            out.enabled_connections.push(p.enabled_connections);
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

    /// Enabled connections over all programs: the unit of the edge-evaluation count.
    pub fn total_enabled_connections(&self) -> u64 {
        self.enabled_connections.iter().map(|&c| c as u64).sum()
    }
}

/// Activation of an op, decoded (ops only ever hold valid ids: the compiler writes them).
pub fn op_activation(op: &Op) -> Activation {
    Activation::from_id(op.activation).unwrap_or(Activation::Linear)
}
