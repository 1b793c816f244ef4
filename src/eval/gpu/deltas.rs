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
use crate::error::{Error, Result};
use crate::genome::Activation;
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
    /// `delta` in a program's layout, op sources from `first_op_slot` on. An error if the delta
    /// is not one [`Delta::plan`] makes (a source that is neither a parent op nor an earlier cone
    /// op, a hidden cone op after an output).
    pub fn new(delta: &Delta, first_op_slot: u32) -> Result<DeltaProgram> {
        let mut b = Builder {
            delta,
            first_op_slot,
            out: DeltaProgram { ops: Vec::new(), edges: Vec::new(), loads: Vec::new() },
            op_of: vec![None; delta.parent_ops + delta.ops.len()],
        };
        // Cone ops that are outputs come last in the cone, as outputs do in every program.
        let parent_ops = delta.parent_ops as u32;
        let is_output = |j: usize| delta.outputs.contains(&(parent_ops + j as u32));
        let n_hidden = (0..delta.ops.len()).take_while(|&j| !is_output(j)).count();
        if (n_hidden..delta.ops.len()).any(|j| !is_output(j)) {
            return Err(bad_delta("a hidden cone op after an output"));
        }
        for j in 0..n_hidden {
            b.load_sources(j)?;
            b.emit(j)?;
        }
        // Every load before the first output, so that the outputs are the last ops.
        for j in n_hidden..delta.ops.len() {
            b.load_sources(j)?;
        }
        for &row in &delta.outputs {
            match row.checked_sub(parent_ops) {
                None => {
                    b.load(row);
                }
                Some(j) => b.emit(j as usize)?,
            }
        }
        Ok(b.out)
    }

    /// The loads as rows of the table, given the row of each parent op that children read.
    pub fn row_io(&self, row_of: impl Fn(u32) -> u32, n_rows: u32) -> RowIo {
        RowIo { loads: self.loads.iter().map(|&(k, p)| (k, row_of(p))).collect(), stores: Vec::new(), n_rows }
    }
}

fn bad_delta(what: &str) -> Error {
    Error::Invalid(format!("malformed delta: {what}; plan deltas with Delta::plan"))
}

/// Builds a [`DeltaProgram`]: `op_of` is the op of the program being built that holds each
/// value-table row (parent ops first, then cone ops), once it has one.
struct Builder<'a> {
    delta: &'a Delta,
    first_op_slot: u32,
    out: DeltaProgram,
    op_of: Vec<Option<u32>>,
}

impl Builder<'_> {
    /// An op without sources that takes the parent's value of `row`.
    fn load(&mut self, row: u32) -> u32 {
        let k = self.out.ops.len() as u32;
        let src_start = self.out.edges.len() as u32;
        // The activation is never applied (the value is loaded); any valid one keeps checks simple.
        let activation = Activation::Linear.id();
        self.out.ops.push(Op { activation, src_start, n_const: 0, n_hidden: 0 });
        self.out.loads.push((k, row));
        k
    }

    fn sources(&self, j: usize) -> Result<(&Op, &[u32], &[u32])> {
        let op = &self.delta.ops[j];
        let start = op.src_start as usize;
        let srcs = self
            .delta
            .edges
            .get(start..start + (op.n_const + op.n_hidden) as usize)
            .ok_or_else(|| bad_delta("an edge range past the edges"))?;
        let (consts, hidden) = srcs.split_at(op.n_const as usize);
        Ok((op, consts, hidden))
    }

    /// Loads of the parent rows cone op `j` reads that are not loaded yet.
    fn load_sources(&mut self, j: usize) -> Result<()> {
        let hidden = self.sources(j)?.2.to_vec();
        for r in hidden {
            if (r as usize) < self.delta.parent_ops && self.op_of[r as usize].is_none() {
                self.op_of[r as usize] = Some(self.load(r));
            }
        }
        Ok(())
    }

    /// Cone op `j`, its sources read from the ops that hold them.
    fn emit(&mut self, j: usize) -> Result<()> {
        let (op, consts, hidden) = self.sources(j)?;
        let (op, consts) = (*op, consts.to_vec());
        let hidden: Vec<u32> = hidden
            .iter()
            .map(|&r| self.op_of.get(r as usize).copied().flatten())
            .collect::<Option<_>>()
            .ok_or_else(|| bad_delta("a source that is neither a parent op nor an earlier cone op"))?;
        let src_start = self.out.edges.len() as u32;
        self.out.edges.extend_from_slice(&consts);
        self.out.edges.extend(hidden.iter().map(|&k| self.first_op_slot + k));
        self.op_of[self.delta.parent_ops + j] = Some(self.out.ops.len() as u32);
        self.out.ops.push(Op { src_start, ..op });
        Ok(())
    }
}

