#[cfg(feature = "gpu")]
use wann::eval::gpu;

#[derive(clap::Args)]
pub struct Args {}

/// Without the `gpu` feature there is nothing to list: says so, as an error.
#[cfg(not(feature = "gpu"))]
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("{}", wann::eval::backend::NO_GPU_SUPPORT)
}

/// Lists the adapters wgpu sees, their key limits, and which one each backend choice would use.
#[cfg(feature = "gpu")]
pub fn run(_args: Args) -> anyhow::Result<()> {
    let adapters = gpu::all_adapters();
    let features = gpu::all_adapter_features();
    if adapters.is_empty() {
        outln!("no GPU adapter found: install a Vulkan driver (for example mesa-vulkan-drivers) or use --backend cpu");
        return Ok(());
    }
    for (info, limits) in &adapters {
        outln!("{}", gpu::adapter_name(info));
        outln!("  driver: {} {}", info.driver, info.driver_info);
        outln!(
            "  limits: {} workgroups per dimension, {} threads per workgroup, {} MB per storage binding, {} MB per buffer, {} storage buffers per stage",
            limits.max_compute_workgroups_per_dimension,
            limits.max_compute_invocations_per_workgroup,
            limits.max_storage_buffer_binding_size >> 20,
            limits.max_buffer_size >> 20,
            limits.max_storage_buffers_per_shader_stage
        );
        let timestamps = features
            .iter()
            .find(|(i, _)| i == info)
            .is_some_and(|(_, f)| f.contains(wgpu::Features::TIMESTAMP_QUERY));
        println!(
            "  workgroup memory: {} KB (node values of the on-chip kernel); timestamps: {}",
            limits.max_compute_workgroup_storage_size / 1024,
            if timestamps { "yes (per-kernel times in wann bench --json)" } else { "no" }
        );
    }
    match gpu::best_adapter() {
        Some(best) => {
            outln!("--backend gpu uses: {}", gpu::adapter_name(&best));
            let auto = if best.device_type == wgpu::DeviceType::Cpu {
                "the CPU evaluator (the only adapter is a software one)".to_string()
            } else {
                gpu::adapter_name(&best)
            };
            outln!("--backend auto uses: {auto}");
        }
        None => outln!("no adapter can run compute shaders: --backend auto uses the CPU evaluator"),
    }
    Ok(())
}
