//! The number type of the training kernel: f32 for training (activations exactly as the fast
//! evaluators compute them, `eval::fastmath`), f64 for the tests that check gradients against finite
//! differences (activations as the reference evaluator computes them, `Activation::apply_f64`).
//!
//! Derivatives are those of the functions as evaluated: step has none (zero), relu takes the branch
//! the forward pass takes (0 at 0), abs the right-hand one (+1 at 0), and where the f32 forms saturate
//! (tanh beyond |x| = 9, sigmoid beyond 18) the derivative is zero as the value is constant there.

use crate::eval::fastmath;
use crate::eval::PREACT_LIMIT;
use crate::genome::Activation;
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

pub trait Real:
    Copy
    + Default
    + PartialOrd
    + Send
    + Sync
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + std::fmt::Debug
    + 'static
{
    const ZERO: Self;
    const ONE: Self;
    /// The pre-activation bound, [`PREACT_LIMIT`].
    const LIMIT: Self;
    fn from_f32(x: f32) -> Self;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    /// Applies activation `id` (the reference's ids) to every lane.
    fn activate<const L: usize>(id: u32, x: &mut [Self; L]);
    /// `d act(x) / dx` per lane, given `x` and `y = act(x)`.
    fn derivative<const L: usize>(id: u32, x: &[Self; L], y: &[Self; L], out: &mut [Self; L]);
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    const LIMIT: f32 = PREACT_LIMIT;
    fn from_f32(x: f32) -> f32 {
        x
    }
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn exp(self) -> f32 {
        fastmath::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> f32 {
        f32::ln(self)
    }
    #[inline(always)]
    fn activate<const L: usize>(id: u32, x: &mut [f32; L]) {
        fastmath::apply(id, x)
    }
    #[inline(always)]
    fn derivative<const L: usize>(id: u32, x: &[f32; L], y: &[f32; L], out: &mut [f32; L]) {
        use std::f32::consts::PI;
        // The match is outside the lane loops so that each loop vectorises.
        match id {
            2 => *out = [0.0; L],
            3 => each(x, y, out, |x, _| PI * fastmath::cos_pi(x)),
            4 => each(x, y, out, |x, y| -x * y),
            5 => each(x, y, out, |x, y| if x.abs() > 9.0 { 0.0 } else { 1.0 - y * y }),
            6 => each(x, y, out, |x, y| if x.abs() > 18.0 { 0.0 } else { y * (1.0 - y) }),
            7 => *out = [-1.0; L],
            8 => each(x, y, out, |x, _| if x >= 0.0 { 1.0 } else { -1.0 }),
            9 => each(x, y, out, |x, _| if x > 0.0 { 1.0 } else { 0.0 }),
            10 => each(x, y, out, |x, _| -PI * fastmath::sin_pi(x)),
            11 => each(x, y, out, |x, _| 2.0 * x),
            _ => *out = [1.0; L], // 1, linear
        }
    }
}

#[inline(always)]
fn each<const L: usize>(x: &[f32; L], y: &[f32; L], out: &mut [f32; L], f: impl Fn(f32, f32) -> f32) {
    for l in 0..L {
        out[l] = f(x[l], y[l]);
    }
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    const LIMIT: f64 = PREACT_LIMIT as f64;
    fn from_f32(x: f32) -> f64 {
        x as f64
    }
    fn from_f64(x: f64) -> f64 {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn exp(self) -> f64 {
        f64::exp(self)
    }
    fn ln(self) -> f64 {
        f64::ln(self)
    }
    fn activate<const L: usize>(id: u32, x: &mut [f64; L]) {
        let a = Activation::from_id(id).unwrap_or(Activation::Linear);
        x.iter_mut().for_each(|x| *x = a.apply_f64(*x));
    }
    fn derivative<const L: usize>(id: u32, x: &[f64; L], y: &[f64; L], out: &mut [f64; L]) {
        use std::f64::consts::PI;
        for l in 0..L {
            let (x, y) = (x[l], y[l]);
            out[l] = match id {
                2 => 0.0,
                3 => PI * Activation::Cosine.apply_f64(x),
                4 => -x * y,
                5 => 1.0 - y * y,
                6 => y * (1.0 - y),
                7 => -1.0,
                8 => {
                    if x >= 0.0 {
                        1.0
                    } else {
                        -1.0
                    }
                }
                9 => {
                    if x > 0.0 {
                        1.0
                    } else {
                        0.0
                    }
                }
                10 => -PI * Activation::Sin.apply_f64(x),
                11 => 2.0 * x,
                _ => 1.0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f32 derivatives agree with the f64 ones, which the kernel tests check against finite
    /// differences, wherever the f32 forms do not saturate.
    #[test]
    fn f32_derivatives_agree_with_f64() {
        for a in Activation::ALL {
            let mut x = -20.0f32;
            while x <= 20.0 {
                let (mut y32, mut y64) = ([x], [x as f64]);
                f32::activate(a.id(), &mut y32);
                f64::activate(a.id(), &mut y64);
                let (mut d32, mut d64) = ([0.0f32], [0.0f64]);
                f32::derivative(a.id(), &[x], &y32, &mut d32);
                f64::derivative(a.id(), &[x as f64], &y64, &mut d64);
                let saturated =
                    (a == Activation::Tanh && x.abs() > 9.0) || (a == Activation::Sigmoid && x.abs() > 18.0);
                let want = if saturated { 0.0 } else { d64[0] };
                let tol = 1e-5 * want.abs().max(1.0);
                assert!((d32[0] as f64 - want).abs() <= tol, "{a} at {x}: f32 {} vs f64 {want}", d32[0]);
                x += 0.0137;
            }
        }
    }

    #[test]
    fn derivatives_at_the_kinks_are_one_sided() {
        let d = |a: Activation, x: f64| {
            let mut y = [x];
            f64::activate(a.id(), &mut y);
            let mut out = [0.0];
            f64::derivative(a.id(), &[x], &y, &mut out);
            out[0]
        };
        assert_eq!(d(Activation::Relu, 0.0), 0.0);
        assert_eq!(d(Activation::Relu, 1e-9), 1.0);
        assert_eq!(d(Activation::Abs, 0.0), 1.0);
        assert_eq!(d(Activation::Abs, -1e-9), -1.0);
        assert_eq!(d(Activation::Step, 0.5), 0.0);
        assert_eq!(d(Activation::Inverse, 3.0), -1.0);
    }
}
