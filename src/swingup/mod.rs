//! The paper's cart-pole swing-up: the reference's environment ([`physics`]), networks as
//! controllers ([`controller`]), episodes batched over networks x weights x episodes on all cores
//! ([`rollout`]), the search task ([`task`]), the paper's four conditions ([`report`]) and pictures of
//! behaviour ([`pictures`]). Everything runs in f64, like the reference.

pub mod controller;
pub mod physics;
pub mod pictures;
pub mod report;
pub mod rollout;
pub mod task;
