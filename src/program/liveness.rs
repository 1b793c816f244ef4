//! Value slots by liveness, for evaluators that keep node values in a small, fast memory (the GPU's
//! on-chip kernel). [`Program`](super::Program)'s own layout, one slot per op, stays what the CPU
//! evaluator uses; this is a separate mapping from ops to fewer slots.
//!
//! A slot is reused once the last op reading its value has run (an op reads all its sources before
//! writing its own value, so it may take over a slot it reads last). Outputs are read at the end and
//! keep slots `0..n_outputs` (output `o` in slot `o`) for the whole program; hidden values take the
//! lowest free slot from `n_outputs` on. Lowest-free on intervals in execution order uses exactly
//! the largest number of values live at once, which is the least any allocation can use.

use super::Op;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Where each op's value lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotMap {
    /// Slot of each op's value, in `0..n_slots`.
    pub slot: Vec<u32>,
    /// Slots needed: the outputs plus the most hidden values live at once.
    pub n_slots: u32,
}

/// Allocates slots for the ops of one program (`edges` indexed from each op's `src_start`; op
/// sources are slots from `first_op_slot` on, in [`Program`](super::Program)'s layout; the last
/// `n_outputs` ops are the outputs).
pub fn allocate(ops: &[Op], edges: &[u32], first_op_slot: u32, n_outputs: u32) -> SlotMap {
    let n = ops.len();
    let first_output = n.saturating_sub(n_outputs as usize);
    // Index of the last op that reads each op's value.
    let mut last_read: Vec<Option<usize>> = vec![None; n];
    for (r, op) in ops.iter().enumerate() {
        for s in hidden_sources(op, edges, first_op_slot) {
            last_read[s] = Some(r);
        }
    }
    let mut slot = vec![0u32; n];
    let mut free: BinaryHeap<Reverse<u32>> = BinaryHeap::new();
    let mut n_slots = (n - first_output) as u32;
    let mut take = |free: &mut BinaryHeap<Reverse<u32>>| match free.pop() {
        Some(Reverse(s)) => s,
        None => {
            n_slots += 1;
            n_slots - 1
        }
    };
    for (k, op) in ops.iter().enumerate() {
        for s in hidden_sources(op, edges, first_op_slot) {
            // Each source once, even when an op reads it twice.
            if s < first_output && last_read[s] == Some(k) {
                last_read[s] = None;
                free.push(Reverse(slot[s]));
            }
        }
        if k >= first_output {
            slot[k] = (k - first_output) as u32;
            continue;
        }
        slot[k] = take(&mut free);
        if last_read[k].is_none() {
            // Never read (not made by the compiler, which prunes such nodes): free at once.
            free.push(Reverse(slot[k]));
        }
    }
    SlotMap { slot, n_slots }
}

impl super::Program {
    /// Value slots by liveness (see [`allocate`]); `n_slots` is the most values live at once.
    pub fn slot_map(&self) -> SlotMap {
        allocate(&self.ops, &self.edges, self.first_op_slot(), self.n_outputs)
    }
}

