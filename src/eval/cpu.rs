//! The fast CPU evaluator: all cores (rayon), examples in groups of `LANES` laid out pixel-major so
//! that every edge is one contiguous vector add, and the weight-independent part of each node's input
//! sum (bias and pixel sources) computed once per example instead of once per weight value.
//!
//! Work is split into fixed-size tasks of (program, chunk of example groups) and reduced in a fixed
//! order, so results do not depend on the number of threads.

#[cfg(target_arch = "x86_64")]
use super::avx2::Avx2;
use super::family::{families, FamilyPlan};
use super::fastmath::{apply, clamp_preact, exp};
use super::{Evaluation, Evaluator, PairStats, Predictions};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::program::delta::Delta;
use crate::program::{Op, Program, Programs};
use rayon::prelude::*;
use std::sync::Arc;

/// Examples evaluated together, one per vector lane.
pub const LANES: usize = 16;
type Lanes = [f32; LANES];
/// Example groups per task: small enough to balance load, fixed so that sums are reproducible.
const GROUPS_PER_TASK: usize = 4;

pub struct CpuEvaluator {
    data: Arc<Dataset>,
    pool: Option<rayon::ThreadPool>,
    /// Which programs of the last evaluation were children (every child runs as a delta).
    last_deltas: Vec<bool>,
}

/// Examples of one group, transposed: `inputs[slot][lane]` for the bias (slot 0) and input slots.
struct Group {
    inputs: Vec<Lanes>,
    labels: [u8; LANES],
    len: usize,
}

impl CpuEvaluator {
    pub fn new(data: Arc<Dataset>) -> CpuEvaluator {
        CpuEvaluator { data, pool: None, last_deltas: Vec::new() }
    }

    /// Uses exactly `threads` threads instead of rayon's global pool.
    pub fn with_threads(data: Arc<Dataset>, threads: usize) -> Result<CpuEvaluator> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Invalid(format!("cannot start {threads} threads: {e}")))?;
        Ok(CpuEvaluator { data, pool: Some(pool), last_deltas: Vec::new() })
    }

    pub fn threads(&self) -> usize {
        self.pool.as_ref().map_or_else(rayon::current_num_threads, |p| p.current_num_threads())
    }

    fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(p) => p.install(f),
            None => f(),
        }
    }

    fn groups(&self, indices: &[u32]) -> Result<Vec<Group>> {
        let d = &self.data;
        if let Some(&bad) = indices.iter().find(|&&i| i as usize >= d.len()) {
            return Err(Error::Invalid(format!(
                "example index {bad} is outside the dataset ({} examples)",
                d.len()
            )));
        }
        Ok(indices
            .chunks(LANES)
            .map(|chunk| {
                let mut inputs = vec![[0.0f32; LANES]; 1 + d.dim];
                let mut labels = [0u8; LANES];
                for (lane, &i) in chunk.iter().enumerate() {
                    inputs[0][lane] = 1.0;
                    for (p, &x) in d.input(i as usize).iter().enumerate() {
                        inputs[1 + p][lane] = x;
                    }
                    labels[lane] = d.labels[i as usize];
                }
                Group { inputs, labels, len: chunk.len() }
            })
            .collect())
    }

    fn check_shape(&self, n_inputs: u32, n_outputs: u32) -> Result<()> {
        if n_inputs as usize != self.data.dim || n_outputs as usize != self.data.classes {
            return Err(Error::Invalid(format!(
                "the network has {n_inputs} inputs and {n_outputs} outputs, the dataset {} has {} inputs and {} classes",
                self.data.name, self.data.dim, self.data.classes
            )));
        }
        Ok(())
    }
}

impl Evaluator for CpuEvaluator {
    fn describe(&self) -> String {
        format!("cpu: {} threads, {}", self.threads(), simd_level())
    }

    fn last_deltas(&self) -> Vec<bool> {
        self.last_deltas.clone()
    }

    fn evaluate(&mut self, programs: &Programs, weights: &[f32], indices: &[u32]) -> Result<Evaluation> {
        self.evaluate_with_parents(programs, &vec![None; programs.len()], weights, indices)
    }

