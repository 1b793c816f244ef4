//! A child program as a delta of its parent's: which of the child's ops compute exactly what one of
//! the parent's ops computes, and a small program for the rest (the cone), so that an evaluator that
//! has just run the parent runs only the cone.
//!
//! An op of the child is shared when the parent has an op for the same node with the same
//! activation and the same sources in the same order (bias/input slots equal, op sources shared ops
//! that are the parent's corresponding sources). Its value is then computed by the identical sequence
//! of float operations in both programs, so reading it from the parent is exact, whatever the mutation
//! that made the child and whatever the genome means: the test is on the compiled programs alone.

use super::{Op, View};
use rustc_hash::FxHashMap as HashMap;

/// Node id of an op whose node is not known: it is never shared.
pub const UNKNOWN_NODE: u32 = u32::MAX;

/// The part of a child that must be computed after its parent. Evaluators keep one table of value
/// rows: rows `0 .. parent_ops` are the parent's ops in its order, and cone op `k` writes row
/// `parent_ops + k`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delta {
    pub parent_ops: usize,
    /// The cone in the child's execution order. Each op's sources start at `src_start` in `edges`:
    /// first `n_const` bias/input slots (as in a program), then `n_hidden` value-table rows.
    pub ops: Vec<Op>,
    pub edges: Vec<u32>,
    /// Per cone op, the parent op with the same node and the same bias/input sources in the same
    /// order, if any: that weight-independent part of the sum is the parent's, exactly.
    pub same_consts: Vec<Option<u32>>,
    /// The value-table row of each of the child's outputs, in output order.
    pub outputs: Vec<u32>,
}

/// The op of a parent that computes each genome node: built once per parent, shared by the plans of
/// all its children.
pub struct ParentIndex {
    op_of_node: HashMap<u32, usize>,
}

impl ParentIndex {
    pub fn new(parent: View) -> ParentIndex {
        let mut op_of_node: HashMap<u32, usize> = HashMap::default();
        if parent.node_ids.len() == parent.ops.len() {
            op_of_node.reserve(parent.ops.len());
            for (k, &id) in parent.node_ids.iter().enumerate() {
                if id != UNKNOWN_NODE {
                    op_of_node.entry(id).or_insert(k);
                }
            }
        }
        ParentIndex { op_of_node }
    }
}

impl Delta {
    /// Plans `child` after `parent` (two programs with the same inputs and `n_outputs` outputs).
    pub fn plan(parent: View, child: View, n_outputs: usize) -> Delta {
        Delta::plan_indexed(parent, &ParentIndex::new(parent), child, n_outputs)
    }

    /// [`Delta::plan`] with the parent's index made already (`index` must be `parent`'s).
    pub fn plan_indexed(parent: View, index: &ParentIndex, child: View, n_outputs: usize) -> Delta {
        let first = child.first_op_slot;
        let comparable = parent.first_op_slot == first
            && parent.node_ids.len() == parent.ops.len()
            && child.node_ids.len() == child.ops.len();
        let parent_op = &index.op_of_node;
        // Per child op: the parent op it shares, if any, and its value-table row.
        let mut shared: Vec<Option<usize>> = Vec::with_capacity(child.ops.len());
        let mut row = Vec::with_capacity(child.ops.len());
        let mut delta = Delta {
            parent_ops: parent.ops.len(),
            ops: Vec::new(),
            edges: Vec::new(),
            same_consts: Vec::new(),
            outputs: Vec::new(),
        };
        for (j, op) in child.ops.iter().enumerate() {
            let srcs = sources(child, op);
            let counterpart = comparable.then(|| parent_op.get(&child.node_ids[j]).copied()).flatten();
            let same = counterpart.filter(|&m| {
                let p = &parent.ops[m];
                p.activation == op.activation
                    && p.n_const == op.n_const
                    && p.n_hidden == op.n_hidden
                    && sources(parent, p).iter().zip(srcs).enumerate().all(|(i, (&ps, &cs))| {
                        if i < op.n_const as usize {
                            ps == cs
                        } else {
                            shared[(cs - first) as usize] == Some((ps - first) as usize)
                        }
                    })
            });
            shared.push(same);
            match same {
                Some(m) => row.push(m as u32),
                None => {
                    let r = (delta.parent_ops + delta.ops.len()) as u32;
                    delta.ops.push(Op { src_start: delta.edges.len() as u32, ..*op });
                    let (consts, hidden) = srcs.split_at(op.n_const as usize);
                    delta.same_consts.push(
                        counterpart
                            .filter(|&m| {
                                let p = &parent.ops[m];
                                p.n_const == op.n_const && &sources(parent, p)[..p.n_const as usize] == consts
                            })
                            .map(|m| m as u32),
                    );
                    delta.edges.extend_from_slice(consts);
                    delta.edges.extend(hidden.iter().map(|&s| row[(s - first) as usize]));
                    row.push(r);
                }
            }
        }
        delta.outputs = row[row.len() - n_outputs..].to_vec();
        delta
    }

    /// Connections the cone computes: op sources, and bias/input sources not shared with the parent.
    pub fn edge_count(&self) -> u64 {
        self.ops
            .iter()
            .zip(&self.same_consts)
            .map(|(op, same)| op.n_hidden as u64 + if same.is_some() { 0 } else { op.n_const as u64 })
            .sum()
    }
}

fn sources<'a>(p: View<'a>, op: &Op) -> &'a [u32] {
    let start = op.src_start as usize;
    &p.edges[start..start + (op.n_const + op.n_hidden) as usize]
}