/// Op indices of `op`'s op sources.
fn hidden_sources<'a>(op: &Op, edges: &'a [u32], first_op_slot: u32) -> impl Iterator<Item = usize> + 'a {
    let start = (op.src_start + op.n_const) as usize;
    edges[start..start + op.n_hidden as usize].iter().map(move |&s| (s - first_op_slot) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A random program: `n` ops, the last `n_out` of them outputs, each reading a few pixels and a
    /// few earlier non-output ops (sometimes the same one twice).
    fn random_program(rng: &mut impl Rng, n: usize, n_out: usize, first_op_slot: u32) -> (Vec<Op>, Vec<u32>) {
        let (mut ops, mut edges) = (Vec::new(), Vec::new());
        for k in 0..n {
            let src_start = edges.len() as u32;
            let n_const = rng.random_range(0..3);
            for _ in 0..n_const {
                edges.push(rng.random_range(0..first_op_slot));
            }
            let hidden_before = k.min(n - n_out);
            let n_hidden = if hidden_before == 0 { 0 } else { rng.random_range(0..5) };
            let mut srcs: Vec<u32> = (0..n_hidden)
                .map(|_| {
                    // Mostly recent ops (chains), sometimes far back (long-lived values).
                    let back = if rng.random_bool(0.7) {
                        rng.random_range(1..=hidden_before.min(4))
                    } else {
                        hidden_before
                    };
                    first_op_slot + (hidden_before - rng.random_range(1..=back)) as u32
                })
                .collect();
            srcs.sort_unstable();
            edges.extend(&srcs);
            ops.push(Op { activation: 0, src_start, n_const, n_hidden: srcs.len() as u32 });
        }
        (ops, edges)
    }

    /// Runs the program with one value per op, and again with values in `map`'s slots; every op must
    /// see the same source values (exact: the same f32 operations in the same order).
    fn same_values(ops: &[Op], edges: &[u32], first_op_slot: u32, map: &SlotMap) {
        let pixel = |s: u32| 1.0 + s as f32 * 0.25;
        let f = |k: usize, acc: f32| (acc * 0.75 + k as f32).sin();
        let (mut plain, mut slots) = (vec![0.0f32; ops.len()], vec![f32::NAN; map.n_slots as usize]);
        for (k, op) in ops.iter().enumerate() {
            let srcs = &edges[op.src_start as usize..(op.src_start + op.n_const + op.n_hidden) as usize];
            let (c, h) = srcs.split_at(op.n_const as usize);
            let base: f32 = c.iter().map(|&s| pixel(s)).sum();
            let a = h.iter().fold(base, |a, &s| a + plain[(s - first_op_slot) as usize]);
            let b = h.iter().fold(base, |a, &s| a + slots[map.slot[(s - first_op_slot) as usize] as usize]);
            assert_eq!(a.to_bits(), b.to_bits(), "op {k} read a value overwritten too early");
            plain[k] = f(k, a);
            slots[map.slot[k] as usize] = f(k, b);
        }
    }

    /// The most values live at once, by definition: when op `k` is written, op `j < k` is still
    /// needed if some op after `k` reads it; outputs are needed throughout.
    fn brute_force_max_live(ops: &[Op], edges: &[u32], first_op_slot: u32, n_out: usize) -> u32 {
        let n = ops.len();
        let first_output = n - n_out;
        let readers: Vec<Vec<usize>> = (0..n)
            .map(|j| {
                (0..n).filter(|&r| hidden_sources(&ops[r], edges, first_op_slot).any(|s| s == j)).collect()
            })
            .collect();
        let mut most = 0;
        for k in 0..n {
            let hidden_live =
                (0..first_output).filter(|&j| j == k || (j < k && readers[j].iter().any(|&r| r > k))).count();
            most = most.max(hidden_live);
        }
        (n_out + most) as u32
    }

    #[test]
    fn slots_are_reused_safely_and_minimally() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let first_op_slot = 257;
        for case in 0..300 {
            let n_out = 1 + case % 10;
            let n = n_out + rng.random_range(0..60);
            let (ops, edges) = random_program(&mut rng, n, n_out, first_op_slot);
            let map = allocate(&ops, &edges, first_op_slot, n_out as u32);
            assert!(map.slot.iter().all(|&s| s < map.n_slots), "case {case}: slot out of range");
            for o in 0..n_out {
                assert_eq!(map.slot[n - n_out + o], o as u32, "case {case}: output {o}");
            }
            same_values(&ops, &edges, first_op_slot, &map);
            let want = brute_force_max_live(&ops, &edges, first_op_slot, n_out);
            assert_eq!(map.n_slots, want, "case {case}: {} slots, {want} values live at most", map.n_slots);
        }
    }

    #[test]
    fn a_chain_needs_two_slots_and_a_fan_needs_all() {
        // Chain: op k reads op k - 1; one output reads the last hidden op.
        let fs = 3;
        let mut ops = Vec::new();
        let mut edges = Vec::new();
        for k in 0..6u32 {
            ops.push(Op {
                activation: 0,
                src_start: edges.len() as u32,
                n_const: 1,
                n_hidden: (k > 0) as u32,
            });
            edges.push(0);
            if k > 0 {
                edges.push(fs + k - 1);
            }
        }
        let map = allocate(&ops, &edges, fs, 1);
        // The output (slot 0) plus one hidden slot, each op taking over its source's slot.
        assert_eq!(map.n_slots, 2);
        assert_eq!(map.slot, vec![1, 1, 1, 1, 1, 0]);
        // Fan: the output reads all five hidden ops, so all are live together.
        let mut ops: Vec<Op> =
            (0..5).map(|k| Op { activation: 0, src_start: k, n_const: 1, n_hidden: 0 }).collect();
        let mut edges = vec![0u32; 5];
        ops.push(Op { activation: 0, src_start: 5, n_const: 0, n_hidden: 5 });
        edges.extend((0..5).map(|k| fs + k));
        assert_eq!(allocate(&ops, &edges, fs, 1).n_slots, 6);
    }
}