    fn evaluate_with_parents(
        &mut self,
        programs: &Programs,
        parents: &[Option<usize>],
        weights: &[f32],
        indices: &[u32],
    ) -> Result<Evaluation> {
        let n_w = weights.len();
        let mut stats = vec![PairStats::default(); programs.len() * n_w];
        if programs.is_empty() {
            return Ok(Evaluation { n_programs: 0, n_weights: n_w, n_examples: indices.len(), stats });
        }
        self.check_shape(programs.n_inputs, programs.n_outputs)?;
        self.install(|| programs.check())?;
        let families = families(parents, programs.len())?;
        self.last_deltas = parents.iter().map(Option::is_some).collect();
        let groups = self.groups(indices)?;
        let chunks: Vec<&[Group]> = groups.chunks(GROUPS_PER_TASK).collect();
        // A family is its parent and the cones of its children; a task is one family on one chunk.
        let plans = self.install(|| FamilyPlan::all(programs, &families));
        let deltas: Vec<&[Delta]> = plans.iter().map(|p| &p.deltas[..]).collect();
        let partials: Vec<Vec<PairStats>> = self.install(|| {
            let tasks: Vec<(usize, usize)> =
                (0..families.len()).flat_map(|f| (0..chunks.len()).map(move |c| (f, c))).collect();
            tasks
                .par_iter()
                .map(|&(f, c)| {
                    let p = families[f].parent;
                    let kernel = Kernel::new(
                        programs.ops_of(p),
                        programs.edges_of(p),
                        programs.n_inputs,
                        programs.n_outputs,
                    );
                    let mut acc = vec![PairStats::default(); (1 + deltas[f].len()) * n_w];
                    kernel.run(chunks[c], weights, deltas[f], &mut |member, w, _, group, outputs, lse| {
                        score_group(&mut acc[member * n_w + w], group, outputs, lse)
                    });
                    acc
                })
                .collect()
        });
        // Per program, chunks are added in order from zero: the same sums as evaluating it alone.
        let chunks_per_family = chunks.len();
        for (t, part) in partials.into_iter().enumerate() {
            let f = t / chunks_per_family;
            let members = std::iter::once(families[f].parent).chain(plans[f].computed.iter().copied());
            for (p, member) in members.zip(part.chunks(n_w)) {
                for (w, s) in member.iter().enumerate() {
                    let t = &mut stats[p * n_w + w];
                    t.ce_sum += s.ce_sum;
                    t.correct += s.correct;
                }
            }
        }
        for (f, p) in families.iter().zip(&plans) {
            for &c in &p.copies {
                stats.copy_within(f.parent * n_w..(f.parent + 1) * n_w, c * n_w);
            }
        }
        Ok(Evaluation { n_programs: programs.len(), n_weights: n_w, n_examples: indices.len(), stats })
    }

