//! The GPU evaluator: `shaders/eval.wgsl` through wgpu, over a whole generation's grid of
//! (program, weight value, example) in bulk. The shader's header comment explains the kernel design.
//!
//! Once per evaluator: adapter and device (with every limit the adapter offers), the dataset
//! (example-major f32, labels packed four per u32), bind group layouts and pipelines. Per call: the
//! batch indices, the programs and the weight values go up; a gather pass builds the pixel-major
//! batch on the GPU; the evaluate pass writes one partial per (program, tile of 64 examples,
//! weight) and the reduce pass sums the tiles, so only n_programs x n_weights (ce_sum, correct)
//! pairs come back. Buffers grow when a bigger batch comes and are reused otherwise.
//!
//! Limits are respected by splitting, never by truncating: grids are cut into dispatches of at most
//! `max_compute_workgroups_per_dimension` workgroups per dimension; programs are uploaded in groups
//! whose buffers fit a storage binding; long example lists are run in several passes whose
//! results are added. Per-thread node values live in a storage-buffer scratch (one block per
//! workgroup of a dispatch), so the workgroups per dispatch are also capped by the scratch size. A
//! program too large for one scratch block (or over `GpuOptions::max_ops`) is run by the CPU
//! evaluator instead (said once on stderr): same results, just slower.
//!
//! Every wgpu error (validation, out of memory, internal, shader compilation, device lost) is
//! caught through error scopes, the uncaptured-error handler and the device-lost callback, and
//! returned as [`Error::Gpu`]; none panics.

use super::cpu::CpuEvaluator;
use super::{Evaluation, Evaluator, PairStats, Predictions, TimeSplit};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::program::{Op, Program, ProgramHeader, Programs};
use bytemuck::{Pod, Zeroable};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

const SHADER: &str = include_str!("../../shaders/eval.wgsl");
/// Threads per workgroup, one example each (`TILE` in the shader).
const TILE: usize = 64;
/// Bytes between two parameter blocks in the uniform buffer (dynamic offsets must be aligned to
/// `min_uniform_buffer_offset_alignment`, at most 256 on every adapter).
const PARAMS_SLOT: u64 = 256;
/// Most bytes of scratch (per-thread node values) one dispatch may use.
const MAX_SCRATCH: u64 = 1 << 30;

/// Tuning and test knobs. The defaults are what the command line uses.
#[derive(Clone, Debug)]
pub struct GpuOptions {
    /// Largest program (in ops: live hidden nodes plus outputs) run on the GPU; larger ones are
    /// evaluated by the CPU evaluator. The scratch buffer sets a limit too (a workgroup needs
    /// 512 bytes per op: about 260,000 ops with 128 MB storage bindings).
    pub max_ops: u32,
    /// Fewer workgroups per dispatch dimension than the adapter allows (to exercise splitting).
    pub max_workgroups_per_dimension: Option<u32>,
    /// Fewer examples per pass than the buffers allow (to exercise multi-pass evaluation).
    pub max_examples_per_pass: Option<usize>,
    /// Smaller per-binding buffers than the adapter allows (to exercise program grouping). The
    /// dataset itself always uses the adapter's limit.
    pub max_binding_bytes: Option<u64>,
    /// Most loop iterations per GPU thread (programs needing more run on the CPU). Set
    /// automatically for llvmpipe/lavapipe, which cuts loops short after 65,535 iterations.
    pub max_loop_iterations: Option<u64>,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            max_ops: u32::MAX,
            max_workgroups_per_dimension: None,
            max_examples_per_pass: None,
            max_binding_bytes: None,
            max_loop_iterations: None,
        }
    }
}

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

/// "NVIDIA H200 (Vulkan, DiscreteGpu)".
pub fn adapter_name(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

fn new_instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

fn pick_adapter(instance: &wgpu::Instance) -> Option<wgpu::Adapter> {
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

/// One block of `Params` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct Params {
    n_batch: u32,
    stride: u32,
    n_tiles: u32,
    n_weights: u32,
    dim: u32,
    n_outputs: u32,
    n_programs: u32,
    base_x: u32,
    base_y: u32,
    with_outputs: u32,
    scratch_ops: u32,
    _pad: u32,
}

/// `Partial` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct Partial {
    ce: f32,
    correct: u32,
}

/// A buffer that grows (never shrinks) to the largest size asked of it.
struct Grow {
    label: &'static str,
    usage: wgpu::BufferUsages,
    buf: wgpu::Buffer,
}

impl Grow {
    fn new(device: &wgpu::Device, label: &'static str, usage: wgpu::BufferUsages) -> Grow {
        let buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: 256,
            usage,
            mapped_at_creation: false,
        });
        Grow { label, usage, buf }
    }

    /// Makes room for `bytes`; true when the buffer was replaced (bind groups must be rebuilt).
    fn ensure(&mut self, device: &wgpu::Device, bytes: u64, max: u64) -> bool {
        if bytes <= self.buf.size() {
            return false;
        }
        let size = bytes.max(self.buf.size().saturating_mul(2)).min(max.max(bytes)).next_multiple_of(256);
        self.buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(self.label),
            size,
            usage: self.usage,
            mapped_at_creation: false,
        });
        true
    }
}

