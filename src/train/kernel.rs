//! Forward and backward passes of a compiled program with one weight per edge, over examples in
//! groups of [`LANES`] (one example per vector lane, as in the CPU evaluator).
//!
//! Forward: each op's pre-activation is `sum over its edges of weight * source value`, in edge order,
//! clamped to `[-PREACT_LIMIT, PREACT_LIMIT]`, then its activation. The loss is the softmax
//! cross-entropy of the outputs. Backward runs the ops in reverse: an op's gradient is the sum of
//! what its consumers sent it, times the activation's derivative, times zero where the clamp cut the
//! pre-activation; it then flows to each edge's weight (times the source value) and to each op
//! source (times the weight).
//!
//! Work is split into fixed tasks of [`TASK_EXAMPLES`] examples whose sums are added in task order,
//! so results do not depend on the number of threads.

use super::real::Real;
use crate::data::Dataset;
#[cfg(target_arch = "x86_64")]
use crate::eval::avx2::Avx2;
use crate::program::Program;
use rayon::prelude::*;

/// Examples computed together, one per lane.
pub const LANES: usize = 16;
/// Examples per parallel task: fixed, so that sums are reproducible.
pub const TASK_EXAMPLES: usize = 2 * LANES;

type Lanes<T> = [T; LANES];

/// Sums over a set of examples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sums {
    /// Summed cross-entropy.
    pub ce_sum: f64,
    /// Examples whose largest output (the first on ties) is the label.
    pub correct: u32,
    /// Summed gradient of the cross-entropy per edge (empty for a forward-only pass).
    pub grad: Vec<f64>,
}

/// Node values and gradients of one group of examples, reused between groups.
#[derive(Default)]
struct Scratch<T> {
    /// Per slot: bias, inputs, then ops.
    values: Vec<Lanes<T>>,
    /// Per op: the unclamped pre-activation.
    pre: Vec<Lanes<T>>,
    /// Per op: d loss / d value.
    grad: Vec<Lanes<T>>,
    /// Per edge: d loss / d weight, summed over the groups so far.
    wgrad: Vec<Lanes<T>>,
}

/// Cross-entropy sums (and with `backward` the gradient per edge) of `program` with per-edge
/// `weights` over the `examples` of `data`. Runs on the current rayon pool.
pub fn sums<T: Real>(
    program: &Program,
    weights: &[T],
    data: &Dataset,
    examples: &[u32],
    backward: bool,
) -> Sums {
    assert_eq!(weights.len(), program.edges.len(), "one weight per edge");
    let parts: Vec<Sums> = examples
        .par_chunks(TASK_EXAMPLES)
        .map_init(Scratch::<T>::default, |scratch, chunk| {
            run(program, weights, data, chunk, backward, scratch)
        })
        .collect();
    let mut total =
        Sums { ce_sum: 0.0, correct: 0, grad: if backward { vec![0.0; weights.len()] } else { Vec::new() } };
    for p in parts {
        total.ce_sum += p.ce_sum;
        total.correct += p.correct;
        for (t, g) in total.grad.iter_mut().zip(&p.grad) {
            *t += g;
        }
    }
    total
}

/// One task: every group of `examples` in turn, with AVX2 where the CPU has it (the same operations
/// in the same order either way: the results are identical).
fn run<T: Real>(
    program: &Program,
    weights: &[T],
    data: &Dataset,
    examples: &[u32],
    backward: bool,
    scratch: &mut Scratch<T>,
) -> Sums {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx2) = Avx2::detect() {
        // SAFETY: the token proves the CPU has AVX2, which `run_avx2` is compiled for.
        return unsafe { run_avx2(avx2, program, weights, data, examples, backward, scratch) };
    }
    run_generic(program, weights, data, examples, backward, scratch)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn run_avx2<T: Real>(
    _avx2: Avx2,
    program: &Program,
    weights: &[T],
    data: &Dataset,
    examples: &[u32],
    backward: bool,
    scratch: &mut Scratch<T>,
) -> Sums {
    run_generic(program, weights, data, examples, backward, scratch)
}