    fn predict(
        &mut self,
        program: &Program,
        weights: &[f32],
        indices: &[u32],
        with_outputs: bool,
    ) -> Result<Predictions> {
        self.check_shape(program.n_inputs, program.n_outputs)?;
        let groups = self.groups(indices)?;
        let n_out = program.n_outputs as usize;
        let kernel = Kernel::new(&program.ops, &program.edges, program.n_inputs, program.n_outputs);
        // Per chunk: classes and outputs in [weight][example] order within the chunk.
        let parts: Vec<(Vec<u8>, Vec<f32>)> = self.install(|| {
            groups
                .par_chunks(GROUPS_PER_TASK)
                .map(|chunk| {
                    let n: usize = chunk.iter().map(|g| g.len).sum();
                    let mut classes = vec![0u8; weights.len() * n];
                    let mut outs =
                        if with_outputs { vec![0.0f32; weights.len() * n * n_out] } else { Vec::new() };
                    kernel.run(chunk, weights, &[], &mut |_, w, g, group, outputs, _| {
                        for lane in 0..group.len {
                            let e = w * n + g * LANES + lane;
                            classes[e] = argmax(outputs, lane) as u8;
                            if with_outputs {
                                for o in 0..n_out {
                                    outs[e * n_out + o] = outputs[o][lane];
                                }
                            }
                        }
                    });
                    (classes, outs)
                })
                .collect()
        });
        let n = indices.len();
        let mut classes = vec![0u8; weights.len() * n];
        let mut outputs = with_outputs.then(|| vec![0.0f32; weights.len() * n * n_out]);
        let mut start = 0;
        for (part_classes, part_outs) in parts {
            let m = part_classes.len() / weights.len().max(1);
            for w in 0..weights.len() {
                classes[w * n + start..w * n + start + m].copy_from_slice(&part_classes[w * m..(w + 1) * m]);
                if let Some(o) = outputs.as_mut() {
                    o[(w * n + start) * n_out..(w * n + start + m) * n_out]
                        .copy_from_slice(&part_outs[w * m * n_out..(w + 1) * m * n_out]);
                }
            }
            start += m;
        }
        Ok(Predictions { n_weights: weights.len(), n_examples: n, classes, outputs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn argmax_of_all_lanes_is_argmax_of_each() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for n in [1, 2, 10] {
            for _ in 0..200 {
                // Few distinct values, so that ties (first maximum wins) are common.
                let outputs: Vec<Lanes> =
                    (0..n).map(|_| std::array::from_fn(|_| rng.random_range(-2..3) as f32)).collect();
                let arg = argmax_lanes(&outputs);
                for (lane, &a) in arg.iter().enumerate() {
                    assert_eq!(a as usize, argmax(&outputs, lane));
                }
            }
        }
    }
}

/// What the kernel's vector code is compiled for, chosen once per run: [`Portable`] code, or AVX2
/// through the [`Avx2`] token that proves the CPU has it. A type parameter, so each choice is its
/// own monomorphised kernel and the test costs nothing in the loops.
trait Simd: Copy {
    #[cfg(target_arch = "x86_64")]
    fn avx2(self) -> Option<Avx2>;
}

/// Plain Rust, left to the compiler's auto-vectoriser.
#[derive(Clone, Copy)]
struct Portable;

impl Simd for Portable {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn avx2(self) -> Option<Avx2> {
        None
    }
}

#[cfg(target_arch = "x86_64")]
impl Simd for Avx2 {
    #[inline(always)]
    fn avx2(self) -> Option<Avx2> {
        Some(self)
    }
}

/// Which vector instructions the kernel uses on this machine.
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if Avx2::detect().is_some() {
        return "avx2";
    }
    "baseline simd"
}

/// First index of the largest output in `lane`.
fn argmax(outputs: &[Lanes], lane: usize) -> usize {
    let mut arg = 0;
    for (o, v) in outputs.iter().enumerate().skip(1) {
        if v[lane] > outputs[arg][lane] {
            arg = o;
        }
    }
    arg
}

/// Per lane, `max + ln(sum exp(o - max))` over the outputs: the stable log-softmax normaliser.
#[inline(always)]
fn log_sum_exp(outputs: &[Lanes]) -> Lanes {
    let mut max = outputs[0];
    for o in &outputs[1..] {
        for l in 0..LANES {
            max[l] = if o[l] > max[l] { o[l] } else { max[l] };
        }
    }
    let mut sum = [0.0f32; LANES];
    for o in outputs {
        for l in 0..LANES {
            sum[l] += exp(o[l] - max[l]);
        }
    }
    let mut lse = max;
    for l in 0..LANES {
        lse[l] += sum[l].ln();
    }
    lse
}

/// Adds the group's cross-entropy and correct predictions to `acc`.
fn score_group(acc: &mut PairStats, group: &Group, outputs: &[Lanes], lse: &Lanes) {
    let arg = argmax_lanes(outputs);
    for lane in 0..group.len {
        let label = group.labels[lane] as usize;
        acc.ce_sum += (lse[lane] - outputs[label][lane]) as f64;
        acc.correct += (arg[lane] as usize == label) as u32;
    }
}

/// [`argmax`] of every lane at once: the same comparisons, written so that they vectorise.
#[inline(always)]
fn argmax_lanes(outputs: &[Lanes]) -> [u8; LANES] {
    let mut best = outputs[0];
    let mut arg = [0u8; LANES];
    for (o, v) in outputs.iter().enumerate().skip(1) {
        for l in 0..LANES {
            let better = v[l] > best[l];
            best[l] = if better { v[l] } else { best[l] };
            arg[l] = if better { o as u8 } else { arg[l] };
        }
    }
    arg
}

thread_local! {
    /// Per-thread node values, kept between tasks: a champion-sized program at 6 weights needs
    /// about 180 KB, which allocating and zeroing per task would cost as much as a tenth of the work.
    static SCRATCH: std::cell::RefCell<Vec<Lanes>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Receives each (family member, weight index, group index, group, output lanes, log-sum-exp lanes) as
/// the kernel produces it; member 0 is the program itself, member `1 + k` the child of delta `k`.
type Sink<'s> = dyn FnMut(usize, usize, usize, &Group, &[Lanes], &Lanes) + 's;

/// One program ready to run over example groups.
struct Kernel<'a> {
    ops: &'a [Op],
    edges: &'a [u32],
    first_op_slot: usize,
    n_outputs: usize,
}

impl<'a> Kernel<'a> {
    fn new(ops: &'a [Op], edges: &'a [u32], n_inputs: u32, n_outputs: u32) -> Kernel<'a> {
        Kernel { ops, edges, first_op_slot: 1 + n_inputs as usize, n_outputs: n_outputs as usize }
    }

