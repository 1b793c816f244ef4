//! [`GpuEvaluator`]: once per evaluator, the adapter and device (with every limit the adapter
//! offers), the dataset (example-major f32, labels packed four per u32), bind group layouts and
//! pipelines. Per call: the batch indices, the programs and the weight values go up; a gather pass
//! builds the pixel-major batch on the GPU; the evaluate pass writes one partial per (program, tile
//! of 64 examples, weight) and the reduce pass sums the tiles, so only n_programs x n_weights
//! (ce_sum, correct) pairs come back. Buffers grow when a bigger batch comes and are reused
//! otherwise.
//!
//! Grids are cut into dispatches within `max_compute_workgroups_per_dimension`; programs are
//! uploaded in groups whose buffers fit a storage binding; long example lists are run in several
//! passes whose results are added (see [`super::plan`]). A program too large for the GPU (or over
//! `GpuOptions::max_ops`) is run by the CPU evaluator instead (said once through the note sink):
//! same results, just slower. With parents (`evaluate_with_parents`), parents write the values
//! their children read to the family value table and the children run as deltas (`super::jobs`
//! plans it, `super::deltas` builds the cones), chunk by chunk of families.

use super::adapter::{adapter_name, is_llvmpipe, new_instance, pick_adapter};
use super::deltas::ROWS_BUDGET;
use super::errors::{gpu_err, ErrorLog, Scopes};
use super::jobs::{DeltaPlan, FitContext, Job, Run};
use super::pack::OnChip;
use super::plan::{self, Grid, Pass, PlanLimits, Variant, TILE};
use super::resources::{self, Buffers, Kernel, Params, Partial, PARAMS_SLOT};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::cpu::CpuEvaluator;
use crate::eval::family::{families, Family};
use crate::eval::{Evaluation, Evaluator, PairStats, Predictions, TimeSplit};
use crate::genome::Activation;
use crate::program::{Op, Program, ProgramHeader, Programs};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::{mpsc, Arc};
use std::time::Instant;

const SHADER: &str = include_str!("../../../shaders/eval.wgsl");

/// The shader with the activation ids it switches on (`ACT_*`) appended from [`Activation`], so that
/// they are named in one place; appended, not prepended, so that line numbers in errors stay right.
fn shader_source() -> String {
    let mut source = String::from(SHADER);
    for a in Activation::ALL {
        source += &format!("const ACT_{}: u32 = {}u;\n", a.name().to_uppercase(), a.id());
    }
    source
}

/// Tuning and test knobs. The defaults are what the command line uses.
#[derive(Clone, Debug)]
pub struct GpuOptions {
    /// Largest program (in ops: live hidden nodes plus outputs) run on the GPU; larger ones are
    /// evaluated by the CPU evaluator. The scratch buffer sets a limit too (a workgroup needs
    /// 512 bytes per op: about 1,000,000 ops with 512 MB storage bindings).
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
    /// Use the on-chip kernel (node values in workgroup memory) for programs it fits; `false` runs
    /// every program on the storage-scratch kernel (for comparisons).
    pub onchip: bool,
    /// Less workgroup memory than the adapter offers (to exercise the variants of smaller GPUs).
    pub max_workgroup_storage: Option<u32>,
    /// Keep wgpu's runtime bounds checks in the on-chip kernel. Without them (the default in
    /// release builds) the kernel trusts the programs, which are validated on the CPU first.
    pub runtime_checks: bool,
    /// Read op sources four at a time in the on-chip kernel (loads first, then the additions in
    /// edge order; same results). `None`: on, except on llvmpipe, where it measured slower.
    pub unroll_edges: Option<bool>,
    /// Run children as deltas of their parents (`evaluate_with_parents`) on the on-chip kernel;
    /// `false` evaluates every program in full.
    pub deltas: bool,
    /// A smaller family value table than the deltas' budget (to exercise families that do not fit).
    pub max_table_bytes: Option<u64>,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            max_ops: u32::MAX,
            max_workgroups_per_dimension: None,
            max_examples_per_pass: None,
            max_binding_bytes: None,
            max_loop_iterations: None,
            onchip: true,
            max_workgroup_storage: None,
            runtime_checks: cfg!(debug_assertions),
            unroll_edges: None,
            deltas: true,
            max_table_bytes: None,
        }
    }
}

