//! Buffers, and the one table from which every bind group layout and bind group is built.

use bytemuck::{Pod, Zeroable};

/// Bytes between two parameter blocks in the uniform buffer (dynamic offsets must be aligned to
/// `min_uniform_buffer_offset_alignment`, at most 256 on every adapter).
pub(super) const PARAMS_SLOT: u64 = 256;

/// One block of `Params` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub(super) struct Params {
    pub n_batch: u32,
    pub stride: u32,
    pub n_tiles: u32,
    pub n_weights: u32,
    pub dim: u32,
    pub n_outputs: u32,
    pub n_programs: u32,
    pub base_x: u32,
    pub base_y: u32,
    pub with_outputs: u32,
    pub scratch_ops: u32,
    pub _pad: u32,
}

/// `Partial` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub(super) struct Partial {
    pub ce: f32,
    pub correct: u32,
}

/// The compute kernels (entry points of `shaders/eval.wgsl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kernel {
    Gather,
    Evaluate,
    Reduce,
    Predict,
    /// `evaluate_onchip`, whose pipelines are variants (override constants) built when needed.
    OnChip,
}

impl Kernel {
    pub(super) const ALL: [Kernel; 5] =
        [Kernel::Gather, Kernel::Evaluate, Kernel::Reduce, Kernel::Predict, Kernel::OnChip];
    /// The kernels with one pipeline each, built when the evaluator opens.
    pub(super) const FIXED: [Kernel; 4] = [Kernel::Gather, Kernel::Evaluate, Kernel::Reduce, Kernel::Predict];

    pub(super) fn name(self) -> &'static str {
        match self {
            Kernel::Gather => "gather",
            Kernel::Evaluate => "evaluate",
            Kernel::Reduce => "reduce",
            Kernel::Predict => "predict",
            Kernel::OnChip => "evaluate_onchip",
        }
    }
}

/// The storage buffers, by role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Buf {
    Data,
    Labels,
    Indices,
    Batch,
    BatchLabels,
    Headers,
    Ops,
    Edges,
    Weights,
    Partials,
    Results,
    Classes,
    Outputs,
    Scratch,
    Rows,
}

/// Read-only or read-write storage.
const R: bool = true;
const RW: bool = false;

/// What every network kernel reads: the gathered batch, the programs and the weight values.
const PROGRAMS: [(u32, Buf, bool); 5] =
    [(6, Buf::Batch, R), (8, Buf::Headers, R), (9, Buf::Ops, R), (10, Buf::Edges, R), (11, Buf::Weights, R)];

/// Every kernel's storage bindings: (binding number in the shader, buffer, read-only). Binding 0 of
/// every kernel is the parameter block (uniform, dynamic offset).
pub(super) fn bindings(kernel: Kernel) -> Vec<(u32, Buf, bool)> {
    let network = |own: &[(u32, Buf, bool)]| PROGRAMS.iter().chain(own).copied().collect();
    match kernel {
        Kernel::Gather => vec![
            (1, Buf::Data, R),
            (2, Buf::Indices, R),
            (3, Buf::Labels, R),
            (4, Buf::Batch, RW),
            (5, Buf::BatchLabels, RW),
        ],
        Kernel::Evaluate => {
            network(&[(7, Buf::BatchLabels, R), (12, Buf::Partials, RW), (17, Buf::Scratch, RW)])
        }
        Kernel::Reduce => vec![(13, Buf::Partials, R), (14, Buf::Results, RW)],
        Kernel::Predict => network(&[(15, Buf::Classes, RW), (16, Buf::Outputs, RW), (17, Buf::Scratch, RW)]),
        Kernel::OnChip => network(&[(7, Buf::BatchLabels, R), (12, Buf::Partials, RW), (18, Buf::Rows, RW)]),
    }
}

/// A buffer that grows (never shrinks) to the largest size asked of it.
pub(super) struct Grow {
    label: &'static str,
    usage: wgpu::BufferUsages,
    pub buf: wgpu::Buffer,
}

