//! Evolution: the WANN search (Gaier & Ha, 2019) over any [`task::Task`], its ranking, selection and
//! mutation, and the run directory (log, champion, checkpoints) around it.

pub mod config;
pub mod mutation;
pub mod nsga;
pub mod run;
pub mod search;
pub mod task;