struct Buffers {
    data: wgpu::Buffer,
    labels: wgpu::Buffer,
    params: Grow,
    indices: Grow,
    batch: Grow,
    batch_labels: Grow,
    headers: Grow,
    ops: Grow,
    edges: Grow,
    weights: Grow,
    partials: Grow,
    results: Grow,
    classes: Grow,
    outputs: Grow,
    scratch: Grow,
    staging: Grow,
}

struct Layouts {
    gather: wgpu::BindGroupLayout,
    evaluate: wgpu::BindGroupLayout,
    reduce: wgpu::BindGroupLayout,
    predict: wgpu::BindGroupLayout,
}

struct Pipelines {
    gather: wgpu::ComputePipeline,
    evaluate: wgpu::ComputePipeline,
    reduce: wgpu::ComputePipeline,
    predict: wgpu::ComputePipeline,
}

struct BindGroups {
    gather: wgpu::BindGroup,
    evaluate: wgpu::BindGroup,
    reduce: wgpu::BindGroup,
    predict: wgpu::BindGroup,
}

/// What one pass needs to know about its examples.
#[derive(Clone, Copy)]
struct Pass {
    n_batch: usize,
    stride: usize,
}

impl Pass {
    fn new(n_batch: usize) -> Pass {
        Pass { n_batch, stride: n_batch.next_multiple_of(TILE) }
    }
    fn tiles(&self) -> usize {
        self.stride / TILE
    }
}

pub struct GpuEvaluator {
    data: Arc<Dataset>,
    opts: GpuOptions,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    _instance: wgpu::Instance,
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// Errors reported outside error scopes, and device loss.
    errors: Arc<Mutex<Vec<String>>>,
    layouts: Layouts,
    pipelines: Option<Pipelines>,
    buffers: Buffers,
    bind_groups: Option<BindGroups>,
    cpu: CpuEvaluator,
    cpu_fallback_said: bool,
    /// Most loop iterations one thread may run, where the driver cuts loops short: llvmpipe
    /// (lavapipe) silently ends every loop of a shader invocation after 65,535 iterations in all
    /// (`LP_MAX_TGSI_LOOP_ITERATIONS`), which would give wrong results instead of an error.
    loop_limit: Option<u64>,
    /// Where the current/last `evaluate` spent its time (for `wann bench`).
    split: TimeSplit,
}

fn gpu_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Gpu(format!("{what}: {e}"))
}

/// Error scopes for one step of work; `finish` turns whatever they caught into [`Error::Gpu`].
struct Scopes {
    guards: Vec<wgpu::ErrorScopeGuard>,
}

impl Scopes {
    fn push(device: &wgpu::Device) -> Scopes {
        Scopes {
            guards: [
                wgpu::ErrorFilter::OutOfMemory,
                wgpu::ErrorFilter::Validation,
                wgpu::ErrorFilter::Internal,
            ]
            .into_iter()
            .map(|f| device.push_error_scope(f))
            .collect(),
        }
    }

    fn finish(mut self, what: &str) -> Result<()> {
        let mut first = None;
        while let Some(g) = self.guards.pop() {
            if let Some(e) = pollster::block_on(g.pop()) {
                let msg = match &e {
                    wgpu::Error::OutOfMemory { .. } => format!(
                        "{what}: out of GPU memory ({e}); evaluate fewer genomes or examples at once, or use --backend cpu"
                    ),
                    _ => format!("{what}: {e}"),
                };
                first.get_or_insert(msg);
            }
        }
        match first {
            Some(msg) => Err(Error::Gpu(msg)),
            None => Ok(()),
        }
    }
}

impl GpuEvaluator {
    /// Opens the best adapter (hardware first) for `data`.
    pub fn new(data: Arc<Dataset>) -> Result<GpuEvaluator> {
        GpuEvaluator::with_options(data, GpuOptions::default())
    }

