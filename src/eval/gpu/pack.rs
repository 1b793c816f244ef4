//! Programs re-encoded for the on-chip kernel, validated on the CPU first: every index the kernel
//! will use is checked here, so that the kernel may run without runtime bounds checks.

use crate::error::{Error, Result};
use crate::program::liveness::allocate;
use crate::program::{Op, View};

/// Instructions of the on-chip kernel that move a value between a slot and a row of the family
/// value table (`OP_LOAD`, `OP_STORE` in the shader; activation ids are far below them).
pub(super) const OP_LOAD: u32 = 0xfe;
pub(super) const OP_STORE: u32 = 0xff;

/// Rows of the family value table a program reads or writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct RowIo {
    /// (op, row): the op, which has no sources, takes its value from the row instead.
    pub loads: Vec<(u32, u32)>,
    /// (op, row): the op's value is also written to the row.
    pub stores: Vec<(u32, u32)>,
    /// Rows in the table: every row above is below it.
    pub n_rows: u32,
}

/// One program re-encoded for `evaluate_onchip`.
#[derive(Debug)]
pub(super) struct OnChip {
    pub ops: Vec<Op>,
    pub edges: Vec<u32>,
    /// Value slots the program needs (the most values live at once).
    pub n_slots: u32,
}

impl OnChip {
    /// Moves every load and store `first_row` rows down the table (a family's rows are numbered
    /// from 0 when it is encoded, before it has a place in the table).
    pub fn shift_rows(&mut self, first_row: u32) {
        for op in &mut self.ops {
            if matches!(op.activation & 0xff, OP_LOAD | OP_STORE) {
                op.src_start += first_row;
            }
        }
    }
}