/// Which kernels ran the programs of the last `evaluate` (each program counted once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct KernelUse {
    /// Programs run with node values in workgroup memory.
    pub onchip: usize,
    /// Programs run on the storage-scratch kernel (too large for any on-chip variant).
    pub scratch: usize,
    /// Programs the GPU could not run, evaluated by the CPU evaluator.
    pub cpu: usize,
    /// Of the on-chip programs, children run as deltas of their parents.
    pub deltas: usize,
    /// Children identical to their parents, not run at all (their results are the parent's).
    pub copies: usize,
    /// Rows of the family value table (parent values read by children; each row holds one value
    /// per weight and example of a pass).
    pub table_rows: usize,
    /// Chunks of families that took turns in the table.
    pub family_chunks: usize,
}

/// One dispatch: its parameter block and its grid.
#[derive(Clone, Copy)]
struct Dispatch {
    params: Params,
    x: u32,
    y: u32,
}

/// A kernel (an on-chip variant, or the kernel itself) and the dispatches that cover its grid.
struct Step {
    kernel: Kernel,
    variant: Option<Variant>,
    dispatches: Vec<Dispatch>,
    /// What its GPU time is reported as.
    name: &'static str,
}

impl Step {
    fn new(kernel: Kernel, dispatches: Vec<Dispatch>) -> Step {
        Step { kernel, variant: None, dispatches, name: kernel.name() }
    }
}

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
    /// Bytes of the family value table.
    rows: u64,
}

/// Scratch bytes the largest network dispatch of `steps` uses.
fn scratch_bytes(steps: &[Step]) -> u64 {
    steps
        .iter()
        .filter(|s| s.variant.is_none() && matches!(s.kernel, Kernel::Evaluate | Kernel::Predict))
        .flat_map(|s| s.dispatches.iter())
        .map(|d| d.x as u64 * d.y as u64 * plan::scratch_per_group(d.params.scratch_ops as usize))
        .max()
        .unwrap_or(0)
}

/// What to read back after a submission.
#[derive(Clone, Copy)]
enum Target {
    Results,
    Classes,
    Outputs,
}

pub struct GpuEvaluator {
    data: Arc<Dataset>,
    opts: GpuOptions,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    plan: PlanLimits,
    _instance: wgpu::Instance,
    device: wgpu::Device,
    queue: wgpu::Queue,
    errors: ErrorLog,
    layouts: HashMap<Kernel, wgpu::BindGroupLayout>,
    pipelines: HashMap<Kernel, wgpu::ComputePipeline>,
    /// The on-chip kernel's shader module (trusted in release builds) and its variants, compiled
    /// when first needed.
    onchip_module: Option<wgpu::ShaderModule>,
    onchip_pipelines: HashMap<Variant, wgpu::ComputePipeline>,
    /// Workgroup memory an on-chip variant may use.
    workgroup_budget: u64,
    buffers: Buffers,
    bind_groups: Option<HashMap<Kernel, wgpu::BindGroup>>,
    cpu: CpuEvaluator,
    cpu_fallback_said: bool,
    /// Where notes go (set by the caller; none: dropped).
    notes: Option<crate::eval::NoteSink>,
    /// Where the current/last `evaluate` spent its time (for `wann bench`).
    split: TimeSplit,
    kernel_use: KernelUse,
    /// Per program of the last `evaluate`, whether it ran as a delta of its parent or was a copy.
    last_deltas: Vec<bool>,
    /// GPU timestamps around each kernel's dispatches, where the adapter supports them.
    timestamps: Option<Timestamps>,
    /// Seconds each kernel ran during the last `evaluate`/`predict`, from the timestamps.
    kernel_seconds: BTreeMap<&'static str, f64>,
}

/// A timestamp query set (two queries per step) and the buffer it resolves into.
struct Timestamps {
    set: wgpu::QuerySet,
    capacity: u32,
    resolve: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period: f64,
}

