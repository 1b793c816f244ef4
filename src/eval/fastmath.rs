//! f32 activations for the fast evaluators, written so that they vectorise (no libm calls, no
//! branches) and so that `shaders/eval.wgsl` can mirror them operation for operation: the CPU and GPU
//! then agree to a few ulps instead of depending on each platform's `sin`/`exp`/`tanh`.
//! Accuracy against the f64 formulas: better than 1e-6 absolute on every input (tested).

use super::PREACT_LIMIT;
use crate::genome::activation::id as act;

const LOG2_E: f32 = std::f32::consts::LOG2_E;
// ln 2 split in two (Cody-Waite) so that `y - n ln2` stays exact for |n| < 2^8.
pub(crate) const LN2_HI: f32 = 0.693_145_75;
pub(crate) const LN2_LO: f32 = 1.428_606_8e-6;

#[inline(always)]
pub fn clamp_preact(x: f32) -> f32 {
    let x = if x > PREACT_LIMIT { PREACT_LIMIT } else { x };
    if x < -PREACT_LIMIT {
        -PREACT_LIMIT
    } else {
        x
    }
}

/// e^y for y in [-80, 80] (arguments are clamped to it): range reduction by powers of two, then a
/// degree-7 Taylor polynomial on |r| <= ln2/2.
#[inline(always)]
pub fn exp(y: f32) -> f32 {
    let y = if y > 80.0 { 80.0 } else { y };
    let y = if y < -80.0 { -80.0 } else { y };
    let n = (y * LOG2_E).round_ties_even();
    let r = (y - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^n by building the float's exponent; n is in [-116, 116], always a normal number.
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// x minus the nearest even integer: in [-1, 1], exact.
#[inline(always)]
fn reduce_period(x: f32) -> f32 {
    x - 2.0 * (x * 0.5).round_ties_even()
}

/// cos(pi x) = sin(pi (x + 1/2)), with the period taken out first so that adding 1/2 is exact
/// enough even for large x.
#[inline(always)]
pub fn cos_pi(x: f32) -> f32 {
    sin_pi(reduce_period(x) + 0.5)
}

/// sin(pi x): reduce to r in [-1, 1] by whole periods, fold to [-1/2, 1/2], then the odd Taylor
/// polynomial of degree 11 in t = pi r (error below 6e-8 on |t| <= pi/2). |r| = 1/2 gives exactly
/// +-1 (the polynomial would give 0.99999994): with sin(0) = 0 from the odd polynomial, the special
/// points sin(pi/2), cos(0), cos(pi/2) are exact, so exact ties in a network stay ties.
#[inline(always)]
pub fn sin_pi(x: f32) -> f32 {
    let r = reduce_period(x);
    let r = if r > 0.5 { 1.0 - r } else { r };
    let r = if r < -0.5 { -1.0 - r } else { r };
    let t = r * std::f32::consts::PI;
    let t2 = t * t;
    let p = t
        * (1.0
            + t2 * (-1.0 / 6.0
                + t2 * (1.0 / 120.0
                    + t2 * (-1.0 / 5040.0 + t2 * (1.0 / 362_880.0 + t2 * (-1.0 / 39_916_800.0))))));
    if r.abs() == 0.5 {
        1.0f32.copysign(r)
    } else {
        p
    }
}

#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let x = if x > 9.0 { 9.0 } else { x };
    let x = if x < -9.0 { -9.0 } else { x };
    let e = exp(2.0 * x);
    (e - 1.0) / (e + 1.0)
}

/// Applies activation `id` (the reference's ids) to every lane.
#[inline(always)]
pub fn apply<const L: usize>(id: u32, v: &mut [f32; L]) {
    match id {
        act::STEP => v.iter_mut().for_each(|x| *x = if *x > 0.0 { 1.0 } else { 0.0 }),
        act::SIN => v.iter_mut().for_each(|x| *x = sin_pi(*x)),
        act::GAUSSIAN => v.iter_mut().for_each(|x| {
            let y = -0.5 * *x * *x;
            *x = exp(y)
        }),
        act::TANH => v.iter_mut().for_each(|x| *x = tanh(*x)),
        act::SIGMOID => v.iter_mut().for_each(|x| *x = (tanh(0.5 * *x) + 1.0) * 0.5),
        act::INVERSE => v.iter_mut().for_each(|x| *x = -*x),
        act::ABS => v.iter_mut().for_each(|x| *x = x.abs()),
        act::RELU => v.iter_mut().for_each(|x| *x = if *x > 0.0 { *x } else { 0.0 }),
        act::COSINE => v.iter_mut().for_each(|x| *x = cos_pi(*x)),
        act::SQUARE => v.iter_mut().for_each(|x| *x = *x * *x),
        _ => {} // linear
    }
}

/// Scalar form of [`apply`].
pub fn apply_scalar(id: u32, x: f32) -> f32 {
    let mut v = [x];
    apply(id, &mut v);
    v[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genome::Activation;

    #[test]
    fn close_to_the_f64_formulas_everywhere() {
        let mut x = -PREACT_LIMIT;
        let mut worst = [0.0f64; 12];
        while x <= PREACT_LIMIT {
            for a in Activation::ALL {
                let exact = a.apply_f64(x as f64);
                let got = apply_scalar(a.id(), x) as f64;
                let err = (got - exact).abs() / exact.abs().max(1.0);
                worst[a.id() as usize] = worst[a.id() as usize].max(err);
            }
            // Dense near zero, where most values live, sparse far out.
            x += if x.abs() < 20.0 { 0.000_37 } else { 0.37 };
        }
        for a in Activation::ALL {
            assert!(worst[a.id() as usize] < 1e-6, "{a}: worst relative error {}", worst[a.id() as usize]);
        }
    }

    #[test]
    fn special_points_are_exact() {
        for (id, x, want) in [
            (3, 0.5, 1.0),
            (3, -0.5, -1.0),
            (3, 7.0, 0.0),
            (10, 0.0, 1.0),
            (10, 1.0, -1.0),
            (10, 0.5, 0.0),
            (4, 0.0, 1.0),
            (5, 20.0, 1.0),
            (6, 0.0, 0.5),
        ] {
            assert_eq!(apply_scalar(id, x), want, "activation {id} at {x}");
        }
    }

    #[test]
    fn exp_matches_std_over_its_range() {
        let mut y = -80.0f32;
        while y <= 80.0 {
            let rel = ((exp(y) as f64 - (y as f64).exp()) / (y as f64).exp()).abs();
            assert!(rel < 1e-6, "exp({y}) relative error {rel}");
            y += 0.01;
        }
        assert!(exp(-1e30) > 0.0 && exp(1e30).is_finite());
    }
}
