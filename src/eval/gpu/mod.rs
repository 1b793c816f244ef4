//! The GPU evaluator: `shaders/eval.wgsl` through wgpu, over a whole generation's grid of
//! (program, weight value, example) in bulk. The shader's header comment explains the kernel design.
//!
//! - [`adapter`]: finding the adapter (hardware first).
//! - `errors`: every wgpu error becomes an [`crate::Error::Gpu`]; none panics.
//! - [`plan`]: cutting work to the adapter's limits, as pure functions (tested without a GPU).
//! - `resources`: buffers, and the one table that every bind group layout and bind group is
//!   built from.
//! - `evaluator`: [`GpuEvaluator`], which ties them together.

pub mod adapter;
mod errors;
mod evaluator;
mod pack;
pub mod plan;
mod resources;

pub use adapter::{adapter_name, all_adapter_features, all_adapters, best_adapter};
pub use evaluator::{GpuEvaluator, GpuOptions, KernelUse};