    pub fn with_options(data: Arc<Dataset>, opts: GpuOptions) -> Result<GpuEvaluator> {
        let instance = new_instance();
        let adapter = pick_adapter(&instance).ok_or_else(|| {
            Error::Gpu(
                "no GPU adapter found (wgpu saw no Vulkan, Metal or DX12 device with compute shaders): \
                 install a Vulkan driver (for example Mesa's lavapipe: mesa-vulkan-drivers) or use --backend cpu"
                    .into(),
            )
        })?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        if opts.max_ops < 1 {
            return Err(Error::Invalid("GpuOptions::max_ops must be at least 1".into()));
        }
        if limits.max_compute_invocations_per_workgroup < TILE as u32
            || limits.max_compute_workgroup_size_x < TILE as u32
        {
            return Err(Error::Gpu(format!(
                "{} allows only {} threads per workgroup; the evaluator needs {TILE}; use --backend cpu",
                adapter_name(&info),
                limits.max_compute_invocations_per_workgroup
            )));
        }
        if limits.max_storage_buffers_per_shader_stage < 8 {
            return Err(Error::Gpu(format!(
                "{} allows only {} storage buffers per shader stage; the evaluator needs 8; use --backend cpu",
                adapter_name(&info),
                limits.max_storage_buffers_per_shader_stage
            )));
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("wann"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            memory_hints: wgpu::MemoryHints::Performance,
            ..Default::default()
        }))
        .map_err(|e| gpu_err(&format!("cannot open {}", adapter_name(&info)), e))?;

        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let sink = errors.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut v) = sink.lock() {
                let msg = if msg.is_empty() { String::new() } else { format!(": {msg}") };
                v.push(format!("the GPU device was lost ({reason:?}){msg}"));
            }
        });

        let scopes = Scopes::push(&device);
        let data_bytes = (data.inputs.len() * 4) as u64;
        let binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        if data_bytes > binding {
            return Err(Error::Gpu(format!(
                "the dataset {} needs {} MB on the GPU, more than {} allows in one buffer ({} MB); use --backend cpu",
                data.name,
                data_bytes >> 20,
                adapter_name(&info),
                binding >> 20
            )));
        }
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let data_buf = upload(&device, "dataset", bytemuck::cast_slice(&data.inputs), storage);
        let mut packed = vec![0u32; data.labels.len().div_ceil(4).max(1)];
        for (i, &l) in data.labels.iter().enumerate() {
            packed[i / 4] |= (l as u32) << (8 * (i % 4));
        }
        let labels_buf = upload(&device, "labels", bytemuck::cast_slice(&packed), storage);
        let rw = storage | wgpu::BufferUsages::COPY_SRC;
        let buffers = Buffers {
            data: data_buf,
            labels: labels_buf,
            params: Grow::new(&device, "params", wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST),
            indices: Grow::new(&device, "indices", storage),
            batch: Grow::new(&device, "batch", storage),
            batch_labels: Grow::new(&device, "batch labels", storage),
            headers: Grow::new(&device, "headers", storage),
            ops: Grow::new(&device, "ops", storage),
            edges: Grow::new(&device, "edges", storage),
            weights: Grow::new(&device, "weights", storage),
            partials: Grow::new(&device, "partials", rw),
            results: Grow::new(&device, "results", rw),
            classes: Grow::new(&device, "classes", rw),
            outputs: Grow::new(&device, "outputs", rw),
            scratch: Grow::new(&device, "scratch", storage),
            staging: Grow::new(
                &device,
                "staging",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
        };
        let layouts = Layouts {
            gather: layout(&device, "gather", &[(1, true), (2, true), (3, true), (4, false), (5, false)]),
            evaluate: layout(
                &device,
                "evaluate",
                &[
                    (6, true),
                    (7, true),
                    (8, true),
                    (9, true),
                    (10, true),
                    (11, true),
                    (12, false),
                    (17, false),
                ],
            ),
            reduce: layout(&device, "reduce", &[(13, true), (14, false)]),
            predict: layout(
                &device,
                "predict",
                &[
                    (6, true),
                    (8, true),
                    (9, true),
                    (10, true),
                    (11, true),
                    (15, false),
                    (16, false),
                    (17, false),
                ],
            ),
        };
        scopes.finish(&format!("cannot set up {}", adapter_name(&info)))?;
        let cpu = CpuEvaluator::new(data.clone());
        let llvmpipe = [&info.name, &info.driver].iter().any(|s| s.to_lowercase().contains("llvmpipe"));
        let loop_limit = opts.max_loop_iterations.or(llvmpipe.then_some(60_000));
        let mut gpu = GpuEvaluator {
            data,
            opts,
            info,
            limits,
            _instance: instance,
            device,
            queue,
            errors,
            layouts,
            pipelines: None,
            buffers,
            bind_groups: None,
            cpu,
            cpu_fallback_said: false,
            loop_limit,
            split: TimeSplit::default(),
        };
        gpu.build_pipelines()?;
        Ok(gpu)
    }

    /// Destroys the device, as a driver reset would (for tests of the error path): every later
    /// call returns [`Error::Gpu`].
    #[doc(hidden)]
    pub fn simulate_device_loss(&self) {
        self.device.destroy();
    }

    /// The adapter in use.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// Adapter name and the limits that shape the work.
    pub fn summary(&self) -> String {
        let l = &self.limits;
        format!(
            "{}; limits: {} workgroups per dimension, {} MB per storage binding, {} MB per buffer, {} storage buffers per stage; programs over {} ops run on the CPU",
            adapter_name(&self.info),
            l.max_compute_workgroups_per_dimension,
            l.max_storage_buffer_binding_size >> 20,
            l.max_buffer_size >> 20,
            l.max_storage_buffers_per_shader_stage,
            self.max_program_ops()
        ) + &self.loop_limit.map_or(String::new(), |n| {
            format!(", or needing over {n} loop iterations per thread (the driver's limit)")
        })
    }

    fn max_dim(&self) -> usize {
        let adapter = self.limits.max_compute_workgroups_per_dimension.max(1);
        self.opts.max_workgroups_per_dimension.map_or(adapter, |m| m.clamp(1, adapter)) as usize
    }

    /// Largest buffer bound as one storage binding (and largest buffer).
    fn max_binding(&self) -> u64 {
        let adapter = self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size);
        // Keep u32 element indexing safe in the shader and allocations reasonable.
        let adapter = adapter.min(1 << 31) & !255;
        self.opts.max_binding_bytes.map_or(adapter, |m| m.min(adapter))
    }

    /// Examples per pass: the batch, the partials of one program and the predictions of one program
    /// must each fit a binding.
    fn pass_examples(&self, n_weights: usize) -> Result<usize> {
        let b = self.max_binding() as usize;
        let d = &self.data;
        let n_w = n_weights.max(1);
        let per_example = [(d.dim + 1) * 4, n_w * 8 / TILE + 1, n_w * 4, n_w * d.classes.max(1) * 4];
        let mut n = per_example.iter().map(|&bytes| b / bytes).min().unwrap_or(0);
        if let Some(m) = self.opts.max_examples_per_pass {
            n = n.min(m);
        }
        let n = n / TILE * TILE;
        if n == 0 {
            return Err(Error::Gpu(format!(
                "{n_weights} weight values do not fit the GPU's buffers ({} bytes per storage binding); use fewer weight values or --backend cpu",
                b
            )));
        }
        Ok(n)
    }

    fn check_shape(&self, n_inputs: u32, n_outputs: u32) -> Result<()> {
        let d = &self.data;
        if n_inputs as usize != d.dim || n_outputs as usize != d.classes {
            return Err(Error::Invalid(format!(
                "the network has {n_inputs} inputs and {n_outputs} outputs, the dataset {} has {} inputs and {} classes",
                d.name, d.dim, d.classes
            )));
        }
        if n_outputs == 0 || n_outputs > 256 {
            return Err(Error::Invalid(format!("the GPU evaluator needs 1 to 256 outputs, not {n_outputs}")));
        }
        Ok(())
    }

    fn check_indices(&self, indices: &[u32]) -> Result<()> {
        if let Some(&bad) = indices.iter().find(|&&i| i as usize >= self.data.len()) {
            return Err(Error::Invalid(format!(
                "example index {bad} is outside the dataset ({} examples)",
                self.data.len()
            )));
        }
        Ok(())
    }

    /// Whether a program of `n_ops` ops and `n_edges` edges runs on the GPU.
    /// `None` when a program of `n_ops` ops and `n_edges` edges runs on the GPU at `n_weights`
    /// weight values, otherwise why not.
    fn unfit(&self, n_ops: usize, n_edges: usize, n_weights: usize) -> Option<String> {
        let b = self.max_binding() as usize;
        let max_ops = self.max_program_ops();
        if n_ops as u64 > max_ops || n_ops * 16 > b || n_edges * 4 > b {
            return Some(format!(
                "a program with {n_ops} ops and {n_edges} connections is over the GPU limit of {max_ops} ops per program"
            ));
        }
        if let Some(limit) = self.loop_limit {
            // Loop iterations of one thread: the consts, then per weight the ops, their op sources,
            // the three passes over the outputs and the workgroup reduction (edges bound both
            // kinds of sources).
            let per_weight = n_ops + n_edges + 3 * self.data.classes + 8;
            let iterations = (n_ops + n_edges + n_weights * per_weight) as u64;
            if iterations > limit {
                return Some(format!(
                    "a program with {n_ops} ops and {n_edges} connections at {n_weights} weight values needs about \
                     {iterations} loop iterations per GPU thread, more than {} allows ({limit})",
                    self.info.name
                ));
            }
        }
        None
    }

    fn say_cpu_fallback(&mut self, why: &str) {
        if !self.cpu_fallback_said {
            self.cpu_fallback_said = true;
            eprintln!("gpu: {why}; such programs are evaluated on the CPU");
        }
    }

    fn build_pipelines(&mut self) -> Result<()> {
        let scopes = Scopes::push(&self.device);
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("eval.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let make = |name: &str, layout: &wgpu::BindGroupLayout| {
            let pl = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(name),
                bind_group_layouts: &[Some(layout)],
                immediate_size: 0,
            });
            self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(name),
                layout: Some(&pl),
                module: &module,
                entry_point: Some(name),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let pipelines = Pipelines {
            gather: make("gather", &self.layouts.gather),
            evaluate: make("evaluate", &self.layouts.evaluate),
            reduce: make("reduce", &self.layouts.reduce),
            predict: make("predict", &self.layouts.predict),
        };
        scopes.finish("cannot build the compute pipelines of shaders/eval.wgsl")?;
        self.check_lost()?;
        self.pipelines = Some(pipelines);
        Ok(())
    }

    /// Errors the device reported outside any scope (device loss included).
    /// They are kept: once the device is lost or misbehaved, every later call fails the same way.
    fn check_lost(&self) -> Result<()> {
        let msgs = match self.errors.lock() {
            Ok(v) => v.clone(),
            Err(_) => vec!["the GPU error log is poisoned".into()],
        };
        if msgs.is_empty() {
            Ok(())
        } else {
            Err(Error::Gpu(format!(
                "{}; the GPU evaluator cannot continue, use --backend cpu",
                msgs.join("; ")
            )))
        }
    }

    /// Grows the buffers for one submission; rebuilds the bind groups if any buffer changed.
    fn prepare(&mut self, z: Sizes) {
        let Sizes { params: n_params, pass, programs: n_headers, ops: n_ops, edges: n_edges, .. } = z;
        let (n_weights, predict_outputs, readback) = (z.weights, z.outputs, z.readback);
        let n_results = n_headers * n_weights;
        let scratch_max = self.scratch_budget();
        let d = &self.device;
        let max = self.max_binding();
        let b = &mut self.buffers;
        let mut changed = self.bind_groups.is_none();
        changed |= b.params.ensure(d, n_params as u64 * PARAMS_SLOT, u64::MAX);
        changed |= b.indices.ensure(d, pass.stride as u64 * 4, max);
        changed |= b.batch.ensure(d, ((self.data.dim + 1) * pass.stride * 4) as u64, max);
        changed |= b.batch_labels.ensure(d, pass.stride as u64 * 4, max);
        changed |= b.headers.ensure(d, n_headers as u64 * 16, max);
        changed |= b.ops.ensure(d, n_ops as u64 * 16, max);
        changed |= b.edges.ensure(d, n_edges as u64 * 4, max);
        changed |= b.weights.ensure(d, n_weights as u64 * 4, max);
        changed |= b.partials.ensure(d, (n_headers * pass.tiles() * n_weights * 8) as u64, max);
        changed |= b.results.ensure(d, n_results as u64 * 8, max);
        changed |= b.classes.ensure(d, (n_weights * pass.n_batch * 4) as u64, max);
        changed |= b.outputs.ensure(d, predict_outputs as u64 * 4, max);
        changed |= b.scratch.ensure(d, z.scratch.max(4), scratch_max);
        changed |= b.staging.ensure(d, readback, u64::MAX);
        if changed {
            self.bind_groups = Some(self.bind_groups());
        }
    }

    fn bind_groups(&self) -> BindGroups {
        let b = &self.buffers;
        let make =
            |name: &str, layout: &wgpu::BindGroupLayout, bufs: &[(u32, &wgpu::Buffer)]| {
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &b.params.buf,
                        offset: 0,
                        size: wgpu::BufferSize::new(std::mem::size_of::<Params>() as u64),
                    }),
                }];
                entries.extend(bufs.iter().map(|&(binding, buf)| wgpu::BindGroupEntry {
                    binding,
                    resource: buf.as_entire_binding(),
                }));
                self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(name),
                    layout,
                    entries: &entries,
                })
            };
        BindGroups {
            gather: make(
                "gather",
                &self.layouts.gather,
                &[
                    (1, &b.data),
                    (2, &b.indices.buf),
                    (3, &b.labels),
                    (4, &b.batch.buf),
                    (5, &b.batch_labels.buf),
                ],
            ),
            evaluate: make(
                "evaluate",
                &self.layouts.evaluate,
                &[
                    (6, &b.batch.buf),
                    (7, &b.batch_labels.buf),
                    (8, &b.headers.buf),
                    (9, &b.ops.buf),
                    (10, &b.edges.buf),
                    (11, &b.weights.buf),
                    (12, &b.partials.buf),
                    (17, &b.scratch.buf),
                ],
            ),
            reduce: make("reduce", &self.layouts.reduce, &[(13, &b.partials.buf), (14, &b.results.buf)]),
            predict: make(
                "predict",
                &self.layouts.predict,
                &[
                    (6, &b.batch.buf),
                    (8, &b.headers.buf),
                    (9, &b.ops.buf),
                    (10, &b.edges.buf),
                    (11, &b.weights.buf),
                    (15, &b.classes.buf),
                    (16, &b.outputs.buf),
                    (17, &b.scratch.buf),
                ],
            ),
        }
    }

    /// Dispatches covering `nx` x `ny` workgroups, each at most `max_dim` workgroups per dimension
    /// and `max_groups` in all; each gets its own parameter block with its base.
    fn split(&self, base: Params, nx: usize, ny: usize, max_groups: usize) -> Vec<Dispatch> {
        let mx = self.max_dim().min(max_groups.max(1)).min(nx.max(1));
        let my = self.max_dim().min((max_groups / mx).max(1));
        let mut out = Vec::new();
        for y in (0..ny).step_by(my) {
            for x in (0..nx).step_by(mx) {
                let p = Params { base_x: x as u32, base_y: y as u32, ..base };
                out.push(Dispatch { params: p, x: (nx - x).min(mx) as u32, y: (ny - y).min(my) as u32 });
            }
        }
        out
    }

    /// Most ops a program may have to run on the GPU.
    fn max_program_ops(&self) -> u64 {
        (self.opts.max_ops as u64).min(self.scratch_budget() / GpuEvaluator::scratch_per_group(1))
    }

    /// Bytes of scratch the shader uses per workgroup for programs of up to `n_ops` ops.
    fn scratch_per_group(n_ops: usize) -> u64 {
        2 * n_ops as u64 * TILE as u64 * 4
    }

    fn scratch_budget(&self) -> u64 {
        self.max_binding().min(MAX_SCRATCH)
    }

    /// Dispatches for `evaluate` or `predict` over `tiles` x `programs` workgroups whose largest
    /// program has `n_ops` ops.
    fn split_network(&self, base: Params, tiles: usize, programs: usize, n_ops: usize) -> Vec<Dispatch> {
        let per_group = GpuEvaluator::scratch_per_group(n_ops);
        let base = Params { scratch_ops: n_ops as u32, ..base };
        self.split(base, tiles, programs, (self.scratch_budget() / per_group) as usize)
    }

    /// Records, submits and reads back one unit of work: `steps` are (pipeline, dispatches) in
    /// order; `copy` is the buffer (results, or classes and outputs) to read back.
    fn run(&mut self, what: &str, steps: &[Step], copies: &[(Target, u64)]) -> Result<Vec<u8>> {
        let pipelines = self.pipelines.as_ref().ok_or_else(|| Error::Gpu("pipelines missing".into()))?;
        let groups = self.bind_groups.as_ref().ok_or_else(|| Error::Gpu("bind groups missing".into()))?;
        let b = &self.buffers;
        let scopes = Scopes::push(&self.device);
        let all: Vec<Params> = steps.iter().flat_map(|(_, d)| d.iter().map(|x| x.params)).collect();
        let mut blocks = vec![0u8; all.len() * PARAMS_SLOT as usize];
        for (i, p) in all.iter().enumerate() {
            let at = i * PARAMS_SLOT as usize;
            blocks[at..at + std::mem::size_of::<Params>()].copy_from_slice(bytemuck::bytes_of(p));
        }
        self.queue.write_buffer(&b.params.buf, 0, &blocks);
        let mut encoder =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(what) });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(what),
                timestamp_writes: None,
            });
            let mut slot = 0u32;
            for (kernel, dispatches) in steps {
                let (pipeline, group) = match kernel {
                    Kernel::Gather => (&pipelines.gather, &groups.gather),
                    Kernel::Evaluate => (&pipelines.evaluate, &groups.evaluate),
                    Kernel::Reduce => (&pipelines.reduce, &groups.reduce),
                    Kernel::Predict => (&pipelines.predict, &groups.predict),
                };
                pass.set_pipeline(pipeline);
                for &Dispatch { x, y, .. } in dispatches {
                    pass.set_bind_group(0, group, &[slot * PARAMS_SLOT as u32]);
                    pass.dispatch_workgroups(x, y, 1);
                    slot += 1;
                }
            }
        }
        let mut total = 0u64;
        for &(target, bytes) in copies {
            let src = match target {
                Target::Results => &b.results.buf,
                Target::Classes => &b.classes.buf,
                Target::Outputs => &b.outputs.buf,
            };
            if bytes > 0 {
                encoder.copy_buffer_to_buffer(src, 0, &b.staging.buf, total, bytes);
            }
            total += bytes;
        }
        let submitted = Instant::now();
        self.queue.submit([encoder.finish()]);
        scopes.finish(what)?;
        // Wait for the GPU here rather than inside the read-back, so that the time split can tell
        // the compute (and the queued uploads' copies) apart from reading the results.
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err(&format!("{what}: waiting for the GPU"), e))?;
        let finished = Instant::now();
        self.split.compute += (finished - submitted).as_secs_f64();
        let out = self.read_staging(total, what);
        self.split.readback += finished.elapsed().as_secs_f64();
        self.check_lost()?;
        out
    }

    fn read_staging(&self, bytes: u64, what: &str) -> Result<Vec<u8>> {
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let staging = &self.buffers.staging.buf;
        let slice = staging.slice(..bytes);
        let (tx, rx) = mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err(&format!("{what}: waiting for the GPU"), e))?;
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(gpu_err(&format!("{what}: reading results back"), e)),
            Err(_) => return Err(Error::Gpu(format!("{what}: the GPU never finished reading results back"))),
        }
        let out = {
            let view =
                slice.get_mapped_range().map_err(|e| gpu_err(&format!("{what}: reading results back"), e))?;
            view.to_vec()
        };
        staging.unmap();
        Ok(out)
    }

    fn upload_pass(&mut self, indices: &[u32], pass: Pass) {
        let mut padded = indices.to_vec();
        padded.resize(pass.stride, 0);
        self.queue.write_buffer(&self.buffers.indices.buf, 0, bytemuck::cast_slice(&padded));
    }

    fn gather_steps(&self, pass: Pass, base: Params) -> Step {
        let groups = ((self.data.dim + 1) * pass.stride).div_ceil(TILE);
        (Kernel::Gather, self.split(base, groups, 1, usize::MAX))
    }

    fn base_params(&self, pass: Pass, n_weights: usize, n_programs: usize) -> Params {
        Params {
            n_batch: pass.n_batch as u32,
            stride: pass.stride as u32,
            n_tiles: pass.tiles() as u32,
            n_weights: n_weights as u32,
            dim: self.data.dim as u32,
            n_outputs: self.data.classes as u32,
            n_programs: n_programs as u32,
            ..Params::default()
        }
    }

    /// Programs `ids` in groups whose buffers each fit a binding.
    fn group_programs(
        &self,
        programs: &Programs,
        ids: &[usize],
        pass_len: usize,
        n_w: usize,
    ) -> Vec<Vec<usize>> {
        let b = self.max_binding() as usize;
        let per_program_partials = pass_len.div_ceil(TILE) * n_w * 8;
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let (mut ops, mut edges, mut cur) = (0usize, 0usize, Vec::new());
        for &i in ids {
            let h = programs.headers[i];
            let (o, e) = (h.n_ops as usize, h.n_edges as usize);
            let n = cur.len() + 1;
            let over = (ops + o) * 16 > b
                || (edges + e) * 4 > b
                || n * 16 > b
                || n * per_program_partials > b
                || n * n_w * 8 > b;
            if over && !cur.is_empty() {
                groups.push(std::mem::take(&mut cur));
                ops = 0;
                edges = 0;
            }
            ops += o;
            edges += e;
            cur.push(i);
        }
        if !cur.is_empty() {
            groups.push(cur);
        }
        groups
    }

    fn upload_programs(&mut self, headers: &[ProgramHeader], ops: &[Op], edges: &[u32], weights: &[f32]) {
        let q = &self.queue;
        let b = &self.buffers;
        q.write_buffer(&b.headers.buf, 0, bytemuck::cast_slice(headers));
        if !ops.is_empty() {
            q.write_buffer(&b.ops.buf, 0, bytemuck::cast_slice(ops));
        }
        if !edges.is_empty() {
            q.write_buffer(&b.edges.buf, 0, bytemuck::cast_slice(edges));
        }
        q.write_buffer(&b.weights.buf, 0, bytemuck::cast_slice(weights));
    }
}

