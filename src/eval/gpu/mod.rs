//! The GPU evaluator: `shaders/eval.wgsl` through wgpu, over a whole generation's grid of
//! (program, weight value, example) in bulk. The shader's header comment explains the kernel design.
//!
//! - [`adapter`]: finding the adapter (hardware first).
//! - `errors`: every wgpu error becomes an [`crate::Error::Gpu`]; none panics.
//! - [`plan`]: cutting work to the adapter's limits, as pure functions (tested without a GPU).
//! - `resources`: buffers, and the one table that every bind group layout and bind group is
//!   built from.
//! - `pack`: programs re-encoded for the on-chip kernel (value slots by liveness, loads and stores
//!   of the family value table), validated on the CPU so that the kernel may run without runtime
//!   bounds checks.
//! - `deltas`: a child's cone as a program that loads its parent's values; where families' rows go
//!   in the family value table.
//! - `jobs`: what runs where in one call: each program's job, and the plan of children as deltas.
//! - `evaluator`: [`GpuEvaluator`], which ties them together: each program runs on the on-chip kernel
//!   (node values in workgroup memory) where a variant fits it, on the scratch kernel otherwise, and
//!   on the CPU evaluator when the GPU cannot run it at all; children bred from a program of the
//!   same call run as deltas of it where both fit the on-chip kernel.

pub mod adapter;
mod deltas;
mod errors;
mod evaluator;
mod jobs;
mod pack;
pub mod plan;
mod resources;

pub use adapter::{adapter_name, all_adapter_features, all_adapters, best_adapter};
pub use evaluator::{GpuEvaluator, GpuOptions, KernelUse};