    /// Runs every group at every weight, then, still on that group, the cone of each child in
    /// `deltas`; `sink` sees the outputs of each.
    fn run(&self, groups: &[Group], weights: &[f32], deltas: &[Delta], sink: &mut Sink) {
        // The scratch is borrowed out here: a closure inside the AVX2 function would be compiled
        // without AVX2 (closures do not inherit target features).
        SCRATCH.with_borrow_mut(|scratch| {
            #[cfg(target_arch = "x86_64")]
            if let Some(avx2) = Avx2::detect() {
                // SAFETY: the token proves the CPU has AVX2, which `run_avx2` is compiled for.
                return unsafe { self.run_avx2(avx2, groups, weights, deltas, sink, scratch) };
            }
            self.run_generic(Portable, groups, weights, deltas, sink, scratch)
        })
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_avx2(
        &self,
        avx2: Avx2,
        groups: &[Group],
        weights: &[f32],
        deltas: &[Delta],
        sink: &mut Sink,
        scratch: &mut Vec<Lanes>,
    ) {
        self.run_generic(avx2, groups, weights, deltas, sink, scratch)
    }

    #[inline(always)]
    fn run_generic<S: Simd>(
        &self,
        simd: S,
        groups: &[Group],
        weights: &[f32],
        deltas: &[Delta],
        sink: &mut Sink,
        scratch: &mut Vec<Lanes>,
    ) {
        let n_ops = self.ops.len();
        let n_w = weights.len();
        // Every element is written before it is read, so the thread's scratch is reused as it is.
        // Value rows: the program's ops, then (one child at a time) a child's cone.
        let max_cone = deltas.iter().map(|d| d.ops.len()).max().unwrap_or(0);
        let needed = n_ops + (n_ops + max_cone) * n_w;
        if scratch.len() < needed {
            scratch.resize(needed, [0.0; LANES]);
        }
        let (parent_consts, values) = scratch[..needed].split_at_mut(n_ops);
        let mut outputs = vec![[0.0f32; LANES]; self.n_outputs];
        let zero = [0.0f32; LANES];
        let first_output = n_ops - self.n_outputs;
        for (g, group) in groups.iter().enumerate() {
            // Weight-independent part of each op's sum: its bias and input sources.
            for (k, op) in self.ops.iter().enumerate() {
                let start = op.src_start as usize;
                let srcs = &self.edges[start..start + op.n_const as usize];
                parent_consts[k] = accumulate(simd, &zero, &group.inputs, srcs, 0);
            }
            // Ops outer, weights inner: each edge index is read once for all weights, and the
            // activation branch repeats for every weight, so it is predicted. `values` holds
            // [op][weight] rows of lanes.
            for (k, op) in self.ops.iter().enumerate() {
                let start = op.src_start as usize + op.n_const as usize;
                let srcs = &self.edges[start..start + op.n_hidden as usize];
                node_row(
                    simd,
                    &parent_consts[k],
                    values,
                    k,
                    srcs,
                    self.first_op_slot,
                    (weights, op.activation),
                );
            }
            emit(values, first_output..n_ops, weights.len(), &mut outputs, &mut |w, outputs, lse| {
                sink(0, w, g, group, outputs, lse)
            });
            // Each cone op sums its sources in the child's order, exactly as the child's own
            // program would; sources outside the cone are read from the parent's rows.
            for (d, delta) in deltas.iter().enumerate() {
                for (j, op) in delta.ops.iter().enumerate() {
                    let start = op.src_start as usize;
                    let (consts, srcs) = delta.edges[start..start + (op.n_const + op.n_hidden) as usize]
                        .split_at(op.n_const as usize);
                    let init = match delta.same_consts[j] {
                        Some(m) => parent_consts[m as usize],
                        None => accumulate(simd, &zero, &group.inputs, consts, 0),
                    };
                    node_row(simd, &init, values, n_ops + j, srcs, 0, (weights, op.activation));
                }
                let rows = delta.outputs.iter().map(|&r| r as usize);
                emit(values, rows, weights.len(), &mut outputs, &mut |w, outputs, lse| {
                    sink(1 + d, w, g, group, outputs, lse)
                });
            }
        }
    }
}

/// Computes value row `k` (all weights) from `init` and the rows `srcs - base` before it.
#[inline(always)]
fn node_row<S: Simd>(
    simd: S,
    init: &Lanes,
    values: &mut [Lanes],
    k: usize,
    srcs: &[u32],
    base: usize,
    (weights, activation): (&[f32], u32),
) {
    let n_w = weights.len();
    let (done, rest) = values.split_at_mut(k * n_w);
    let out = &mut rest[..n_w];
    for w0 in (0..n_w).step_by(WEIGHT_BLOCK) {
        let w1 = (w0 + WEIGHT_BLOCK).min(n_w);
        // Row `r` of weight `w0` is at `r * n_w` from here (nothing to read when no row is done).
        let from_w0 = done.get(w0..).unwrap_or_default();
        accumulate_weights(simd, init, from_w0, srcs, base, n_w, &mut out[w0..w1]);
    }
    for (acc, &weight) in out.iter_mut().zip(weights) {
        finish_node(simd, acc, weight, activation);
    }
}

/// Hands `sink(weight, outputs, log-sum-exp)` the value rows `rows` at each weight.
#[inline(always)]
fn emit(
    values: &[Lanes],
    rows: impl Iterator<Item = usize> + Clone,
    n_w: usize,
    outputs: &mut [Lanes],
    sink: &mut dyn FnMut(usize, &[Lanes], &Lanes),
) {
    for w in 0..n_w {
        for (row, r) in outputs.iter_mut().zip(rows.clone()) {
            *row = values[r * n_w + w];
        }
        let lse = log_sum_exp(outputs);
        sink(w, outputs, &lse);
    }
}

/// Weights summed together in the edge loop: 6 (the search's count) x 2 vectors of accumulators fit
/// the 16 AVX registers.
const WEIGHT_BLOCK: usize = 6;

/// For `out.len()` weights: `init` plus, for every source slot `s`, the rows of those weights of op
/// `s - base` in `rows` (laid out [op][weight], `n_w` weights, starting at the first weight wanted).
#[inline(always)]
fn accumulate_weights<S: Simd>(
    simd: S,
    init: &Lanes,
    rows: &[Lanes],
    srcs: &[u32],
    base: usize,
    n_w: usize,
    out: &mut [Lanes],
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx2) = simd.avx2() {
        return match out.len() {
            6 => accumulate_weights_avx2::<6>(avx2, init, rows, srcs, base, n_w, out),
            5 => accumulate_weights_avx2::<5>(avx2, init, rows, srcs, base, n_w, out),
            4 => accumulate_weights_avx2::<4>(avx2, init, rows, srcs, base, n_w, out),
            3 => accumulate_weights_avx2::<3>(avx2, init, rows, srcs, base, n_w, out),
            2 => accumulate_weights_avx2::<2>(avx2, init, rows, srcs, base, n_w, out),
            _ => accumulate_weights_avx2::<1>(avx2, init, rows, srcs, base, n_w, out),
        };
    }
    for acc in out.iter_mut() {
        *acc = *init;
    }
    for &s in srcs {
        let row = &rows[(s as usize - base) * n_w..][..out.len()];
        for (acc, x) in out.iter_mut().zip(row) {
            for l in 0..LANES {
                acc[l] += x[l];
            }
        }
    }
}