/// One dispatch: its parameter block and its grid.
#[derive(Clone, Copy)]
struct Dispatch {
    params: Params,
    x: u32,
    y: u32,
}

/// A kernel and the dispatches that cover its grid.
type Step = (Kernel, Vec<Dispatch>);

/// What one submission needs room for.
#[derive(Clone, Copy)]
struct Sizes {
    /// Parameter blocks (dispatches).
    params: usize,
    pass: Pass,
    programs: usize,
    ops: usize,
    edges: usize,
    weights: usize,
    /// Raw outputs written by `predict` (f32 values).
    outputs: usize,
    /// Bytes read back.
    readback: u64,
    /// Scratch bytes of the largest dispatch.
    scratch: u64,
}

/// Scratch bytes the largest network dispatch of `steps` uses.
fn scratch_bytes(steps: &[Step]) -> u64 {
    steps
        .iter()
        .filter(|(k, _)| matches!(k, Kernel::Evaluate | Kernel::Predict))
        .flat_map(|(_, d)| d.iter())
        .map(|d| d.x as u64 * d.y as u64 * GpuEvaluator::scratch_per_group(d.params.scratch_ops as usize))
        .max()
        .unwrap_or(0)
}

#[derive(Clone, Copy)]
enum Kernel {
    Gather,
    Evaluate,
    Reduce,
    Predict,
}

