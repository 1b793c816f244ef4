//! Episodes: a controller drives the cart from a start state until the episode ends; batches of
//! (controller, weight, episode) run in parallel on all cores. Every episode is computed alone and
//! results are collected in a fixed order, so they do not depend on the thread count.

use super::controller::Controller;
use super::physics::{State, MAX_STEPS};
use rayon::prelude::*;

/// What happened on one step, for pictures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepRecord {
    /// The state after the step.
    pub state: State,
    /// The network's raw output that drove the step.
    pub action: f64,
    pub reward: f64,
    /// Sum of rewards up to and including this step.
    pub total: f64,
}

/// The return of one episode at shared weight `w` (ignored by a controller with its own weights).
pub fn episode_return(net: &Controller, w: f64, start: State) -> f64 {
    run_episode(net, w, start, |_| {})
}

/// Runs one episode, telling `observe` about every step; returns the sum of rewards.
pub fn run_episode(net: &Controller, w: f64, start: State, mut observe: impl FnMut(&StepRecord)) -> f64 {
    let mut slots = Vec::with_capacity(net.slot_count());
    let mut state = start;
    let mut total = 0.0;
    // sin θ and cos θ of the current state serve the observation, the physics and the reward.
    let (mut s, mut c) = state.theta.sin_cos();
    for _ in 0..MAX_STEPS {
        let obs = [state.x, state.x_dot, c, s, state.theta_dot];
        let action = net.output(&obs, w, &mut slots);
        state = state.step_with(action, s, c);
        (s, c) = state.theta.sin_cos();
        let reward = state.reward_with(c);
        total += reward;
        observe(&StepRecord { state, action, reward, total });
        if state.out_of_bounds() {
            break;
        }
    }
    total
}

/// Returns of every (controller, weight, episode): `[(net * weights.len() + w) * starts.len() + e]`.
pub fn returns(nets: &[Controller], weights: &[f64], starts: &[State]) -> Vec<f64> {
    let (n_w, n_e) = (weights.len(), starts.len());
    (0..nets.len() * n_w * n_e)
        .into_par_iter()
        .with_min_len(4)
        .map(|i| episode_return(&nets[i / (n_w * n_e)], weights[(i / n_e) % n_w], starts[i % n_e]))
        .collect()
}

/// Mean return over the episodes of every (controller, weight): `[net * weights.len() + w]`.
pub fn mean_returns(nets: &[Controller], weights: &[f64], starts: &[State]) -> Vec<f64> {
    let all = returns(nets, weights, starts);
    all.chunks(starts.len().max(1)).map(|c| c.iter().sum::<f64>() / c.len().max(1) as f64).collect()
}