impl Timestamps {
    fn new(device: &wgpu::Device, capacity: u32, period: f64) -> Timestamps {
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("kernel timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: capacity,
        });
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: capacity as u64 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Timestamps { set, capacity, resolve, period }
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
                 install a Vulkan driver (for example Mesa's lavapipe: mesa-vulkan-drivers) or evaluate on the CPU"
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
                "{} allows only {} threads per workgroup; the evaluator needs {TILE}; evaluate on the CPU instead",
                adapter_name(&info),
                limits.max_compute_invocations_per_workgroup
            )));
        }
        if limits.max_storage_buffers_per_shader_stage < 8 {
            return Err(Error::Gpu(format!(
                "{} allows only {} storage buffers per shader stage; the evaluator needs 8; evaluate on the CPU instead",
                adapter_name(&info),
                limits.max_storage_buffers_per_shader_stage
            )));
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("wann"),
            // Timestamps are read where offered (per-kernel times for `wann bench`); never required.
            required_features: adapter.features() & wgpu::Features::TIMESTAMP_QUERY,
            required_limits: limits.clone(),
            memory_hints: wgpu::MemoryHints::Performance,
            ..Default::default()
        }))
        .map_err(|e| gpu_err(&format!("cannot open {}", adapter_name(&info)), e))?;
        let errors = ErrorLog::attach(&device);

        let scopes = Scopes::push(&device);
        let data_bytes = (data.inputs.len() * 4) as u64;
        let binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
            .min(plan::MAX_BINDING_ELEMENTS * 4);
        if data_bytes > binding {
            return Err(Error::Gpu(format!(
                "the dataset {} needs {} MB on the GPU, more than {} allows in one buffer ({} MB); evaluate on the CPU instead",
                data.name,
                data_bytes >> 20,
                adapter_name(&info),
                binding >> 20
            )));
        }
        if let Some(&bad) = data.labels.iter().find(|&&l| l as usize >= data.classes) {
            return Err(Error::Invalid(format!(
                "the dataset {} has a label {bad}, not below its {} classes",
                data.name, data.classes
            )));
        }
        let buffers = Buffers::new(&device, &data.inputs, &data.labels);
        let layouts = Kernel::ALL.iter().map(|&k| (k, resources::layout(&device, k))).collect();
        scopes.finish(&format!("cannot set up {}", adapter_name(&info)))?;
        let cpu = CpuEvaluator::new(data.clone());
        // llvmpipe (lavapipe) silently ends every loop of a shader invocation after 65,535
        // iterations in all (`LP_MAX_TGSI_LOOP_ITERATIONS`), which would give wrong results
        // instead of an error.
        let loop_limit = opts.max_loop_iterations.or(is_llvmpipe(&info).then_some(60_000));
        let plan = PlanLimits::new(
            &limits,
            opts.max_workgroups_per_dimension,
            opts.max_binding_bytes,
            opts.max_ops,
            loop_limit,
        );
        let workgroup_budget =
            opts.max_workgroup_storage.map_or(limits.max_compute_workgroup_storage_size, |m| {
                m.min(limits.max_compute_workgroup_storage_size)
            }) as u64;
        let mut gpu = GpuEvaluator {
            data,
            opts,
            info,
            limits,
            plan,
            _instance: instance,
            device,
            queue,
            errors,
            layouts,
            pipelines: HashMap::new(),
            onchip_module: None,
            onchip_pipelines: HashMap::new(),
            workgroup_budget: 0,
            buffers,
            bind_groups: None,
            cpu,
            cpu_fallback_said: false,
            notes: None,
            split: TimeSplit::default(),
            kernel_use: KernelUse::default(),
            last_deltas: Vec::new(),
            timestamps: None,
            kernel_seconds: BTreeMap::new(),
        };
        gpu.workgroup_budget = workgroup_budget;
        if gpu.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            let period = gpu.queue.get_timestamp_period() as f64;
            gpu.timestamps = Some(Timestamps::new(&gpu.device, 64, period));
        }
        gpu.build_pipelines()?;
        Ok(gpu)
    }

    /// Destroys the device, as a driver reset would (for tests of the error path): every later
    /// call returns [`Error::Gpu`].
    #[doc(hidden)]
    pub fn simulate_device_loss(&self) {
        self.device.destroy();
    }

    /// Which kernels ran the programs of the last `evaluate`.
    pub fn kernel_use(&self) -> KernelUse {
        self.kernel_use
    }

    /// Seconds each kernel ran on the GPU during the last `evaluate` or `predict`, by kernel name
    /// (`evaluate_onchip` for the on-chip variants); empty where the adapter has no timestamps.
    pub fn kernel_seconds(&self) -> &BTreeMap<&'static str, f64> {
        &self.kernel_seconds
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
            self.plan.max_program_ops()
        ) + &self.plan.loop_limit.map_or(String::new(), |n| {
            format!(", or needing over {n} loop iterations per thread (the driver's limit)")
        })
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

    fn unfit(&self, n_ops: usize, n_edges: usize, n_weights: usize) -> Option<String> {
        plan::unfit(&self.plan, n_ops, n_edges, n_weights, self.data.classes)
            .map(|why| format!("{why} on {}", self.info.name))
    }

    fn pass_examples(&self, n_weights: usize) -> Result<usize> {
        plan::pass_examples(
            &self.plan,
            self.data.dim,
            self.data.classes,
            n_weights,
            self.opts.max_examples_per_pass,
        )
    }

    fn say_cpu_fallback(&mut self, why: &str) {
        if !self.cpu_fallback_said {
            self.cpu_fallback_said = true;
            if let Some(sink) = self.notes.as_mut() {
                sink(&format!("gpu: {why}; such programs are evaluated on the CPU"));
            }
        }
    }

    fn build_pipelines(&mut self) -> Result<()> {
        let scopes = Scopes::push(&self.device);
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("eval.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shader_source().into()),
        });
        let mut pipelines = HashMap::new();
        for k in Kernel::FIXED {
            let pl = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(k.name()),
                bind_group_layouts: &[Some(&self.layouts[&k])],
                immediate_size: 0,
            });
            let p = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(k.name()),
                layout: Some(&pl),
                module: &module,
                entry_point: Some(k.name()),
                compilation_options: Default::default(),
                cache: None,
            });
            pipelines.insert(k, p);
        }
        scopes.finish("cannot build the compute pipelines of shaders/eval.wgsl")?;
        self.errors.check()?;
        self.pipelines = pipelines;
        Ok(())
    }

    /// Grows the buffers for one submission; rebuilds the bind groups if any buffer changed.
    fn prepare(&mut self, z: Sizes) {
        let Sizes { params: n_params, pass, programs: n_headers, ops: n_ops, edges: n_edges, .. } = z;
        let (n_weights, predict_outputs, readback) = (z.weights, z.outputs, z.readback);
        let n_results = n_headers * n_weights;
        let scratch_max = self.plan.scratch_budget();
        let table_max = self.table_budget();
        let d = &self.device;
        let max = self.plan.max_binding;
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
        changed |= b.rows.ensure(d, z.rows.max(4), table_max);
        // Room for the timestamps too: two per step, at most one step per dispatch.
        changed |= b.staging.ensure(d, readback.next_multiple_of(8) + n_params as u64 * 16, u64::MAX);
        if changed {
            let groups = Kernel::ALL
                .iter()
                .map(|&k| (k, resources::bind_group(&self.device, k, &self.layouts[&k], &self.buffers)))
                .collect();
            self.bind_groups = Some(groups);
        }
    }

    /// Dispatches of `grids`, each with its own parameter block.
    fn dispatches(base: Params, grids: Vec<Grid>) -> Vec<Dispatch> {
        grids
            .into_iter()
            .map(|g| Dispatch {
                params: Params { base_x: g.base_x, base_y: g.base_y, ..base },
                x: g.x,
                y: g.y,
            })
            .collect()
    }

    /// Dispatches for `evaluate` or `predict` over `tiles` x `programs` workgroups whose largest
    /// program has `n_ops` ops.
    fn split_network(&self, base: Params, tiles: usize, programs: usize, n_ops: usize) -> Vec<Dispatch> {
        let base = Params { scratch_ops: n_ops as u32, ..base };
        Self::dispatches(base, plan::split_scratch(&self.plan, tiles, programs, n_ops))
    }

    /// Records, submits and reads back one unit of work: `steps` are (pipeline, dispatches) in
    /// order; `copies` are the buffers (results, or classes and outputs) to read back.
    fn run(&mut self, what: &str, steps: &[Step], copies: &[(Target, u64)]) -> Result<Vec<u8>> {
        let groups = self.bind_groups.as_ref().ok_or_else(|| Error::Gpu("bind groups missing".into()))?;
        let b = &self.buffers;
        let scopes = Scopes::push(&self.device);
        let all: Vec<Params> = steps.iter().flat_map(|s| s.dispatches.iter().map(|x| x.params)).collect();
        let mut blocks = vec![0u8; all.len() * PARAMS_SLOT as usize];
        for (i, p) in all.iter().enumerate() {
            let at = i * PARAMS_SLOT as usize;
            blocks[at..at + std::mem::size_of::<Params>()].copy_from_slice(bytemuck::bytes_of(p));
        }
        self.queue.write_buffer(&b.params.buf, 0, &blocks);
        let mut encoder =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(what) });
        let n_queries = 2 * steps.len() as u32;
        if let Some(t) = &self.timestamps {
            if t.capacity < n_queries {
                let period = t.period;
                self.timestamps = Some(Timestamps::new(&self.device, n_queries.next_power_of_two(), period));
            }
        }
        let timestamps = self.timestamps.as_ref();
        {
            // One compute pass per step where timestamps are taken (they mark pass boundaries),
            // otherwise one pass for everything.
            let begin = |encoder: &mut wgpu::CommandEncoder, i: u32| {
                let timestamp_writes = timestamps.map(|t| wgpu::ComputePassTimestampWrites {
                    query_set: &t.set,
                    beginning_of_pass_write_index: Some(2 * i),
                    end_of_pass_write_index: Some(2 * i + 1),
                });
                encoder
                    .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(what), timestamp_writes })
                    .forget_lifetime()
            };
            let mut pass = begin(&mut encoder, 0);
            let mut slot = 0u32;
            for (i, step) in steps.iter().enumerate() {
                if timestamps.is_some() && i > 0 {
                    drop(pass);
                    pass = begin(&mut encoder, i as u32);
                }
                let pipeline = match &step.variant {
                    Some(v) => self
                        .onchip_pipelines
                        .get(v)
                        .ok_or_else(|| Error::Gpu(format!("on-chip pipeline {v:?} missing")))?,
                    None => &self.pipelines[&step.kernel],
                };
                pass.set_pipeline(pipeline);
                for &Dispatch { x, y, .. } in &step.dispatches {
                    pass.set_bind_group(0, &groups[&step.kernel], &[slot * PARAMS_SLOT as u32]);
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
        let results_bytes = total;
        if let Some(t) = timestamps {
            encoder.resolve_query_set(&t.set, 0..n_queries, &t.resolve, 0);
            total = total.next_multiple_of(8);
            encoder.copy_buffer_to_buffer(&t.resolve, 0, &b.staging.buf, total, n_queries as u64 * 8);
            total += n_queries as u64 * 8;
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
        // A lost device shows as a failed read-back too: its own message says more.
        self.errors.check()?;
        let mut out = out?;
        if let Some(t) = &self.timestamps {
            let at = results_bytes.next_multiple_of(8) as usize;
            let ticks: &[u64] = bytemuck::try_cast_slice(&out[at..])
                .map_err(|e| gpu_err(&format!("{what}: malformed timestamps"), e))?;
            for (step, pair) in steps.iter().zip(ticks.chunks_exact(2)) {
                let ns = pair[1].saturating_sub(pair[0]) as f64 * t.period;
                *self.kernel_seconds.entry(step.name).or_default() += ns * 1e-9;
            }
            out.truncate(results_bytes as usize);
        }
        Ok(out)
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
        Step::new(Kernel::Gather, Self::dispatches(base, plan::split(&self.plan, groups, 1, usize::MAX)))
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

    /// Compiles the on-chip variant `v` unless it is compiled already.
    fn ensure_onchip(&mut self, v: Variant) -> Result<()> {
        if self.onchip_pipelines.contains_key(&v) {
            return Ok(());
        }
        let scopes = Scopes::push(&self.device);
        if self.onchip_module.is_none() {
            let desc = wgpu::ShaderModuleDescriptor {
                label: Some("eval.wgsl (on-chip)"),
                source: wgpu::ShaderSource::Wgsl(shader_source().into()),
            };
            let module = if self.opts.runtime_checks {
                self.device.create_shader_module(desc)
            } else {
                // SAFETY: the on-chip kernel is only ever given programs validated on the CPU
                // (`pack::onchip_program`: every edge, op source and value slot in range), labels
                // below the output count (checked when the evaluator opened) and grids the host
                // sized its buffers for; every loop is bounded by those sizes.
                unsafe {
                    self.device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
                }
            };
            self.onchip_module = Some(module);
        }
        let module =
            self.onchip_module.as_ref().ok_or_else(|| Error::Gpu("on-chip module missing".into()))?;
        let pl = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("evaluate_onchip"),
            bind_group_layouts: &[Some(&self.layouts[&Kernel::OnChip])],
            immediate_size: 0,
        });
        let unroll = self.opts.unroll_edges.unwrap_or(!is_llvmpipe(&self.info));
        let constants = [
            ("LANES", v.lanes as f64),
            ("WPT", v.wpt as f64),
            ("SLOTS", v.slots as f64),
            ("UNROLL", unroll as u8 as f64),
        ];
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("evaluate_onchip"),
            layout: Some(&pl),
            module,
            entry_point: Some("evaluate_onchip"),
            // Every value slot is written before it is read (sources are earlier ops).
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        scopes.finish(&format!(
            "cannot build the on-chip kernel ({} lanes, {} weights per lane, {} value slots)",
            v.lanes, v.wpt, v.slots
        ))?;
        self.errors.check()?;
        self.onchip_pipelines.insert(v, pipeline);
        Ok(())
    }

    /// Bytes the family value table may take.
    fn table_budget(&self) -> u64 {
        ROWS_BUDGET.min(self.plan.max_binding).min(self.opts.max_table_bytes.unwrap_or(u64::MAX))
    }

    /// What deciding and re-encoding on-chip programs needs (plain data, shared across threads).
    fn fit_context(&self) -> FitContext {
        FitContext {
            enabled: self.opts.onchip,
            plan: self.plan,
            table_budget: self.table_budget(),
            workgroup_budget: self.workgroup_budget,
            dim: self.data.dim as u32,
            classes: self.data.classes,
        }
    }

    /// Dispatches over `tiles` x (programs `first..first + n` of the group): the on-chip variant's
    /// even split, or the scratch kernel's.
    fn network_step(&self, base: Params, tiles: usize, first: usize, n: usize, choice: Choice) -> Step {
        let (kernel, variant, dispatches) = match choice {
            Choice::OnChip(v) => (
                Kernel::OnChip,
                Some(v),
                Self::dispatches(base, plan::split(&self.plan, tiles, n, usize::MAX)),
            ),
            Choice::Scratch(n_ops) => (Kernel::Evaluate, None, self.split_network(base, tiles, n, n_ops)),
        };
        let dispatches = dispatches
            .into_iter()
            .map(|mut d| {
                d.params.base_y += first as u32;
                d
            })
            .collect();
        Step { kernel, variant, dispatches, name: kernel.name() }
    }

    /// [`GpuEvaluator::evaluate_timed`], with where its time went.
    fn evaluate_measured(
        &mut self,
        programs: &Programs,
        families: Option<&[Family]>,
        weights: &[f32],
        indices: &[u32],
    ) -> Result<Evaluation> {
        let started = Instant::now();
        self.split = TimeSplit::default();
        self.kernel_seconds.clear();
        self.kernel_use = KernelUse::default();
        self.last_deltas = vec![false; programs.len()];
        let result = self.evaluate_timed(programs, families, weights, indices);
        // Everything that was neither waiting for the GPU nor reading back: packing and uploading.
        let total = started.elapsed().as_secs_f64();
        self.split.upload = (total - self.split.compute - self.split.readback).max(0.0);
        result
    }

    /// Evaluates `programs`; with `families`, children whose parents run on the on-chip kernel
    /// run as deltas of them, and children identical to their parents are not run at all.
    fn evaluate_timed(
        &mut self,
        programs: &Programs,
        families: Option<&[Family]>,
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
        self.errors.check()?;
        self.check_shape(programs.n_inputs, programs.n_outputs)?;
        self.check_indices(indices)?;
        programs.check()?;
        if n_w == 0 || indices.is_empty() {
            return Ok(done(stats));
        }
        let cx = self.fit_context();
        let pass_len = self.pass_examples(n_w)?;
        let stride = pass_len.min(indices.len()).next_multiple_of(TILE);
        let deltas = match families {
            Some(f) if self.opts.deltas => cx.plan_deltas(programs, f, n_w, stride)?,
            _ => DeltaPlan::default(),
        };
        // The plan covers its parents, the children it runs as deltas and the copies.
        let children = deltas.jobs.iter().filter(|j| j.delta).map(|j| j.program);
        for child in children.chain(deltas.copies.iter().map(|&(c, _)| c)) {
            self.last_deltas[child] = true;
        }
        let mut covered = self.last_deltas.clone();
        for j in &deltas.jobs {
            covered[j.program] = true;
        }
        // Every other program runs in full: on the on-chip kernel where a variant fits it, on the
        // scratch kernel otherwise, and on the CPU when neither can. Re-encoding is O(edges) per
        // program; a generation's worth runs on all cores.
        let full: Vec<usize> = (0..programs.len()).filter(|&i| !covered[i]).collect();
        let fits: Vec<Option<(Variant, OnChip)>> =
            full.par_iter().map(|&i| cx.fit(programs, i, n_w)).collect::<Result<_>>()?;
        let mut jobs = deltas.jobs;
        let mut on_cpu = Vec::new();
        for (&i, fit) in full.iter().zip(fits) {
            let h = programs.headers[i];
            match fit {
                Some((v, p)) => jobs.push(Job { program: i, chunk: 0, delta: false, run: Run::OnChip(v, p) }),
                None => match self.unfit(h.n_ops as usize, h.n_edges as usize, n_w) {
                    None => jobs.push(Job { program: i, chunk: 0, delta: false, run: Run::Scratch }),
                    Some(why) => on_cpu.push((i, why)),
                },
            }
        }
        let count = |f: &dyn Fn(&Job) -> bool| jobs.iter().filter(|j| f(j)).count();
        self.kernel_use = KernelUse {
            onchip: count(&|j| matches!(j.run, Run::OnChip(..))),
            scratch: count(&|j| matches!(j.run, Run::Scratch)),
            cpu: on_cpu.len(),
            deltas: count(&|j| j.delta),
            copies: deltas.copies.len(),
            table_rows: deltas.n_rows as usize,
            family_chunks: deltas.chunks,
        };
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
        let passes = Passes { len: pass_len, table_rows: deltas.n_rows };
        self.run_jobs(programs, jobs, weights, indices, passes, &mut stats)?;
        for &(child, parent) in &deltas.copies {
            stats.copy_within(parent * n_w..(parent + 1) * n_w, child * n_w);
        }
        Ok(done(stats))
    }

    /// Runs `jobs` over `indices` in `passes` and adds each job's results to its program's `stats`.
    fn run_jobs(
        &mut self,
        programs: &Programs,
        mut jobs: Vec<Job>,
        weights: &[f32],
        indices: &[u32],
        passes: Passes,
        stats: &mut [PairStats],
    ) -> Result<()> {
        let (n_w, pass_len) = (weights.len(), passes.len);
        // In (chunk, delta) order (parents before the children that read their rows); within each,
        // programs of one kernel variant together, longest first, so that the long ones start first
        // and no long program is the tail of a dispatch.
        use std::cmp::Reverse;
        jobs.sort_by_cached_key(|j| {
            let h = j.header(programs);
            (j.chunk, j.delta, j.variant().map(Reverse), Reverse(h.n_ops + h.n_edges))
        });
        for v in jobs.iter().filter_map(|j| j.variant()).collect::<std::collections::BTreeSet<_>>() {
            self.ensure_onchip(v)?;
        }
        // Each group's programs are packed once, not once per chunk of examples.
        let headers: Vec<ProgramHeader> = jobs.iter().map(|j| j.header(programs)).collect();
        let order: Vec<usize> = (0..jobs.len()).collect();
        let groups = plan::group_programs(&self.plan, &headers, &order, pass_len.min(indices.len()), n_w);
        let packed: Vec<Programs> = groups
            .iter()
            .map(|g| {
                let mut out = Programs {
                    n_inputs: programs.n_inputs,
                    n_outputs: programs.n_outputs,
                    ..Default::default()
                };
                for &j in g {
                    let (ops, edges) = jobs[j].code(programs);
                    out.headers.push(ProgramHeader {
                        op_start: out.ops.len() as u32,
                        n_ops: ops.len() as u32,
                        edge_start: out.edges.len() as u32,
                        n_edges: edges.len() as u32,
                    });
                    out.ops.extend_from_slice(ops);
                    out.edges.extend_from_slice(edges);
                }
                out
            })
            .collect();
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
                // One step per run of programs of the same phase and kernel variant.
                let mut first = 0;
                while first < n_p {
                    let key =
                        |k: usize| (jobs[group[k]].chunk, jobs[group[k]].delta, jobs[group[k]].variant());
                    let end = (first..n_p).find(|&k| key(k) != key(first)).unwrap_or(n_p);
                    let choice = match jobs[group[first]].variant() {
                        Some(v) => Choice::OnChip(v),
                        None => Choice::Scratch(
                            group[first..end].iter().map(|&j| headers[j].n_ops as usize).max().unwrap_or(1),
                        ),
                    };
                    let mut step = self.network_step(base, pass.tiles(), first, end - first, choice);
                    if jobs[group[first]].delta {
                        step.name = "evaluate_onchip (deltas)";
                    }
                    steps.push(step);
                    first = end;
                }
                let reduce = plan::split(&self.plan, (n_p * n_w).div_ceil(TILE), 1, usize::MAX);
                steps.push(Step::new(Kernel::Reduce, Self::dispatches(base, reduce)));
                let n_params = steps.iter().map(|s| s.dispatches.len()).sum();
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
                    rows: passes.table_rows as u64 * n_w as u64 * pass.stride as u64 * 4,
                });
                if !gathered {
                    self.upload_pass(chunk, pass);
                    gathered = true;
                }
                self.upload_programs(&sub.headers, &sub.ops, &sub.edges, weights);
                let bytes = self.run("GPU evaluation", &steps, &[(Target::Results, results)])?;
                let partials: &[Partial] = bytemuck::try_cast_slice(&bytes)
                    .map_err(|e| gpu_err("GPU evaluation: malformed results", e))?;
                for (k, &j) in group.iter().enumerate() {
                    let i = jobs[j].program;
                    for w in 0..n_w {
                        let r = partials[k * n_w + w];
                        let s = &mut stats[i * n_w + w];
                        s.ce_sum += r.ce as f64;
                        s.correct += r.correct;
                    }
                }
            }
        }
        Ok(())
    }
}