/// [`accumulate_weights`] for `C` weights with 2 x C vector accumulators held in registers; the same
/// additions in the same order as the portable loop.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn accumulate_weights_avx2<const C: usize>(
    _avx2: Avx2,
    init: &Lanes,
    rows: &[Lanes],
    srcs: &[u32],
    base: usize,
    n_w: usize,
    out: &mut [Lanes],
) {
    use std::arch::x86_64::{_mm256_add_ps, _mm256_loadu_ps, _mm256_storeu_ps};
    // SAFETY: the token proves AVX2; every load and store covers 8 floats inside one 16-float row
    // (`row` and `out` are bounds-checked slices).
    unsafe {
        let lo = _mm256_loadu_ps(init.as_ptr());
        let hi = _mm256_loadu_ps(init.as_ptr().add(8));
        let mut acc = [(lo, hi); C];
        for &s in srcs {
            let row = &rows[(s as usize - base) * n_w..][..C];
            for (a, x) in acc.iter_mut().zip(row) {
                a.0 = _mm256_add_ps(a.0, _mm256_loadu_ps(x.as_ptr()));
                a.1 = _mm256_add_ps(a.1, _mm256_loadu_ps(x.as_ptr().add(8)));
            }
        }
        for (a, o) in acc.iter().zip(out.iter_mut()) {
            _mm256_storeu_ps(o.as_mut_ptr(), a.0);
            _mm256_storeu_ps(o.as_mut_ptr().add(8), a.1);
        }
    }
}

