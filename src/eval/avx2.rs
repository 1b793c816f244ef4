//! The activations of [`super::fastmath`] in explicit AVX2, operation for operation (same constants,
//! same order, no FMA), so that results are bit-identical to the portable code (tested) while the
//! compiler no longer has to guess how to vectorise them.
//!
//! Soundness is carried by [`Avx2`], a token that exists only once the CPU is known to have AVX2:
//! the entry points take one and are safe; the `unsafe fn` helpers below them need AVX2 too and are
//! only called from those entry points.

#![cfg(target_arch = "x86_64")]

use super::PREACT_LIMIT;
use crate::genome::activation::id as act;
use std::arch::x86_64::*;

type V = __m256;

/// Proof that the CPU running this program has AVX2: only [`Avx2::detect`] makes one, so code that
/// is handed one may use AVX2 instructions.
#[derive(Clone, Copy, Debug)]
pub struct Avx2 {
    _detected: (),
}

impl Avx2 {
    /// A token if this CPU has AVX2.
    pub fn detect() -> Option<Avx2> {
        std::is_x86_feature_detected!("avx2").then_some(Avx2 { _detected: () })
    }
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn splat(x: f32) -> V {
    _mm256_set1_ps(x)
}

/// `if cond { a } else { b }` lane by lane.
///
/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn select(cond: V, a: V, b: V) -> V {
    _mm256_blendv_ps(b, a, cond)
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn gt(a: V, b: V) -> V {
    _mm256_cmp_ps::<_CMP_GT_OQ>(a, b)
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn lt(a: V, b: V) -> V {
    _mm256_cmp_ps::<_CMP_LT_OQ>(a, b)
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn neg(x: V) -> V {
    _mm256_xor_ps(x, splat(-0.0))
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn round_even(x: V) -> V {
    _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x)
}

/// `if x > hi { hi } else { x }` then `if x < lo { lo } else { x }`: for numbers (no NaN exists
/// here) exactly `min` then `max`, one instruction each.
///
/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn clamp(x: V, lo: f32, hi: f32) -> V {
    _mm256_max_ps(_mm256_min_ps(x, splat(hi)), splat(lo))
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn add(a: V, b: V) -> V {
    _mm256_add_ps(a, b)
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn sub(a: V, b: V) -> V {
    _mm256_sub_ps(a, b)
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn mul(a: V, b: V) -> V {
    _mm256_mul_ps(a, b)
}

/// Horner from the highest coefficient: `c[0] + x * (c[1] + x * (... + x * c[n]))`.
///
/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn horner(x: V, c: &[f32]) -> V {
    let mut p = splat(c[c.len() - 1]);
    for &k in c[..c.len() - 1].iter().rev() {
        p = add(splat(k), mul(x, p));
    }
    p
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
pub unsafe fn exp(y: V) -> V {
    let y = clamp(y, -80.0, 80.0);
    let n = round_even(mul(y, splat(std::f32::consts::LOG2_E)));
    let r = sub(sub(y, mul(n, splat(super::fastmath::LN2_HI))), mul(n, splat(super::fastmath::LN2_LO)));
    let p = horner(r, &[1.0, 1.0, 0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0]);
    let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)));
    mul(p, _mm256_castsi256_ps(bits))
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn reduce_period(x: V) -> V {
    sub(x, mul(splat(2.0), round_even(mul(x, splat(0.5)))))
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
pub unsafe fn sin_pi(x: V) -> V {
    let r = reduce_period(x);
    let r = select(gt(r, splat(0.5)), sub(splat(1.0), r), r);
    let r = select(lt(r, splat(-0.5)), sub(splat(-1.0), r), r);
    let t = mul(r, splat(std::f32::consts::PI));
    let t2 = mul(t, t);
    let p = mul(
        t,
        horner(t2, &[1.0, -1.0 / 6.0, 1.0 / 120.0, -1.0 / 5040.0, 1.0 / 362_880.0, -1.0 / 39_916_800.0]),
    );
    let half = _mm256_cmp_ps::<_CMP_EQ_OQ>(_mm256_andnot_ps(splat(-0.0), r), splat(0.5));
    let unit = _mm256_or_ps(_mm256_and_ps(r, splat(-0.0)), splat(1.0)); // copysign(1, r)
    select(half, unit, p)
}

/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn tanh(x: V) -> V {
    let x = clamp(x, -9.0, 9.0);
    let e = exp(mul(splat(2.0), x));
    _mm256_div_ps(sub(e, splat(1.0)), add(e, splat(1.0)))
}

/// Activation `id` on 8 lanes.
///
/// # Safety
/// The CPU must have AVX2 (the caller holds an [`Avx2`]).
#[inline(always)]
unsafe fn apply(id: u32, x: V) -> V {
    match id {
        act::STEP => _mm256_and_ps(gt(x, splat(0.0)), splat(1.0)),
        act::SIN => sin_pi(x),
        act::GAUSSIAN => exp(mul(mul(splat(-0.5), x), x)),
        act::TANH => tanh(x),
        act::SIGMOID => mul(add(tanh(mul(splat(0.5), x)), splat(1.0)), splat(0.5)),
        act::INVERSE => neg(x),
        act::ABS => _mm256_andnot_ps(splat(-0.0), x),
        act::RELU => _mm256_and_ps(gt(x, splat(0.0)), x),
        act::COSINE => sin_pi(add(reduce_period(x), splat(0.5))),
        act::SQUARE => mul(x, x),
        _ => x, // linear
    }
}

/// `act(clamp(weight * sum))` on 16 lanes in place: the per-node work after the edge sums.
#[inline(always)]
pub fn finish_node(_avx2: Avx2, v: &mut [f32; 16], weight: f32, id: u32) {
    for half in 0..2 {
        // SAFETY: the token proves AVX2; the 8 floats at `p` lie within `v`.
        unsafe {
            let p = v.as_mut_ptr().add(8 * half);
            let x = clamp(mul(splat(weight), _mm256_loadu_ps(p)), -PREACT_LIMIT, PREACT_LIMIT);
            _mm256_storeu_ps(p, apply(id, x));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn bit_identical_to_the_portable_activations() {
        let Some(avx2) = Avx2::detect() else {
            eprintln!("skipped: this CPU has no AVX2");
            return;
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let special = [0.0f32, -0.0, 0.5, -0.5, 1.0, 0.25, -0.25, 1e-30, 9.0, 80.0, 1e4, -1e4, 3.75, 4999.5];
        for id in crate::genome::Activation::ALL.map(|a| a.id()) {
            for round in 0..2000 {
                let mut v = [0.0f32; 16];
                for (l, x) in v.iter_mut().enumerate() {
                    *x = if round == 0 && l < special.len() {
                        special[l]
                    } else {
                        let scale = [1.0f32, 10.0, 1e3, 2e4][rng.random_range(0..4)];
                        rng.random_range(-scale..scale)
                    };
                }
                let weight = [-2.0f32, -1.0, -0.5, 0.5, 1.0, 2.0, 0.3][round % 7];
                let mut portable = v;
                for x in portable.iter_mut() {
                    *x = super::super::fastmath::clamp_preact(weight * *x);
                }
                super::super::fastmath::apply(id, &mut portable);
                finish_node(avx2, &mut v, weight, id);
                for l in 0..16 {
                    assert_eq!(
                        v[l].to_bits(),
                        portable[l].to_bits(),
                        "activation {id}: {} vs {}",
                        v[l],
                        portable[l]
                    );
                }
            }
        }
    }
}
