//! Evolution: the WANN search (METHOD.md at the repository root) over any [`task::Task`], its
//! ranking, selection and mutation, and the run directory (log, champion, checkpoints) around it.

pub mod config;
pub mod mutation;
pub mod nsga;
pub mod run;
pub mod search;
pub mod task;
