//! Finding the adapter: hardware GPUs first, software ones (lavapipe, llvmpipe) last.

/// The adapter the GPU evaluator would use: hardware GPUs first (discrete, integrated, virtual),
/// software ones (lavapipe, llvmpipe) last. `None` when no adapter exists.
pub fn best_adapter() -> Option<wgpu::AdapterInfo> {
    let instance = new_instance();
    pick_adapter(&instance).map(|a| a.get_info())
}

/// Every adapter wgpu can see, with the limits it offers.
pub fn all_adapters() -> Vec<(wgpu::AdapterInfo, wgpu::Limits)> {
    let instance = new_instance();
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(|a| (a.get_info(), a.limits()))
        .collect()
}

/// Every adapter wgpu can see, with the features it offers (for `wann gpu-info`).
pub fn all_adapter_features() -> Vec<(wgpu::AdapterInfo, wgpu::Features)> {
    let instance = new_instance();
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(|a| (a.get_info(), a.features()))
        .collect()
}

/// "NVIDIA H200 (Vulkan, DiscreteGpu)".
pub fn adapter_name(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

/// Whether the adapter is llvmpipe (lavapipe), whose loops are cut short (see `GpuOptions`).
pub(super) fn is_llvmpipe(info: &wgpu::AdapterInfo) -> bool {
    [&info.name, &info.driver].iter().any(|s| s.to_lowercase().contains("llvmpipe"))
}

pub(super) fn new_instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

pub(super) fn pick_adapter(instance: &wgpu::Instance) -> Option<wgpu::Adapter> {
    let rank = |t: wgpu::DeviceType| match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters
        .into_iter()
        .filter(|a| a.get_downlevel_capabilities().flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS))
        .min_by_key(|a| rank(a.get_info().device_type))
}