/// The parent ops a family's children read, ascending: the parent stores exactly these.
pub(super) fn stored_ops<'a>(children: impl IntoIterator<Item = &'a DeltaProgram>) -> Vec<u32> {
    let mut ops: Vec<u32> = children.into_iter().flat_map(|c| c.loads.iter().map(|&(_, p)| p)).collect();
    ops.sort_unstable();
    ops.dedup();
    ops
}

/// Where each family's rows go in a table of `max_rows` rows: families in order, each in the
/// current chunk while it fits and in a new chunk otherwise; a family with more rows than the
/// table, or none to place (`None`), gets no place. Returns (chunk, first row) per family and the
/// rows the table needs.
pub(super) fn place_rows(rows: &[Option<usize>], max_rows: usize) -> (Vec<Option<(u32, u32)>>, u32) {
    let (mut chunk, mut used, mut needed) = (0u32, 0usize, 0usize);
    let places = rows
        .iter()
        .map(|&r| {
            let r = r.filter(|&r| r <= max_rows)?;
            if used + r > max_rows {
                chunk += 1;
                used = 0;
            }
            let place = (chunk, used as u32);
            used += r;
            needed = needed.max(used);
            Some(place)
        })
        .collect();
    (places, needed as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{generation_workloads, BenchConfig, Size};
    use crate::data::Dataset;
    use crate::eval::fastmath::{apply_scalar, clamp_preact};
    use crate::program::View;
    use rand::{Rng, SeedableRng};

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

    fn view<'a>(ops: &'a [Op], edges: &'a [u32], node_ids: &'a [u32]) -> View<'a> {
        View { first_op_slot: 3, ops, edges, node_ids }
    }

    #[test]
    fn a_cone_reads_parent_values_through_loads_and_ends_with_the_outputs() {
        let (ops, edges, ids) = parent();
        // The child changes node 11's activation: 11 and output 20 are the cone; 20 reads the
        // parent's node 10; output 21 is the parent's.
        let mut child = ops.clone();
        child[1].activation = Activation::Sin.id();
        let d = Delta::plan(view(&ops, &edges, &ids), view(&child, &edges, &ids), 2);
        let p = DeltaProgram::new(&d, 3).unwrap();
        // load(10); sin(load); then the outputs: 20 = load + sin, 21 = load of the parent's.
        assert_eq!(p.loads, vec![(0, 0), (3, 3)]);
        assert_eq!(p.ops.len(), 4);
        assert_eq!(p.ops[1], Op { activation: Activation::Sin.id(), src_start: 0, n_const: 0, n_hidden: 1 });
        assert_eq!(p.ops[2].n_hidden, 2);
        assert_eq!(p.edges, vec![3, 3, 4]);
        assert_eq!(stored_ops([&p, &p]), vec![0, 3]);
        let io = p.row_io(|op| op + 100, 200);
        assert_eq!(io.loads, vec![(0, 100), (3, 103)]);
        // A delta whose cone reads a row it never computed is refused, not a panic.
        let mut broken = d.clone();
        broken.edges[0] = 7;
        assert!(DeltaProgram::new(&broken, 3).unwrap_err().to_string().contains("malformed delta"));
    }

    /// Runs a program on one example: `pixels[s]` for bias/input slot `s`, `loaded[k]` for op `k`
    /// where given; each op's value is its activation of the clamped `w * sum`, as the evaluators do.
    fn run(
        ops: &[Op],
        edges: &[u32],
        first: u32,
        pixels: &[f32],
        w: f32,
        loaded: &[Option<f32>],
    ) -> Vec<f32> {
        let mut v: Vec<f32> = Vec::with_capacity(ops.len());
        for (k, op) in ops.iter().enumerate() {
            if let Some(x) = loaded.get(k).copied().flatten() {
                v.push(x);
                continue;
            }
            let s = op.src_start as usize;
            let (consts, hidden) =
                edges[s..s + (op.n_const + op.n_hidden) as usize].split_at(op.n_const as usize);
            let mut acc = 0.0f32;
            for &c in consts {
                acc += pixels[c as usize];
            }
            for &h in hidden {
                acc += v[(h - first) as usize];
            }
            v.push(apply_scalar(op.activation, clamp_preact(w * acc)));
        }
        v
    }

    /// Every child of bred generations (grown deep on a small synthetic problem): its cone, with
    /// loads filled from the parent's values, gives exactly the child's outputs.
    #[test]
    fn cones_with_loads_give_the_childs_outputs_exactly() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (dim, classes, n) = (40, 5, 200);
        let data = Dataset {
            name: "synthetic".into(),
            dim,
            classes,
            inputs: (0..n * dim).map(|_| rng.random_range(-1.0..1.0)).collect(),
            labels: (0..n).map(|_| rng.random_range(0..classes as u8)).collect(),
        };
        let cfg =
            BenchConfig { population: 64, minibatch: 50, distinct: 4, seed: 3, ..BenchConfig::default() };
        let sizes = [
            Size { name: "start".into(), connections: 0, hidden: 0 },
            Size { name: "grown".into(), connections: 150, hidden: 40 },
        ];
        let first = 1 + dim as u32;
        let mut checked = 0;
        for w in generation_workloads(&cfg, &sizes, &data).unwrap() {
            let p = &w.programs;
            for (child, parent) in w.parents.as_ref().unwrap().iter().enumerate() {
                let Some(parent) = *parent else { continue };
                let d = Delta::plan(p.view(parent), p.view(child), classes);
                let cone = DeltaProgram::new(&d, first).unwrap();
                for example in 0..3 {
                    let mut pixels = vec![1.0f32];
                    pixels.extend_from_slice(&data.inputs[example * dim..(example + 1) * dim]);
                    for weight in [-2.0f32, 0.5] {
                        let pv = run(p.ops_of(parent), p.edges_of(parent), first, &pixels, weight, &[]);
                        let full = run(p.ops_of(child), p.edges_of(child), first, &pixels, weight, &[]);
                        let mut loaded = vec![None; cone.ops.len()];
                        for &(k, op) in &cone.loads {
                            loaded[k as usize] = Some(pv[op as usize]);
                        }
                        let got = run(&cone.ops, &cone.edges, first, &pixels, weight, &loaded);
                        let bits = |v: &[f32]| {
                            v[v.len() - classes..].iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                        };
                        assert_eq!(bits(&got), bits(&full), "{}: child {child} of {parent}", w.name);
                    }
                }
                checked += (!d.ops.is_empty()) as usize;
            }
        }
        assert!(checked > 50, "only {checked} children with a cone");
    }

    #[test]
    fn families_take_turns_in_chunks_and_oversized_ones_get_no_place() {
        let (places, rows) = place_rows(&[Some(3), None, Some(4), Some(9), Some(2), Some(11), Some(5)], 10);
        assert_eq!(
            places,
            vec![Some((0, 0)), None, Some((0, 3)), Some((1, 0)), Some((2, 0)), None, Some((2, 2))]
        );
        assert_eq!(rows, 9);
        assert_eq!(place_rows(&[None, Some(0)], 0), (vec![None, Some((0, 0))], 0));
    }
}