/// How an `evaluate` cuts its examples: passes of at most `len`, each with a family value table of
/// `table_rows` rows.
#[derive(Clone, Copy)]
struct Passes {
    len: usize,
    table_rows: u32,
}

/// Which kernel runs a program: an on-chip variant, or the scratch kernel (sized for `n_ops`).
#[derive(Clone, Copy, Debug)]
enum Choice {
    OnChip(Variant),
    Scratch(usize),
}

impl Evaluator for GpuEvaluator {
    fn describe(&self) -> String {
        format!("gpu: {}", adapter_name(&self.info))
    }

    fn last_split(&self) -> Option<TimeSplit> {
        Some(self.split)
    }

    fn set_notes(&mut self, sink: crate::eval::NoteSink) {
        self.notes = Some(sink);
    }

    fn kernel_seconds(&self) -> Vec<(String, f64)> {
        self.kernel_seconds.iter().map(|(k, &v)| (k.to_string(), v)).collect()
    }

    fn work_counts(&self) -> Vec<(String, usize)> {
        let u = self.kernel_use;
        let counts = [
            ("onchip", u.onchip),
            ("scratch", u.scratch),
            ("cpu", u.cpu),
            ("deltas", u.deltas),
            ("copies", u.copies),
            ("table_rows", u.table_rows),
            ("family_chunks", u.family_chunks),
        ];
        counts.into_iter().map(|(k, n)| (k.to_string(), n)).collect()
    }

    fn evaluate(&mut self, programs: &Programs, weights: &[f32], indices: &[u32]) -> Result<Evaluation> {
        self.evaluate_measured(programs, None, weights, indices)
    }

    fn evaluate_with_parents(
        &mut self,
        programs: &Programs,
        parents: &[Option<usize>],
        weights: &[f32],
        indices: &[u32],
    ) -> Result<Evaluation> {
        let families = families(parents, programs.len())?;
        self.evaluate_measured(programs, Some(&families), weights, indices)
    }

    fn last_deltas(&self) -> Vec<bool> {
        self.last_deltas.clone()
    }

    fn predict(
        &mut self,
        program: &Program,
        weights: &[f32],
        indices: &[u32],
        with_outputs: bool,
    ) -> Result<Predictions> {
        self.kernel_seconds.clear();
        self.errors.check()?;
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
                Step::new(Kernel::Predict, self.split_network(base, pass.tiles(), 1, program.ops.len())),
            ];
            let n_params = steps.iter().map(|s| s.dispatches.len()).sum();
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
                rows: 0,
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
