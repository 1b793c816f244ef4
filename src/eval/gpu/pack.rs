//! Programs re-encoded for the on-chip kernel, validated on the CPU first: every index the kernel
//! will use is checked here, so that the kernel may run without runtime bounds checks.

use crate::error::{Error, Result};
use crate::program::liveness::allocate;
use crate::program::Op;

/// One program re-encoded for `evaluate_onchip`.
#[derive(Debug)]
pub(super) struct OnChip {
    pub ops: Vec<Op>,
    pub edges: Vec<u32>,
    /// Value slots the program needs (the most values live at once).
    pub n_slots: u32,
}

/// `ops` and `edges` of one program for `evaluate_onchip`: values get slots by liveness, op sources
/// become value slots, and each op's activation carries its own slot (`activation | slot << 8`).
/// Errors (rather than a kernel reading out of bounds) when the program is malformed: a source
/// past the batch rows (`dim + 1`), an op source that is not an earlier op, an edge range past the
/// edges, fewer ops than outputs.
pub(super) fn onchip_program(ops: &[Op], edges: &[u32], dim: u32, n_outputs: u32) -> Result<OnChip> {
    let bad = |what: String| {
        Error::Invalid(format!("malformed program: {what}; compile programs with program::compile"))
    };
    if (ops.len() as u64) < n_outputs as u64 || ops.len() >= 1 << 24 {
        return Err(bad(format!("{} ops for {n_outputs} outputs", ops.len())));
    }
    let first_op_slot = dim + 1;
    for (k, op) in ops.iter().enumerate() {
        let end = op.src_start as u64 + op.n_const as u64 + op.n_hidden as u64;
        if end > edges.len() as u64 || op.activation > 0xff {
            return Err(bad(format!("op {k} reads edges {}..{end} of {}", op.src_start, edges.len())));
        }
        let srcs = &edges[op.src_start as usize..end as usize];
        let (consts, hidden) = srcs.split_at(op.n_const as usize);
        if let Some(s) = consts.iter().find(|&&s| s >= first_op_slot) {
            return Err(bad(format!("op {k}: bias/input source {s} is not below {first_op_slot}")));
        }
        if let Some(s) = hidden.iter().find(|&&s| s < first_op_slot || (s - first_op_slot) as usize >= k) {
            return Err(bad(format!("op {k}: op source {s} is not an earlier op")));
        }
    }
    let map = allocate(ops, edges, first_op_slot, n_outputs);
    let mut out_ops = Vec::with_capacity(ops.len());
    let mut out_edges = Vec::with_capacity(edges.len());
    for (k, op) in ops.iter().enumerate() {
        let start = op.src_start as usize;
        let src_start = out_edges.len() as u32;
        out_edges.extend_from_slice(&edges[start..start + op.n_const as usize]);
        let hidden = &edges[start + op.n_const as usize..start + (op.n_const + op.n_hidden) as usize];
        out_edges.extend(hidden.iter().map(|&s| map.slot[(s - first_op_slot) as usize]));
        out_ops.push(Op { activation: op.activation | map.slot[k] << 8, src_start, ..*op });
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
        let p = onchip_program(&ops, &edges, 2, 1).unwrap();
        assert_eq!(p.n_slots, 2);
        assert_eq!(p.edges, vec![0, 2, 1, 1]);
        assert_eq!((p.ops[0].activation, p.ops[1].activation), (tanh | 1 << 8, linear));
        // A source that is not an earlier op, an input slot past the inputs, edges past the end.
        let err = onchip_program(&ops, &[0, 2, 1, 4], 2, 1).unwrap_err();
        assert!(err.to_string().contains("not an earlier op"), "{err}");
        let err = onchip_program(&ops, &[0, 7, 1, 3], 2, 1).unwrap_err();
        assert!(err.to_string().contains("bias/input source 7"), "{err}");
        assert!(onchip_program(&ops, &edges[..3], 2, 1).is_err());
    }
}
