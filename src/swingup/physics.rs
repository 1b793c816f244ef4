//! The cart-pole swing-up environment of the reference (`domain/cartpole_swingup.py`), in f64 with the
//! reference's order of operations:
//! - state `(x, ẋ, θ, θ̇)`; θ = 0 is the pole upright, θ = π hanging down; θ is never wrapped;
//! - the force is `10 · clip(action, -1, 1)`;
//! - one step of explicit Euler with dt = 0.01: both accelerations from the old state, then the
//!   positions advanced with the old velocities, then the velocities with the accelerations;
//! - the reward of a step is `(cos θ + 1)/2 · cos(x/2.4 · π/2)` on the new state (not clipped: it
//!   goes negative beyond the track ends);
//! - an episode ends after the step that leaves |x| <= 2.4 (that step's reward counts) or after
//!   1000 steps;
//! - start states are drawn from N([0, 0, π, 0], 0.2²) independently for all four variables.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;

pub const GRAVITY: f64 = 9.82;
pub const CART_MASS: f64 = 0.5;
pub const POLE_MASS: f64 = 0.5;
pub const POLE_LENGTH: f64 = 0.6;
pub const FORCE: f64 = 10.0;
pub const DT: f64 = 0.01;
pub const FRICTION: f64 = 0.1;
pub const TRACK_LIMIT: f64 = 2.4;
pub const MAX_STEPS: u32 = 1000;
/// Standard deviation of every start-state variable.
pub const START_STD: f64 = 0.2;
/// Network inputs: `[x, ẋ, cos θ, sin θ, θ̇]`.
pub const N_OBSERVATIONS: u32 = 5;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct State {
    pub x: f64,
    pub x_dot: f64,
    pub theta: f64,
    pub theta_dot: f64,
}

impl State {
    /// What the network sees: `[x, ẋ, cos θ, sin θ, θ̇]`.
    pub fn observation(&self) -> [f64; 5] {
        [self.x, self.x_dot, self.theta.cos(), self.theta.sin(), self.theta_dot]
    }

    /// Off the track: the episode ends after this step.
    pub fn out_of_bounds(&self) -> bool {
        self.x < -TRACK_LIMIT || self.x > TRACK_LIMIT
    }

    /// The reward for arriving in this state.
    pub fn reward(&self) -> f64 {
        self.reward_with(self.theta.cos())
    }

    /// [`reward`](Self::reward) with `cos θ` already known.
    #[inline]
    pub fn reward_with(&self, cos_theta: f64) -> f64 {
        (cos_theta + 1.0) / 2.0 * ((self.x / TRACK_LIMIT) * (PI / 2.0)).cos()
    }

    /// One Euler step under the network's raw `action` (clipped to [-1, 1] here).
    pub fn step(&self, action: f64) -> State {
        let (s, c) = self.theta.sin_cos();
        self.step_with(action, s, c)
    }

    /// [`step`](Self::step) with `sin θ` and `cos θ` already known (the observation computed them).
    #[inline]
    pub fn step_with(&self, action: f64, s: f64, c: f64) -> State {
        let force = action.clamp(-1.0, 1.0) * FORCE;
        let total_mass = POLE_MASS + CART_MASS;
        let mpl = POLE_MASS * POLE_LENGTH;
        let State { x, x_dot, theta, theta_dot } = *self;
        let td2 = theta_dot * theta_dot;
        let x_acc = (-2.0 * mpl * td2 * s + 3.0 * POLE_MASS * GRAVITY * s * c + 4.0 * force
            - 4.0 * FRICTION * x_dot)
            / (4.0 * total_mass - 3.0 * POLE_MASS * (c * c));
        let theta_acc = (-3.0 * mpl * td2 * s * c
            + 6.0 * total_mass * GRAVITY * s
            + 6.0 * (force - FRICTION * x_dot) * c)
            / (4.0 * POLE_LENGTH * total_mass - 3.0 * mpl * (c * c));
        State {
            x: x + x_dot * DT,
            theta: theta + theta_dot * DT,
            x_dot: x_dot + x_acc * DT,
            theta_dot: theta_dot + theta_acc * DT,
        }
    }
}

/// Which set of episodes: each has its own random stream, so every set is reproducible from the seed
/// alone and no set shares start states with another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpisodeSet {
    /// Reports (`wann eval`).
    Evaluation,
    /// The episodes generation `g` of a search is judged on (shared by everyone in the generation).
    Generation(u64),
    /// Fresh episodes that re-check a new champion of generation `g`.
    Check(u64),
}

impl EpisodeSet {
    fn stream(self) -> u64 {
        match self {
            EpisodeSet::Evaluation => 0,
            EpisodeSet::Generation(g) => 1 + 2 * g,
            EpisodeSet::Check(g) => 2 + 2 * g,
        }
    }
}

/// Start state of episode `i` of `set`: four normal draws (Box-Muller on ChaCha8 uniforms) from the
/// episode's own position in the set's stream, so episode `i` does not depend on how many others
/// are drawn.
pub fn start_state(seed: u64, set: EpisodeSet, i: u64) -> State {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(set.stream());
    rng.set_word_pos((i as u128) << 8);
    let mut normal_pair = || {
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (2.0 * PI * u2).sin_cos();
        (r * c, r * s)
    };
    let (a, b) = normal_pair();
    let (c, d) = normal_pair();
    State { x: START_STD * a, x_dot: START_STD * b, theta: PI + START_STD * c, theta_dot: START_STD * d }
}

/// Start states of episodes `0..n` of `set`.
pub fn start_states(seed: u64, set: EpisodeSet, n: usize) -> Vec<State> {
    (0..n as u64).map(|i| start_state(seed, set, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_states_are_reproducible_and_distributed_as_stated() {
        let a = start_states(3, EpisodeSet::Generation(5), 4000);
        assert_eq!(a[17], start_state(3, EpisodeSet::Generation(5), 17));
        assert_ne!(a[0], start_state(3, EpisodeSet::Check(5), 0));
        assert_ne!(a[0], start_state(4, EpisodeSet::Generation(5), 0));
        let n = a.len() as f64;
        for (get, mean) in [
            (Box::new(|s: &State| s.x) as Box<dyn Fn(&State) -> f64>, 0.0),
            (Box::new(|s: &State| s.x_dot), 0.0),
            (Box::new(|s: &State| s.theta), PI),
            (Box::new(|s: &State| s.theta_dot), 0.0),
        ] {
            let m = a.iter().map(&get).sum::<f64>() / n;
            let sd = (a.iter().map(|s| (get(s) - m).powi(2)).sum::<f64>() / n).sqrt();
            // Standard errors: 0.2/sqrt(4000) = 0.0032 for the mean, about 0.0022 for the std.
            assert!((m - mean).abs() < 0.013, "mean {m}, expected {mean}");
            assert!((sd - START_STD).abs() < 0.01, "std {sd}");
        }
    }
}