/// `ops` and `edges` of one program for `evaluate_onchip`: values get slots by liveness, op sources
/// become value slots, and each op's activation carries its own slot (`activation | slot << 8`);
/// `io`'s loads and stores become `OP_LOAD` ops and `OP_STORE` ops right after the op they store.
/// Errors (rather than a kernel reading out of bounds) when the program is malformed (see
/// [`View::check`]; bias/input sources must be batch rows, below `dim + 1`), or a load or store is:
/// a row past the table, a load into an op with sources, two of one kind for one op.
pub(super) fn onchip_program(
    ops: &[Op],
    edges: &[u32],
    dim: u32,
    n_outputs: u32,
    io: &RowIo,
) -> Result<OnChip> {
    let bad = |what: String| {
        Error::Invalid(format!("malformed program: {what}; compile programs with program::compile"))
    };
    let first_op_slot = dim + 1;
    View { first_op_slot, ops, edges, node_ids: &[] }.check(n_outputs)?;
    if ops.len() >= 1 << 24 {
        return Err(bad(format!("{} ops, more than the kernel's slot field holds", ops.len())));
    }
    // Per op, the row it loads from and the row it stores to.
    let mut load = vec![None; ops.len()];
    let mut store = vec![None; ops.len()];
    for (list, is_load, to) in [(&io.loads, true, &mut load), (&io.stores, false, &mut store)] {
        let what = if is_load { "load" } else { "store" };
        for &(k, row) in list {
            let Some(op) = ops.get(k as usize) else {
                return Err(bad(format!("a {what} for op {k} of {}", ops.len())));
            };
            let has_sources = op.n_const + op.n_hidden > 0;
            if row >= io.n_rows || (is_load && has_sources) || to[k as usize].is_some() {
                return Err(bad(format!("op {k}: bad {what} of row {row} of {}", io.n_rows)));
            }
            to[k as usize] = Some(row);
        }
    }
    let map = allocate(ops, edges, first_op_slot, n_outputs);
    let mut out_ops = Vec::with_capacity(ops.len() + io.stores.len());
    let mut out_edges = Vec::with_capacity(edges.len());
    for (k, op) in ops.iter().enumerate() {
        let slot = map.slot[k] << 8;
        if let Some(row) = load[k] {
            out_ops.push(Op { activation: OP_LOAD | slot, src_start: row, n_const: 0, n_hidden: 0 });
        } else {
            let start = op.src_start as usize;
            let src_start = out_edges.len() as u32;
            out_edges.extend_from_slice(&edges[start..start + op.n_const as usize]);
            let hidden = &edges[start + op.n_const as usize..start + (op.n_const + op.n_hidden) as usize];
            out_edges.extend(hidden.iter().map(|&s| map.slot[(s - first_op_slot) as usize]));
            out_ops.push(Op { activation: op.activation | slot, src_start, ..*op });
        }
        if let Some(row) = store[k] {
            // Right after the op: its slot still holds its value (nothing has run since).
            out_ops.push(Op { activation: OP_STORE | slot, src_start: row, n_const: 0, n_hidden: 0 });
        }
    }
    Ok(OnChip { ops: out_ops, edges: out_edges, n_slots: map.n_slots })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genome::Activation;

    #[test]
    fn sources_become_slots_and_bad_programs_are_refused() {
        // Two inputs (slots 1, 2; ops from 3): op 0 reads the bias and input 2, op 1 (the output)
        // reads input 1 and op 0.
        let (tanh, linear) = (Activation::Tanh.id(), Activation::Linear.id());
        let ops = [
            Op { activation: tanh, src_start: 0, n_const: 2, n_hidden: 0 },
            Op { activation: linear, src_start: 2, n_const: 1, n_hidden: 1 },
        ];
        let edges = [0, 2, 1, 3];
        let p = onchip_program(&ops, &edges, 2, 1, &RowIo::default()).unwrap();
        assert_eq!(p.n_slots, 2);
        assert_eq!(p.edges, vec![0, 2, 1, 1]);
        assert_eq!((p.ops[0].activation, p.ops[1].activation), (tanh | 1 << 8, linear));
        // A source that is not an earlier op, an input slot past the inputs, edges past the end.
        let err = onchip_program(&ops, &[0, 2, 1, 4], 2, 1, &RowIo::default()).unwrap_err();
        assert!(err.to_string().contains("not an earlier hidden op"), "{err}");
        let err = onchip_program(&ops, &[0, 7, 1, 3], 2, 1, &RowIo::default()).unwrap_err();
        assert!(err.to_string().contains("bias/input source 7"), "{err}");
        assert!(onchip_program(&ops, &edges[..3], 2, 1, &RowIo::default()).is_err());
    }

    #[test]
    fn loads_and_stores_become_row_instructions() {
        // One input (slot 1; ops from 2): op 0 is loaded from row 2, op 1 = tanh(bias + op 0) is
        // stored to row 0, the output reads op 1.
        let (tanh, linear) = (Activation::Tanh.id(), Activation::Linear.id());
        let ops = [
            Op { activation: linear, src_start: 0, n_const: 0, n_hidden: 0 },
            Op { activation: tanh, src_start: 0, n_const: 1, n_hidden: 1 },
            Op { activation: linear, src_start: 2, n_const: 0, n_hidden: 1 },
        ];
        let edges = [0, 2, 3];
        let io = RowIo { loads: vec![(0, 2)], stores: vec![(1, 0)], n_rows: 3 };
        let p = onchip_program(&ops, &edges, 1, 1, &io).unwrap();
        // The output keeps slot 0; op 1 takes over op 0's slot 1, which it reads last.
        assert_eq!(p.n_slots, 2);
        let row_op = |kind: u32, slot: u32, row: u32| Op {
            activation: kind | slot << 8,
            src_start: row,
            n_const: 0,
            n_hidden: 0,
        };
        assert_eq!(
            p.ops,
            vec![
                row_op(OP_LOAD, 1, 2),
                Op { activation: tanh | 1 << 8, src_start: 0, n_const: 1, n_hidden: 1 },
                row_op(OP_STORE, 1, 0),
                Op { activation: linear, src_start: 2, n_const: 0, n_hidden: 1 },
            ]
        );
        assert_eq!(p.edges, vec![0, 1, 1]);
        // A row past the table, a load into an op with sources, an op that is not there.
        for io in [
            RowIo { loads: vec![(0, 3)], ..io.clone() },
            RowIo { loads: vec![(1, 0)], ..io.clone() },
            RowIo { stores: vec![(3, 0)], ..io.clone() },
            RowIo { stores: vec![(1, 0), (1, 1)], ..io.clone() },
        ] {
            let err = onchip_program(&ops, &edges, 1, 1, &io).unwrap_err();
            assert!(err.to_string().contains("malformed program"), "{err}");
        }
    }
}