/// `act(clamp(weight * sum))` for every lane.
#[inline(always)]
fn finish_node<S: Simd>(simd: S, acc: &mut Lanes, weight: f32, activation: u32) {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx2) = simd.avx2() {
        return super::avx2::finish_node(avx2, acc, weight, activation);
    }
    for a in acc.iter_mut() {
        *a = clamp_preact(weight * *a);
    }
    apply(activation, acc);
}

/// `init` plus the rows `rows[s - base]` for every source slot `s`: the edge loop, the hottest code.
#[inline(always)]
fn accumulate<S: Simd>(simd: S, init: &Lanes, rows: &[Lanes], srcs: &[u32], base: usize) -> Lanes {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx2) = simd.avx2() {
        return accumulate_avx2(avx2, init, rows, srcs, base);
    }
    let mut acc = *init;
    for &s in srcs {
        let x = &rows[s as usize - base];
        for l in 0..LANES {
            acc[l] += x[l];
        }
    }
    acc
}

/// The edge loop with explicit 256-bit adds: the compiler's auto-vectoriser splits a 16-float
/// accumulator into scalars here. Same additions in the same order as the portable loop.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn accumulate_avx2(_avx2: Avx2, init: &Lanes, rows: &[Lanes], srcs: &[u32], base: usize) -> Lanes {
    use std::arch::x86_64::{_mm256_add_ps, _mm256_loadu_ps, _mm256_storeu_ps};
    const _: () = assert!(LANES == 16, "the AVX2 edge loop handles 16 lanes as two vectors");
    // SAFETY: the token proves AVX2; every load and store covers 8 floats inside one 16-float row
    // (`x` is a bounds-checked row).
    unsafe {
        let mut a0 = _mm256_loadu_ps(init.as_ptr());
        let mut a1 = _mm256_loadu_ps(init.as_ptr().add(8));
        for &s in srcs {
            let x = &rows[s as usize - base];
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x.as_ptr()));
            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x.as_ptr().add(8)));
        }
        let mut out = [0.0f32; LANES];
        _mm256_storeu_ps(out.as_mut_ptr(), a0);
        _mm256_storeu_ps(out.as_mut_ptr().add(8), a1);
        out
    }
}
