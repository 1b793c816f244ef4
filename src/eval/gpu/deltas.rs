//! Deltas on the GPU. A parent runs in full and also writes the values its children read to rows of
//! a family value table on the device (`OP_STORE`); each child then runs only its cone, in a later
//! dispatch, with the parent values it reads loaded from those rows (`OP_LOAD`). Both are ordinary
//! programs of the on-chip kernel, so a child computes each of its cone's values with exactly the
//! float operations of its full program, from the same inputs.
//!
//! The table holds one f32 per (row, weight, example of the pass), within [`ROWS_BUDGET`]: families
//! are run in chunks whose rows fit it (each chunk's parents, then its children, reusing the
//! table), and a family whose rows alone do not fit has its children evaluated in full.

use super::pack::RowIo;
use crate::program::delta::Delta;
use crate::program::Op;

/// Most bytes the family value table may take (the binding limit may lower it).
pub(super) const ROWS_BUDGET: u64 = 256 << 20;

/// A child's cone as a program of its own: op sources that are the parent's values become ops
/// without sources, placed just before their first reader, whose values are loaded from the
/// table; the last `n_outputs` ops are the child's outputs, in order, as in any program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DeltaProgram {
    pub ops: Vec<Op>,
    pub edges: Vec<u32>,
    /// (op, parent op): the op takes the value of the parent's op.
    pub loads: Vec<(u32, u32)>,
}

impl DeltaProgram {
    /// `delta` in a program's layout, op sources from `first_op_slot` on.
    pub fn new(delta: &Delta, first_op_slot: u32) -> DeltaProgram {
        let parent_ops = delta.parent_ops as u32;
        let mut out = DeltaProgram { ops: Vec::new(), edges: Vec::new(), loads: Vec::new() };
        // The op of this program holding each value-table row, once it has one.
        let mut op_of: Vec<Option<u32>> = vec![None; delta.parent_ops + delta.ops.len()];
        let load = |out: &mut DeltaProgram, op_of: &mut Vec<Option<u32>>, row: u32| {
            let k = out.ops.len() as u32;
            out.ops.push(Op { activation: 0, src_start: out.edges.len() as u32, n_const: 0, n_hidden: 0 });
            out.loads.push((k, row));
            op_of[row as usize] = Some(k);
        };
        // Cone ops that are outputs come last in the cone (outputs are last in every program).
        let output_cone_op = |j: usize| delta.outputs.contains(&(parent_ops + j as u32));
        let n_hidden_cone = (0..delta.ops.len()).take_while(|&j| !output_cone_op(j)).count();
        let sources = |j: usize| {
            let op = &delta.ops[j];
            let start = op.src_start as usize;
            let (consts, hidden) =
                delta.edges[start..start + (op.n_const + op.n_hidden) as usize].split_at(op.n_const as usize);
            (op, consts, hidden)
        };
        let emit = |out: &mut DeltaProgram, op_of: &mut Vec<Option<u32>>, j: usize| {
            let (op, consts, hidden) = sources(j);
            let src_start = out.edges.len() as u32;
            out.edges.extend_from_slice(consts);
            out.edges.extend(hidden.iter().map(|&r| {
                first_op_slot
                    + op_of[r as usize].expect("a delta's sources are parent rows or earlier cone ops")
            }));
            op_of[(parent_ops as usize) + j] = Some(out.ops.len() as u32);
            out.ops.push(Op { src_start, ..*op });
        };
        let load_sources = |out: &mut DeltaProgram, op_of: &mut Vec<Option<u32>>, j: usize| {
            for &r in sources(j).2 {
                if op_of[r as usize].is_none() {
                    load(out, op_of, r);
                }
            }
        };
        for j in 0..n_hidden_cone {
            load_sources(&mut out, &mut op_of, j);
            emit(&mut out, &mut op_of, j);
        }
        // Every load before the first output, so that the outputs are the last ops.
        for j in n_hidden_cone..delta.ops.len() {
            load_sources(&mut out, &mut op_of, j);
        }
        for &row in &delta.outputs {
            if row < parent_ops {
                load(&mut out, &mut op_of, row);
            } else {
                emit(&mut out, &mut op_of, (row - parent_ops) as usize);
            }
        }
        out
    }

    /// The loads as rows of the table, given the row of each parent op that children read.
    pub fn row_io(&self, row_of: impl Fn(u32) -> u32, n_rows: u32) -> RowIo {
        RowIo { loads: self.loads.iter().map(|&(k, p)| (k, row_of(p))).collect(), stores: Vec::new(), n_rows }
    }
}

/// The parent ops a family's children read, ascending: the parent stores exactly these.
pub(super) fn stored_ops<'a>(children: impl IntoIterator<Item = &'a DeltaProgram>) -> Vec<u32> {
    let mut ops: Vec<u32> = children.into_iter().flat_map(|c| c.loads.iter().map(|&(_, p)| p)).collect();
    ops.sort_unstable();
    ops.dedup();
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genome::Activation;
    use crate::program::View;

    /// Two inputs (slots 1, 2; ops from 3), two outputs. Parent: op 0 = tanh(in1), op 1 =
    /// relu(op 0), outputs op 2 = op 0 + op 1, op 3 = in2.
    fn parent() -> (Vec<Op>, Vec<u32>, Vec<u32>) {
        let (tanh, relu, lin) = (Activation::Tanh.id(), Activation::Relu.id(), Activation::Linear.id());
        let ops = vec![
            Op { activation: tanh, src_start: 0, n_const: 1, n_hidden: 0 },
            Op { activation: relu, src_start: 1, n_const: 0, n_hidden: 1 },
            Op { activation: lin, src_start: 2, n_const: 0, n_hidden: 2 },
            Op { activation: lin, src_start: 4, n_const: 1, n_hidden: 0 },
        ];
        (ops, vec![1, 3, 3, 4, 2], vec![10, 11, 20, 21])
    }

    #[test]
    fn a_cone_reads_parent_values_through_loads_and_ends_with_the_outputs() {
        let (ops, edges, ids) = parent();
        // The child changes node 11's activation: 11 and output 20 are the cone; 20 reads the
        // parent's node 10; output 21 is the parent's.
        let mut child = ops.clone();
        child[1].activation = Activation::Sin.id();
        let d = Delta::plan(view(&ops, &edges, &ids), view(&child, &edges, &ids), 2);
        let p = DeltaProgram::new(&d, 3);
        // load(10); sin(load); then the outputs: 20 = load + sin, 21 = load of the parent's.
        assert_eq!(p.loads, vec![(0, 0), (3, 3)]);
        assert_eq!(p.ops.len(), 4);
        assert_eq!(p.ops[1], Op { activation: Activation::Sin.id(), src_start: 0, n_const: 0, n_hidden: 1 });
        assert_eq!(p.ops[2].n_hidden, 2);
        assert_eq!(p.edges, vec![3, 3, 4]);
        assert_eq!(stored_ops([&p, &p]), vec![0, 3]);
        let io = p.row_io(|op| op + 100, 200);
        assert_eq!(io.loads, vec![(0, 100), (3, 103)]);
    }

    fn view<'a>(ops: &'a [Op], edges: &'a [u32], node_ids: &'a [u32]) -> View<'a> {
        View { first_op_slot: 3, ops, edges, node_ids }
    }
}