#[derive(Clone, Copy)]
enum Target {
    Results,
    Classes,
    Outputs,
}

fn upload(device: &wgpu::Device, label: &str, bytes: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
    let size = (bytes.len() as u64).max(4).next_multiple_of(4);
    let buf = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage,
        mapped_at_creation: true,
    });
    if let Ok(mut view) = buf.get_mapped_range_mut(..bytes.len() as u64) {
        view.copy_from_slice(bytes);
    }
    buf.unmap();
    buf
}

/// A bind group layout: binding 0 is the parameter block (dynamic offset), then storage buffers
/// `(binding, read_only)`.
fn layout(device: &wgpu::Device, label: &str, storage: &[(u32, bool)]) -> wgpu::BindGroupLayout {
    let mut entries = vec![wgpu::BindGroupLayoutEntry {
        binding: 0,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: true,
            min_binding_size: wgpu::BufferSize::new(std::mem::size_of::<Params>() as u64),
        },
        count: None,
    }];
    entries.extend(storage.iter().map(|&(binding, read_only)| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }));
    device
        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(label), entries: &entries })
}

impl GpuEvaluator {
    fn evaluate_timed(
        &mut self,
        programs: &Programs,
        weights: &[f32],
        indices: &[u32],
    ) -> Result<Evaluation> {
        let n_w = weights.len();
        let mut stats = vec![PairStats::default(); programs.len() * n_w];
        let done = |stats| Evaluation {
            n_programs: programs.len(),
            n_weights: n_w,
            n_examples: indices.len(),
            stats,
        };
        if programs.is_empty() {
            return Ok(done(stats));
        }
        self.check_lost()?;
        self.check_shape(programs.n_inputs, programs.n_outputs)?;
        self.check_indices(indices)?;
        if n_w == 0 || indices.is_empty() {
            return Ok(done(stats));
        }
        let (mut on_gpu, mut on_cpu) = (Vec::new(), Vec::new());
        for (i, h) in programs.headers.iter().enumerate() {
            match self.unfit(h.n_ops as usize, h.n_edges as usize, n_w) {
                None => on_gpu.push(i),
                Some(why) => on_cpu.push((i, why)),
            }
        }
        if !on_cpu.is_empty() {
            let why = on_cpu[0].1.clone();
            self.say_cpu_fallback(&why);
            let on_cpu: Vec<usize> = on_cpu.iter().map(|x| x.0).collect();
            let sub = programs.subset(&on_cpu);
            let r = self.cpu.evaluate(&sub, weights, indices)?;
            for (k, &i) in on_cpu.iter().enumerate() {
                stats[i * n_w..(i + 1) * n_w].copy_from_slice(&r.stats[k * n_w..(k + 1) * n_w]);
            }
        }
        if on_gpu.is_empty() {
            return Ok(done(stats));
        }
        let pass_len = self.pass_examples(n_w)?;
        let groups = self.group_programs(programs, &on_gpu, pass_len.min(indices.len()), n_w);
        // Each group's programs are packed once, not once per chunk of examples.
        let packed: Vec<Programs> = groups.iter().map(|g| programs.subset(g)).collect();
        for chunk in indices.chunks(pass_len) {
            let pass = Pass::new(chunk.len());
            let mut gathered = false;
            for (group, sub) in groups.iter().zip(&packed) {
                let n_p = group.len();
                let base = self.base_params(pass, n_w, n_p);
                let mut steps = Vec::new();
                if !gathered {
                    steps.push(self.gather_steps(pass, base));
                }
                let biggest = group.iter().map(|&i| programs.headers[i].n_ops).max().unwrap_or(1);
                steps.push((Kernel::Evaluate, self.split_network(base, pass.tiles(), n_p, biggest as usize)));
                steps.push((Kernel::Reduce, self.split(base, (n_p * n_w).div_ceil(TILE), 1, usize::MAX)));
                let n_params = steps.iter().map(|s| s.1.len()).sum();
                let results = (n_p * n_w * 8) as u64;
                self.prepare(Sizes {
                    params: n_params,
                    pass,
                    programs: n_p,
                    ops: sub.ops.len(),
                    edges: sub.edges.len(),
                    weights: n_w,
                    outputs: 0,
                    readback: results,
                    scratch: scratch_bytes(&steps),
                });
                if !gathered {
                    self.upload_pass(chunk, pass);
                    gathered = true;
                }
                self.upload_programs(&sub.headers, &sub.ops, &sub.edges, weights);
                let bytes = self.run("GPU evaluation", &steps, &[(Target::Results, results)])?;
                let partials: &[Partial] = bytemuck::try_cast_slice(&bytes)
                    .map_err(|e| gpu_err("GPU evaluation: malformed results", e))?;
                for (k, &i) in group.iter().enumerate() {
                    for w in 0..n_w {
                        let r = partials[k * n_w + w];
                        let s = &mut stats[i * n_w + w];
                        s.ce_sum += r.ce as f64;
                        s.correct += r.correct;
                    }
                }
            }
        }
        Ok(done(stats))
    }
}