impl Grow {
    pub(super) fn new(device: &wgpu::Device, label: &'static str, usage: wgpu::BufferUsages) -> Grow {
        let buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: 256,
            usage,
            mapped_at_creation: false,
        });
        Grow { label, usage, buf }
    }

    /// Makes room for `bytes`; true when the buffer was replaced (bind groups must be rebuilt).
    pub(super) fn ensure(&mut self, device: &wgpu::Device, bytes: u64, max: u64) -> bool {
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

pub(super) struct Buffers {
    pub data: wgpu::Buffer,
    pub labels: wgpu::Buffer,
    pub params: Grow,
    pub indices: Grow,
    pub batch: Grow,
    pub batch_labels: Grow,
    pub headers: Grow,
    pub ops: Grow,
    pub edges: Grow,
    pub weights: Grow,
    pub partials: Grow,
    pub results: Grow,
    pub classes: Grow,
    pub outputs: Grow,
    pub scratch: Grow,
    /// The family value table of the on-chip kernel's deltas.
    pub rows: Grow,
    pub staging: Grow,
}

impl Buffers {
    /// The dataset (example-major f32) and its labels (four per u32) uploaded; the rest empty.
    pub(super) fn new(device: &wgpu::Device, inputs: &[f32], labels: &[u8]) -> Buffers {
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let mut packed = vec![0u32; labels.len().div_ceil(4).max(1)];
        for (i, &l) in labels.iter().enumerate() {
            packed[i / 4] |= (l as u32) << (8 * (i % 4));
        }
        let rw = storage | wgpu::BufferUsages::COPY_SRC;
        let g = |label| Grow::new(device, label, storage);
        Buffers {
            data: upload(device, "dataset", bytemuck::cast_slice(inputs), storage),
            labels: upload(device, "labels", bytemuck::cast_slice(&packed), storage),
            params: Grow::new(device, "params", wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST),
            indices: g("indices"),
            batch: g("batch"),
            batch_labels: g("batch labels"),
            headers: g("headers"),
            ops: g("ops"),
            edges: g("edges"),
            weights: g("weights"),
            partials: Grow::new(device, "partials", rw),
            results: Grow::new(device, "results", rw),
            classes: Grow::new(device, "classes", rw),
            outputs: Grow::new(device, "outputs", rw),
            scratch: g("scratch"),
            rows: g("family rows"),
            staging: Grow::new(
                device,
                "staging",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
        }
    }

    pub(super) fn get(&self, b: Buf) -> &wgpu::Buffer {
        match b {
            Buf::Data => &self.data,
            Buf::Labels => &self.labels,
            Buf::Indices => &self.indices.buf,
            Buf::Batch => &self.batch.buf,
            Buf::BatchLabels => &self.batch_labels.buf,
            Buf::Headers => &self.headers.buf,
            Buf::Ops => &self.ops.buf,
            Buf::Edges => &self.edges.buf,
            Buf::Weights => &self.weights.buf,
            Buf::Partials => &self.partials.buf,
            Buf::Results => &self.results.buf,
            Buf::Classes => &self.classes.buf,
            Buf::Outputs => &self.outputs.buf,
            Buf::Scratch => &self.scratch.buf,
            Buf::Rows => &self.rows.buf,
        }
    }
}

/// A buffer holding `bytes`.
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

fn params_size() -> Option<wgpu::BufferSize> {
    wgpu::BufferSize::new(std::mem::size_of::<Params>() as u64)
}

/// The bind group layout of `kernel`, from [`bindings`].
pub(super) fn layout(device: &wgpu::Device, kernel: Kernel) -> wgpu::BindGroupLayout {
    let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty,
        count: None,
    };
    let params = wgpu::BindingType::Buffer {
        ty: wgpu::BufferBindingType::Uniform,
        has_dynamic_offset: true,
        min_binding_size: params_size(),
    };
    let mut entries = vec![entry(0, params)];
    entries.extend(bindings(kernel).iter().map(|&(binding, _, read_only)| {
        let storage = wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        };
        entry(binding, storage)
    }));
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(kernel.name()),
        entries: &entries,
    })
}

/// The bind group of `kernel` over the current buffers, from [`bindings`].
pub(super) fn bind_group(
    device: &wgpu::Device,
    kernel: Kernel,
    layout: &wgpu::BindGroupLayout,
    b: &Buffers,
) -> wgpu::BindGroup {
    let mut entries = vec![wgpu::BindGroupEntry {
        binding: 0,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &b.params.buf,
            offset: 0,
            size: params_size(),
        }),
    }];
    entries.extend(bindings(kernel).iter().map(|&(binding, buf, _)| wgpu::BindGroupEntry {
        binding,
        resource: b.get(buf).as_entire_binding(),
    }));
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(kernel.name()),
        layout,
        entries: &entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_table_is_consistent() {
        // Within a kernel, binding numbers are distinct; across kernels, one binding number is always
        // the same buffer with the same access (the shader declares each binding once).
        let mut seen: Vec<(u32, Buf, bool)> = Vec::new();
        for k in Kernel::ALL {
            let b = bindings(k);
            for (i, x) in b.iter().enumerate() {
                assert!(x.0 != 0 && b[..i].iter().all(|y| y.0 != x.0), "{k:?}: binding {} twice", x.0);
                match seen.iter().find(|y| y.0 == x.0) {
                    Some(y) => assert_eq!(y, x, "binding {} differs between kernels", x.0),
                    None => seen.push(*x),
                }
            }
        }
    }
}
