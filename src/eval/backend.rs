//! Choosing what evaluates: `--backend auto|gpu|cpu` on every command that evaluates.

#[cfg(feature = "gpu")]
use super::gpu;
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

/// Why a build without the `gpu` cargo feature evaluates on the CPU.
#[cfg(not(feature = "gpu"))]
pub const NO_GPU_SUPPORT: &str =
    "this build has no GPU evaluator (it was built without the default `gpu` cargo feature)";

/// An evaluator for `data` on the chosen backend, and a line saying what was chosen and why.
///
/// `auto` takes the GPU only when the best adapter is a hardware one: a software Vulkan driver
/// (lavapipe) is much slower than the CPU evaluator. `gpu` takes any adapter, software included.
pub fn open(backend: Backend, data: Arc<Dataset>) -> Result<(Box<dyn Evaluator + Send>, String)> {
    match backend {
        Backend::Cpu => {
            let cpu = CpuEvaluator::new(data);
            let why = format!("backend: {} (asked for cpu)", cpu.describe());
            Ok((Box::new(cpu), why))
        }
        #[cfg(not(feature = "gpu"))]
        Backend::Gpu => Err(Error::Gpu(format!("{NO_GPU_SUPPORT}: rebuild with it, or evaluate on the CPU"))),
        #[cfg(feature = "gpu")]
        Backend::Gpu => {
            let gpu = gpu::GpuEvaluator::new(data)?;
            let why = format!("backend: gpu (asked for gpu): {}", gpu.summary());
            Ok((Box::new(gpu), why))
        }
        Backend::Auto => {
            #[cfg(not(feature = "gpu"))]
            let reason = NO_GPU_SUPPORT;
            #[cfg(feature = "gpu")]
            let reason = match gpu::best_adapter() {
                None => "no GPU adapter found".to_string(),
                Some(info) if info.device_type == wgpu::DeviceType::Cpu => format!(
                    "the only GPU adapter is a software one, {}, slower than the CPU evaluator; asking for the gpu backend forces it",
                    gpu::adapter_name(&info)
                ),
                Some(_) => match gpu::GpuEvaluator::new(data.clone()) {
                    Ok(gpu) => {
                        let why = format!("backend: gpu (auto: hardware GPU found): {}", gpu.summary());
                        return Ok((Box::new(gpu), why));
                    }
                    Err(Error::Gpu(e)) => format!("the GPU could not be used ({e})"),
                    Err(e) => return Err(e),
                },
            };
            let cpu = CpuEvaluator::new(data);
            let why = format!("backend: {} (auto: {reason})", cpu.describe());
            Ok((Box::new(cpu), why))
        }
    }
}
