//! Choosing what evaluates: `--backend auto|gpu|cpu` on every command that evaluates.

use super::{cpu::CpuEvaluator, Evaluator};
use crate::data::Dataset;
use crate::error::{Error, Result};
use std::sync::Arc;

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A hardware GPU when there is one, otherwise the CPU.
    #[default]
    Auto,
    /// The GPU evaluator; an error when no usable adapter exists.
    Gpu,
    /// The multi-core CPU evaluator.
    Cpu,
}

/// An evaluator for `data` on the chosen backend, and a line saying what was chosen and why.
pub fn open(backend: Backend, data: Arc<Dataset>) -> Result<(Box<dyn Evaluator + Send>, String)> {
    match backend {
        Backend::Cpu => {
            let cpu = CpuEvaluator::new(data);
            let why = format!("backend: {} (asked for cpu)", cpu.describe());
            Ok((Box::new(cpu), why))
        }
        Backend::Gpu => Err(Error::Gpu("this build has no GPU evaluator yet; use --backend cpu".into())),
        Backend::Auto => {
            let cpu = CpuEvaluator::new(data);
            let why = format!("backend: {} (auto: no GPU evaluator in this build)", cpu.describe());
            Ok((Box::new(cpu), why))
        }
    }
}