impl Evaluator for GpuEvaluator {
    fn describe(&self) -> String {
        format!("gpu: {}", adapter_name(&self.info))
    }

    fn last_split(&self) -> Option<TimeSplit> {
        Some(self.split)
    }

    fn evaluate(&mut self, programs: &Programs, weights: &[f32], indices: &[u32]) -> Result<Evaluation> {
        let started = Instant::now();
        self.split = TimeSplit::default();
        let result = self.evaluate_timed(programs, weights, indices);
        // Everything that was neither waiting for the GPU nor reading back: packing and uploading.
        let total = started.elapsed().as_secs_f64();
        self.split.upload = (total - self.split.compute - self.split.readback).max(0.0);
        result
    }

    fn predict(
        &mut self,
        program: &Program,
        weights: &[f32],
        indices: &[u32],
        with_outputs: bool,
    ) -> Result<Predictions> {
        self.check_lost()?;
        self.check_shape(program.n_inputs, program.n_outputs)?;
        self.check_indices(indices)?;
        if let Some(why) = self.unfit(program.ops.len(), program.edges.len(), weights.len()) {
            self.say_cpu_fallback(&why);
            return self.cpu.predict(program, weights, indices, with_outputs);
        }
        let n_w = weights.len();
        let n = indices.len();
        let n_out = program.n_outputs as usize;
        let mut classes = vec![0u8; n_w * n];
        let mut outputs = with_outputs.then(|| vec![0.0f32; n_w * n * n_out]);
        if n_w == 0 || n == 0 {
            return Ok(Predictions { n_weights: n_w, n_examples: n, classes, outputs });
        }
        let pass_len = self.pass_examples(n_w)?;
        let header = ProgramHeader {
            op_start: 0,
            n_ops: program.ops.len() as u32,
            edge_start: 0,
            n_edges: program.edges.len() as u32,
        };
        let mut start = 0;
        for chunk in indices.chunks(pass_len) {
            let pass = Pass::new(chunk.len());
            let m = chunk.len();
            let base = Params { with_outputs: with_outputs as u32, ..self.base_params(pass, n_w, 1) };
            let steps = [
                self.gather_steps(pass, base),
                (Kernel::Predict, self.split_network(base, pass.tiles(), 1, program.ops.len())),
            ];
            let n_params = steps.iter().map(|s| s.1.len()).sum();
            let class_bytes = (n_w * m * 4) as u64;
            let out_bytes = if with_outputs { (n_w * m * n_out * 4) as u64 } else { 0 };
            let n_outputs = if with_outputs { n_w * m * n_out } else { 1 };
            self.prepare(Sizes {
                params: n_params,
                pass,
                programs: 1,
                ops: program.ops.len(),
                edges: program.edges.len(),
                weights: n_w,
                outputs: n_outputs,
                readback: class_bytes + out_bytes,
                scratch: scratch_bytes(&steps),
            });
            self.upload_pass(chunk, pass);
            self.upload_programs(&[header], &program.ops, &program.edges, weights);
            let bytes = self.run(
                "GPU prediction",
                &steps,
                &[(Target::Classes, class_bytes), (Target::Outputs, out_bytes)],
            )?;
            let words: &[u32] = bytemuck::try_cast_slice(&bytes[..class_bytes as usize])
                .map_err(|e| gpu_err("GPU prediction: malformed results", e))?;
            for w in 0..n_w {
                for (e, &c) in words[w * m..(w + 1) * m].iter().enumerate() {
                    classes[w * n + start + e] = c as u8;
                }
            }
            if let Some(all) = outputs.as_mut() {
                let outs: &[f32] = bytemuck::try_cast_slice(&bytes[class_bytes as usize..])
                    .map_err(|e| gpu_err("GPU prediction: malformed results", e))?;
                for w in 0..n_w {
                    all[(w * n + start) * n_out..(w * n + start + m) * n_out]
                        .copy_from_slice(&outs[w * m * n_out..(w + 1) * m * n_out]);
                }
            }
            start += m;
        }
        Ok(Predictions { n_weights: n_w, n_examples: n, classes, outputs })
    }
}
