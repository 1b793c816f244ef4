//! Activation functions with the reference implementation's ids (the ids are part of the file formats).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Node activation, numbered as in the reference code (`wann_src/ind.py`, `applyAct`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
#[repr(u32)]
pub enum Activation {
    Linear = 1,
    Step = 2,
    Sin = 3,
    Gaussian = 4,
    Tanh = 5,
    Sigmoid = 6,
    Inverse = 7,
    Abs = 8,
    Relu = 9,
    Cosine = 10,
    Square = 11,
}

impl Activation {
    pub const ALL: [Activation; 11] = [
        Activation::Linear,
        Activation::Step,
        Activation::Sin,
        Activation::Gaussian,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Inverse,
        Activation::Abs,
        Activation::Relu,
        Activation::Cosine,
        Activation::Square,
    ];

    /// The pool hidden nodes draw from on MNIST (the reference excludes step there).
    pub const MNIST_POOL: [Activation; 9] = [
        Activation::Linear,
        Activation::Sin,
        Activation::Gaussian,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Inverse,
        Activation::Abs,
        Activation::Relu,
        Activation::Cosine,
    ];

    pub const fn id(self) -> u32 {
        self as u32
    }

    pub fn from_id(id: u32) -> Option<Activation> {
        Activation::ALL.get((id as usize).wrapping_sub(1)).copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Step => "step",
            Activation::Sin => "sin",
            Activation::Gaussian => "gaussian",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Inverse => "inverse",
            Activation::Abs => "abs",
            Activation::Relu => "relu",
            Activation::Cosine => "cosine",
            Activation::Square => "square",
        }
    }

    /// The exact formula in f64: the reference evaluator uses this, every other evaluator is tested
    /// against it.
    pub fn apply_f64(self, x: f64) -> f64 {
        match self {
            Activation::Linear => x,
            Activation::Step => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Sin => sin_pi(x),
            Activation::Gaussian => (-x * x / 2.0).exp(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => ((x / 2.0).tanh() + 1.0) / 2.0,
            Activation::Inverse => -x,
            Activation::Abs => x.abs(),
            Activation::Relu => x.max(0.0),
            Activation::Cosine => sin_pi(x + 0.5),
            Activation::Square => x * x,
        }
    }
}

/// Every id as a `u32` constant, for code that dispatches on an op's raw id without decoding it (the
/// fast evaluators' inner loops, the shader's host side).
pub mod id {
    use super::Activation;
    pub const LINEAR: u32 = Activation::Linear.id();
    pub const STEP: u32 = Activation::Step.id();
    pub const SIN: u32 = Activation::Sin.id();
    pub const GAUSSIAN: u32 = Activation::Gaussian.id();
    pub const TANH: u32 = Activation::Tanh.id();
    pub const SIGMOID: u32 = Activation::Sigmoid.id();
    pub const INVERSE: u32 = Activation::Inverse.id();
    pub const ABS: u32 = Activation::Abs.id();
    pub const RELU: u32 = Activation::Relu.id();
    pub const COSINE: u32 = Activation::Cosine.id();
    pub const SQUARE: u32 = Activation::Square.id();
}

/// sin(pi x) with the argument reduced exactly (whole periods, then the symmetry about 1/2) before
/// multiplying by pi, so that sin(pi k) and cos(pi (k + 1/2)) are exactly 0 as in the mathematics,
/// rather than the 1e-16 residue of `(PI * x).sin()`.
fn sin_pi(x: f64) -> f64 {
    let r = x - 2.0 * (x / 2.0).round_ties_even(); // in [-1, 1], exact
    let r = if r > 0.5 {
        1.0 - r
    } else if r < -0.5 {
        -1.0 - r
    } else {
        r
    };
    (std::f64::consts::PI * r).sin()
}

impl TryFrom<u32> for Activation {
    type Error = String;
    fn try_from(id: u32) -> Result<Self, String> {
        Activation::from_id(id)
            .ok_or_else(|| format!("unknown activation id {id}: valid ids are 1 (linear) to 11 (square)"))
    }
}

impl From<Activation> for u32 {
    fn from(a: Activation) -> u32 {
        a.id()
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_out_of_range() {
        for (i, a) in Activation::ALL.iter().enumerate() {
            assert_eq!(a.id(), i as u32 + 1);
            assert_eq!(Activation::from_id(a.id()), Some(*a));
        }
        assert_eq!(Activation::from_id(0), None);
        assert_eq!(Activation::from_id(12), None);
        assert!(!Activation::MNIST_POOL.contains(&Activation::Step));
    }

    #[test]
    fn formulas_at_hand_computed_points() {
        assert_eq!(Activation::Step.apply_f64(0.0), 0.0);
        assert_eq!(Activation::Step.apply_f64(1e-9), 1.0);
        assert!((Activation::Sin.apply_f64(0.5) - 1.0).abs() < 1e-15);
        assert!((Activation::Cosine.apply_f64(1.0) + 1.0).abs() < 1e-15);
        assert_eq!(Activation::Cosine.apply_f64(0.5), 0.0);
        assert_eq!(Activation::Sin.apply_f64(-3.0), 0.0);
        assert!((Activation::Sin.apply_f64(2.25) - (std::f64::consts::PI * 2.25).sin()).abs() < 1e-14);
        assert!((Activation::Gaussian.apply_f64(2.0) - (-2.0f64).exp()).abs() < 1e-15);
        assert!((Activation::Sigmoid.apply_f64(0.0) - 0.5).abs() < 1e-15);
        assert!((Activation::Sigmoid.apply_f64(3.0) - 1.0 / (1.0 + (-3.0f64).exp())).abs() < 1e-12);
        assert_eq!(Activation::Inverse.apply_f64(2.5), -2.5);
        assert_eq!(Activation::Relu.apply_f64(-2.5), 0.0);
        assert_eq!(Activation::Square.apply_f64(-3.0), 9.0);
    }
}
