//! Weight Agnostic Neural Network search (Gaier & Ha, NeurIPS 2019) with batched CPU and GPU evaluators.
//!
//! The layout follows the data: [`data`] (examples in), [`genome`] (networks and their files),
//! [`program`] (genomes compiled to instruction buffers), [`eval`] (evaluators over programs),
//! [`evolve`] (the search, its settings and its run directory), [`report`] (accuracy tables,
//! ensembles, weight sweeps, learning curves and pictures), [`train`] (individually trained weights),
//! [`swingup`] (the cart-pole swing-up: environment, controllers, search task, report). Beside them:
//! [`bench`](mod@bench) (throughput measurements), [`workload`] (reproducible grown networks for benchmarks and
//! tests), [`fsutil`] (atomic writes, bounded reads, the run-directory lock, time stamps) and [`error`]
//! (the one error type).

pub mod bench;
pub mod data;
pub mod error;
pub mod eval;
pub mod evolve;
pub mod fsutil;
pub mod genome;
pub mod program;
pub mod report;
pub mod swingup;
pub mod train;
pub mod workload;

pub use error::{Error, Result};