#[inline(always)]
fn run_generic<T: Real>(
    program: &Program,
    weights: &[T],
    data: &Dataset,
    examples: &[u32],
    backward: bool,
    s: &mut Scratch<T>,
) -> Sums {
    let zero = [T::ZERO; LANES];
    let first = program.first_op_slot() as usize;
    let n_ops = program.ops.len();
    let n_out = program.n_outputs as usize;
    let first_output = n_ops - n_out;
    s.values.resize(first + n_ops, zero);
    s.pre.resize(n_ops, zero);
    s.grad.resize(n_ops, zero);
    if backward {
        s.wgrad.clear();
        s.wgrad.resize(weights.len(), zero);
    }
    let mut out = Sums::default();
    for group in examples.chunks(LANES) {
        load_inputs(&mut s.values[..first], data, group);
        forward(program, weights, s);
        // Softmax cross-entropy per lane; its gradient with respect to the outputs goes into `grad`.
        for (lane, &i) in group.iter().enumerate() {
            let label = data.labels[i as usize] as usize;
            let o = |k: usize| s.values[first + first_output + k][lane];
            let mut arg = 0;
            for k in 1..n_out {
                if o(k) > o(arg) {
                    arg = k;
                }
            }
            let max = o(arg);
            let mut sum = T::ZERO;
            for k in 0..n_out {
                sum += (o(k) - max).exp();
            }
            let lse = max + sum.ln();
            out.ce_sum += (lse - o(label)).to_f64();
            out.correct += (arg == label) as u32;
            if backward {
                for k in 0..n_out {
                    let y = if k == label { T::ONE } else { T::ZERO };
                    s.grad[first_output + k][lane] = (o(k) - lse).exp() - y;
                }
            }
        }
        if backward {
            // Lanes without an example send no gradient.
            for g in &mut s.grad[first_output..] {
                g[group.len()..].fill(T::ZERO);
            }
            s.grad[..first_output].fill(zero);
            backward_pass(program, weights, s);
        }
    }
    if backward {
        out.grad =
            s.wgrad.iter().map(|lanes| lanes.iter().fold(0.0f64, |acc, &g| acc + g.to_f64())).collect();
    }
    out
}

/// Bias and inputs of one group, transposed into lanes; unused lanes get zeros.
#[inline(always)]
fn load_inputs<T: Real>(slots: &mut [Lanes<T>], data: &Dataset, group: &[u32]) {
    slots[0] = [T::ONE; LANES];
    if group.len() < LANES {
        slots[1..].fill([T::ZERO; LANES]);
    }
    for (lane, &i) in group.iter().enumerate() {
        for (slot, &x) in slots[1..].iter_mut().zip(data.input(i as usize)) {
            slot[lane] = T::from_f32(x);
        }
    }
}

#[inline(always)]
fn forward<T: Real>(program: &Program, weights: &[T], s: &mut Scratch<T>) {
    let first = program.first_op_slot() as usize;
    for (k, op) in program.ops.iter().enumerate() {
        let start = op.src_start as usize;
        let end = start + (op.n_const + op.n_hidden) as usize;
        let mut acc = [T::ZERO; LANES];
        for (&src, &w) in program.edges[start..end].iter().zip(&weights[start..end]) {
            let x = &s.values[src as usize];
            for l in 0..LANES {
                acc[l] += w * x[l];
            }
        }
        s.pre[k] = acc;
        let mut v = acc;
        clamp(&mut v);
        T::activate(op.activation, &mut v);
        s.values[first + k] = v;
    }
}

#[inline(always)]
fn clamp<T: Real>(v: &mut Lanes<T>) {
    for x in v.iter_mut() {
        *x = if *x > T::LIMIT { T::LIMIT } else { *x };
        *x = if *x < -T::LIMIT { -T::LIMIT } else { *x };
    }
}

#[inline(always)]
fn backward_pass<T: Real>(program: &Program, weights: &[T], s: &mut Scratch<T>) {
    let first = program.first_op_slot() as usize;
    for (k, op) in program.ops.iter().enumerate().rev() {
        let raw = s.pre[k];
        let mut x = raw;
        clamp(&mut x);
        let mut d = [T::ZERO; LANES];
        T::derivative(op.activation, &x, &s.values[first + k], &mut d);
        let mut g = s.grad[k];
        for l in 0..LANES {
            // Outside the clamp the value does not depend on the pre-activation.
            let inside = raw[l] <= T::LIMIT && raw[l] >= -T::LIMIT;
            g[l] = if inside { g[l] * d[l] } else { T::ZERO };
        }
        let start = op.src_start as usize;
        let n_const = op.n_const as usize;
        let end = start + n_const + op.n_hidden as usize;
        let edges = program.edges[start..end].iter().zip(&weights[start..end]);
        for (i, ((&src, &w), wg)) in edges.zip(&mut s.wgrad[start..end]).enumerate() {
            let src = src as usize;
            let x = &s.values[src];
            for l in 0..LANES {
                wg[l] += g[l] * x[l];
            }
            if i >= n_const {
                let to = &mut s.grad[src - first];
                for l in 0..LANES {
                    to[l] += g[l] * w;
                }
            }
        }
    }
}
