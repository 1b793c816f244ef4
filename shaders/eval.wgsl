// WANN evaluation: many compiled programs x several shared weight values x a batch of examples.
//
// Design (src/eval/gpu/ drives it; results must match src/eval/cpu.rs):
// - The dataset sits on the GPU once, example-major f32 (`data`, the preprocessed inputs are not
//   8-bit) with labels packed four per u32. Per pass, `gather` copies the batch's examples into
//   `batch`, pixel-major: row 0 is the bias (all 1.0), row s is input slot s, one column per batch
//   position (rows padded to a multiple of 64). Threads of a workgroup are 64 consecutive batch
//   positions, so every source read of the main kernel is one coalesced 256-byte row segment and the
//   bias needs no branch.
// - `evaluate_onchip` (at the end of this file) is the main kernel; `evaluate` is the fallback for
//   programs too large for its workgroup memory.
// - `evaluate`: one workgroup = one program x one tile of 64 examples, one thread per example. Every
//   thread runs the same op and edge sequence (loop bounds, activation switch, edge slots all come
//   from the program and are uniform across the workgroup): no divergence, and op/edge reads are
//   broadcasts. Each op's bias + pixel sources do not depend on the weight: their sum is computed
//   once per example into `consts`; then per weight value only the op->op sources are added, scaled
//   once by the weight (all weights are equal, so no per-edge weight is ever read), clamped to
//   +-PREACT_LIMIT and passed through the activation.
// - Per-thread node storage (`consts`, `values`) is a storage-buffer scratch, not a private array:
//   private arrays need a compile-time size, and large ones compile very slowly (30 s and more on
//   lavapipe for 2 x 1024 floats). Each workgroup of a dispatch owns a block of
//   2 x scratch_ops x 64 floats, laid out [op][thread] so that the 64 threads' accesses to one op
//   are one coalesced segment. The host caps the workgroups per dispatch so that the scratch fits
//   its buffer; dispatches run one after another (WebGPU orders them), reusing it.
// - Per weight, the thread's cross-entropy (stable log-softmax) and correctness are summed over the
//   workgroup in shared memory; one partial per (program, tile, weight) is written, and `reduce`
//   sums the tiles of each (program, weight) pair, so only n_programs x n_weights results go back.
// - `predict` runs one program and writes the argmax (first maximum) per (weight, example), and
//   optionally the raw outputs.
// - Activations mirror src/eval/fastmath.rs operation for operation (same constants, same order;
//   WGSL round() is ties-to-even like round_ties_even; 2^n is built from the exponent bits), with
//   select() instead of branches.
// - Dispatch sizes respect the adapter's workgroups-per-dimension limit: the host splits a grid into
//   several dispatches and passes each one's first workgroup (base_x, base_y) in `params`.

const TILE: u32 = 64u;
const PREACT_LIMIT: f32 = 1.0e4f;
const LOG2_E: f32 = 1.44269504088896340736f;
const LN2_HI: f32 = 0.69314575f;
const LN2_LO: f32 = 1.4286068e-6f;
const PI: f32 = 3.14159265358979323846f;

struct Params {
    n_batch: u32,      // examples in this pass
    stride: u32,       // row length of `batch` (a multiple of TILE)
    n_tiles: u32,      // stride / TILE
    n_weights: u32,
    dim: u32,          // inputs per example
    n_outputs: u32,
    n_programs: u32,   // programs in this upload
    base_x: u32,       // first workgroup (gather, reduce) or tile (evaluate, predict) of this dispatch
    base_y: u32,       // first program of this dispatch (evaluate)
    with_outputs: u32, // predict: also write raw outputs
    scratch_ops: u32,  // ops per scratch block half: the largest program of this upload
    _pad1: u32,
}

struct Partial {
    ce: f32,
    correct: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// gather
@group(0) @binding(1) var<storage, read> data: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> batch_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> batch_labels_out: array<u32>;
// evaluate, predict
@group(0) @binding(6) var<storage, read> batch: array<f32>;
@group(0) @binding(7) var<storage, read> batch_labels: array<u32>;
@group(0) @binding(8) var<storage, read> headers: array<vec4<u32>>; // op_start, n_ops, edge_start, n_edges
@group(0) @binding(9) var<storage, read> ops: array<vec4<u32>>;     // activation, src_start, n_const, n_hidden
@group(0) @binding(10) var<storage, read> edges: array<u32>;
@group(0) @binding(11) var<storage, read> weights: array<f32>;
@group(0) @binding(12) var<storage, read_write> partials_out: array<Partial>;
// reduce
@group(0) @binding(13) var<storage, read> partials: array<Partial>;
@group(0) @binding(14) var<storage, read_write> results: array<Partial>;
// predict
@group(0) @binding(15) var<storage, read_write> classes: array<u32>;
@group(0) @binding(16) var<storage, read_write> outputs: array<f32>;
// evaluate, predict: per-thread node storage
@group(0) @binding(17) var<storage, read_write> scratch: array<f32>;
// evaluate_onchip: the family value table (parents' node values that their children read), laid out
// [row][weight][batch column]
@group(0) @binding(18) var<storage, read_write> rows: array<f32>;

// ---- activations: a mirror of src/eval/fastmath.rs ----

fn clamp_preact(x: f32) -> f32 {
    let y = select(x, PREACT_LIMIT, x > PREACT_LIMIT);
    return select(y, -PREACT_LIMIT, y < -PREACT_LIMIT);
}

fn fexp(y0: f32) -> f32 {
    var y = select(y0, 80.0f, y0 > 80.0f);
    y = select(y, -80.0f, y < -80.0f);
    let n = round(y * LOG2_E);
    let r = (y - n * LN2_HI) - n * LN2_LO;
    let p = 1.0f
        + r * (1.0f
            + r * (0.5f
                + r * (1.0f / 6.0f
                    + r * (1.0f / 24.0f + r * (1.0f / 120.0f + r * (1.0f / 720.0f + r * (1.0f / 5040.0f)))))));
    return p * bitcast<f32>(u32(i32(n) + 127) << 23u);
}

fn reduce_period(x: f32) -> f32 {
    return x - 2.0f * round(x * 0.5f);
}

fn sin_pi(x: f32) -> f32 {
    var r = reduce_period(x);
    r = select(r, 1.0f - r, r > 0.5f);
    r = select(r, -1.0f - r, r < -0.5f);
    let t = r * PI;
    let t2 = t * t;
    let p = t
        * (1.0f
            + t2 * (-1.0f / 6.0f
                + t2 * (1.0f / 120.0f
                    + t2 * (-1.0f / 5040.0f + t2 * (1.0f / 362880.0f + t2 * (-1.0f / 39916800.0f))))));
    // |r| = 1/2 is exactly +-1 (the polynomial gives 0.99999994), as in fastmath.rs.
    return select(p, select(1.0f, -1.0f, r < 0.0f), abs(r) == 0.5f);
}

fn cos_pi(x: f32) -> f32 {
    return sin_pi(reduce_period(x) + 0.5f);
}

fn ftanh(x0: f32) -> f32 {
    var x = select(x0, 9.0f, x0 > 9.0f);
    x = select(x, -9.0f, x < -9.0f);
    let e = fexp(2.0f * x);
    return (e - 1.0f) / (e + 1.0f);
}

// The ACT_* ids are not written here: the host appends them, generated from `Activation`
// (src/genome/activation.rs), the one place the ids are defined.
fn activate(id: u32, x: f32) -> f32 {
    switch id {
        case ACT_STEP: { return select(0.0f, 1.0f, x > 0.0f); }
        case ACT_SIN: { return sin_pi(x); }
        case ACT_GAUSSIAN: { return fexp(-0.5f * x * x); }
        case ACT_TANH: { return ftanh(x); }
        case ACT_SIGMOID: { return (ftanh(0.5f * x) + 1.0f) * 0.5f; }
        case ACT_INVERSE: { return -x; }
        case ACT_ABS: { return abs(x); }
        case ACT_RELU: { return select(0.0f, x, x > 0.0f); }
        case ACT_COSINE: { return cos_pi(x); }
        case ACT_SQUARE: { return x * x; }
        default: { return x; }
    }
}

// ---- the network ----

// Where this thread's consts (op k at c + k * TILE) and values (op k at v + k * TILE) live.
fn scratch_base(wg: vec3<u32>, n_wg: vec3<u32>, lid: u32) -> vec2<u32> {
    let block = (wg.y * n_wg.x + wg.x) * 2u * params.scratch_ops * TILE + lid;
    return vec2<u32>(block, block + params.scratch_ops * TILE);
}

// Bias + input part of every op's sum, for the example in batch column `pos`.
fn load_consts(h: vec4<u32>, pos: u32, c: u32) {
    for (var k = 0u; k < h.y; k++) {
        let op = ops[h.x + k];
        let start = h.z + op.y;
        var acc = 0.0f;
        for (var e = 0u; e < op.z; e++) {
            acc += batch[edges[start + e] * params.stride + pos];
        }
        scratch[c + k * TILE] = acc;
    }
}

// All ops at one weight value; node values end up in `values`.
fn forward(h: vec4<u32>, weight: f32, s: vec2<u32>) {
    let first_op_slot = params.dim + 1u;
    for (var k = 0u; k < h.y; k++) {
        let op = ops[h.x + k];
        let start = h.z + op.y + op.z;
        var acc = scratch[s.x + k * TILE];
        for (var e = 0u; e < op.w; e++) {
            acc += scratch[s.y + (edges[start + e] - first_op_slot) * TILE];
        }
        scratch[s.y + k * TILE] = activate(op.x, clamp_preact(weight * acc));
    }
}

// Argmax (first maximum) of the outputs, the last n_outputs ops.
fn argmax(first: u32, v0: u32) -> u32 {
    var best = scratch[v0 + first * TILE];
    var arg = 0u;
    for (var o = 1u; o < params.n_outputs; o++) {
        let v = scratch[v0 + (first + o) * TILE];
        arg = select(arg, o, v > best);
        best = select(best, v, v > best);
    }
    return arg;
}

// Cross-entropy of `label` under a stable log-softmax of the outputs.
fn cross_entropy(first: u32, label: u32, v0: u32) -> f32 {
    var mx = scratch[v0 + first * TILE];
    for (var o = 1u; o < params.n_outputs; o++) {
        let v = scratch[v0 + (first + o) * TILE];
        mx = select(mx, v, v > mx);
    }
    var sum = 0.0f;
    for (var o = 0u; o < params.n_outputs; o++) {
        sum += fexp(scratch[v0 + (first + o) * TILE] - mx);
    }
    return mx + log(sum) - scratch[v0 + (first + label) * TILE];
}

// ---- entry points ----

@compute @workgroup_size(64)
fn gather(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (params.base_x + wg.x) * TILE + lid;
    if i >= (params.dim + 1u) * params.stride {
        return;
    }
    let row = i / params.stride;
    let pos = i % params.stride;
    var v = 0.0f;
    var label = 0u;
    if pos < params.n_batch {
        let ex = indices[pos];
        if row == 0u {
            v = 1.0f;
        } else {
            v = data[ex * params.dim + row - 1u];
        }
        label = (labels[ex >> 2u] >> ((ex & 3u) * 8u)) & 0xffu;
    }
    batch_out[i] = v;
    if row == 0u {
        batch_labels_out[pos] = label;
    }
}

@compute @workgroup_size(64)
fn evaluate(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) n_wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let tile = params.base_x + wg.x;
    let program = params.base_y + wg.y;
    let pos = tile * TILE + lid;
    let in_batch = pos < params.n_batch;
    let h = headers[program];
    let first_out = h.y - params.n_outputs;
    let label = batch_labels[pos];
    let s = scratch_base(wg, n_wg, lid);
    load_consts(h, pos, s.x);
    for (var w = 0u; w < params.n_weights; w++) {
        forward(h, weights[w], s);
        let ce = cross_entropy(first_out, label, s.y);
        let ok = argmax(first_out, s.y) == label;
        let at = (program * params.n_tiles + tile) * params.n_weights + w;
        reduce_lanes(lid, TILE, select(0.0f, ce, in_batch), select(0u, 1u, in_batch && ok), at);
    }
}

@compute @workgroup_size(64)
fn reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = (params.base_x + wg.x) * TILE + lid;
    if i >= params.n_programs * params.n_weights {
        return;
    }
    let p = i / params.n_weights;
    let w = i % params.n_weights;
    var ce = 0.0f;
    var ok = 0u;
    for (var t = 0u; t < params.n_tiles; t++) {
        let x = partials[(p * params.n_tiles + t) * params.n_weights + w];
        ce += x.ce;
        ok += x.correct;
    }
    results[i] = Partial(ce, ok);
}

@compute @workgroup_size(64)
fn predict(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) n_wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let pos = (params.base_x + wg.x) * TILE + lid;
    let in_batch = pos < params.n_batch;
    let h = headers[params.base_y];
    let first_out = h.y - params.n_outputs;
    let s = scratch_base(wg, n_wg, lid);
    load_consts(h, pos, s.x);
    for (var w = 0u; w < params.n_weights; w++) {
        forward(h, weights[w], s);
        let arg = argmax(first_out, s.y);
        if in_batch {
            let e = w * params.n_batch + pos;
            classes[e] = arg;
            if params.with_outputs != 0u {
                for (var o = 0u; o < params.n_outputs; o++) {
                    outputs[e * params.n_outputs + o] = scratch[s.y + (first_out + o) * TILE];
                }
            }
        }
    }
}

// ---- the on-chip kernel ----
//
// `evaluate_onchip` keeps node values in workgroup memory instead of the storage-buffer scratch:
// one workgroup = one program x one tile of 64 examples, one lane per example (LANES lanes take a
// tile in 64 / LANES rounds), WPT weight values per lane. The host compiles a few variants
// (pipeline-overridable LANES, WPT, SLOTS) and bins programs by the value slots they need; a
// program's values are reassigned to slots by liveness (src/program/liveness.rs), so a slot is
// reused once its last reader has run and only the most values live at once need room. Programs
// come re-encoded for this kernel: op.x = activation | (value slot << 8), op sources are value slots,
// outputs are slots 0 .. n_outputs. Each lane only ever touches its own values, so no barrier is
// needed until the cross-entropy reduction. Per op, the bias + pixel sum is computed once for the
// WPT weights, then each op source's slot is read once and added for all WPT weights, in the
// CPU's order (pixel sum first, then op sources in edge order). The host validates every index of
// a program on the CPU before upload (this kernel may run without runtime bounds checks).
//
// Deltas: two more instructions move values between a slot and a row of the family value table
// (row index in op.y): OP_STORE, placed after a parent's op that a child reads, writes its value;
// OP_LOAD gives a child's slot the parent's value instead of computing it. Parents run in earlier
// dispatches than their children, and each lane writes and reads only its own batch column, so a
// child reads exactly the values its parent computed: every dispatch is its own usage scope, and
// wgpu puts a barrier between dispatches that use one read_write buffer (this also keeps the next
// chunk's parents from overwriting rows before this chunk's children have read them).

override LANES: u32 = 64u;
override WPT: u32 = 1u;
override SLOTS: u32 = 16u;
override UNROLL: bool = true;
const MAX_WPT: u32 = 6u;
const OP_LOAD: u32 = 0xfeu;
const OP_STORE: u32 = 0xffu;
var<workgroup> node_values: array<f32, SLOTS * WPT * LANES>;
var<workgroup> lane_ce: array<f32, LANES>;
var<workgroup> lane_ok: array<u32, LANES>;

// Sums one (cross-entropy, correct) pair per lane over the workgroup's `width` lanes, in a fixed
// tree order, and writes the total to `partials_out[at]`. Both network kernels use it: the
// `evaluate` pipeline leaves LANES at its default, 64 = TILE, its workgroup size. Holds barriers:
// call it in uniform control flow only.
fn reduce_lanes(lid: u32, width: u32, ce: f32, ok: u32, at: u32) {
    lane_ce[lid] = ce;
    lane_ok[lid] = ok;
    workgroupBarrier();
    for (var half = width / 2u; half > 0u; half >>= 1u) {
        if lid < half {
            lane_ce[lid] += lane_ce[lid + half];
            lane_ok[lid] += lane_ok[lid + half];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        partials_out[at] = Partial(lane_ce[0], lane_ok[0]);
    }
    workgroupBarrier();
}

// Index of the value in slot `s` at weight `j` of lane `l` (lanes adjacent: no bank conflicts).
fn nv(s: u32, j: u32, l: u32) -> u32 {
    return (s * WPT + j) * LANES + l;
}

// Cross-entropy of `label` and whether the argmax (first maximum) is `label`, for weight `j`.
fn score_onchip(j: u32, l: u32, label: u32) -> vec2<f32> {
    var mx = node_values[nv(0u, j, l)];
    var arg = 0u;
    for (var o = 1u; o < params.n_outputs; o++) {
        let v = node_values[nv(o, j, l)];
        arg = select(arg, o, v > mx);
        mx = select(mx, v, v > mx);
    }
    var sum = 0.0f;
    for (var o = 0u; o < params.n_outputs; o++) {
        sum += fexp(node_values[nv(o, j, l)] - mx);
    }
    let ce = mx + log(sum) - node_values[nv(label, j, l)];
    return vec2<f32>(ce, select(0.0f, 1.0f, arg == label));
}

@compute @workgroup_size(LANES)
fn evaluate_onchip(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let tile = params.base_x + wg.x;
    let program = params.base_y + wg.y;
    let h = headers[program];
    for (var w0 = 0u; w0 < params.n_weights; w0 += WPT) {
        var wt: array<f32, MAX_WPT>;
        var ce: array<f32, MAX_WPT>;
        var ok: array<u32, MAX_WPT>;
        for (var j = 0u; j < WPT; j++) {
            wt[j] = weights[min(w0 + j, params.n_weights - 1u)];
        }
        for (var round = 0u; round < TILE / LANES; round++) {
            let pos = tile * TILE + round * LANES + lid;
            for (var k = 0u; k < h.y; k++) {
                let op = ops[h.x + k];
                let act = op.x & 0xffu;
                let slot = op.x >> 8u;
                if act == OP_STORE || act == OP_LOAD {
                    for (var j = 0u; j < WPT; j++) {
                        let w = min(w0 + j, params.n_weights - 1u);
                        let at = (op.y * params.n_weights + w) * params.stride + pos;
                        if act == OP_LOAD {
                            node_values[nv(slot, j, lid)] = rows[at];
                        } else if w0 + j < params.n_weights {
                            rows[at] = node_values[nv(slot, j, lid)];
                        }
                    }
                    continue;
                }
                let start = h.z + op.y;
                // With UNROLL, sources four at a time: the four loads are independent and issued
                // together, then added in edge order (the CPU's order), so the latency of one load
                // hides behind the next three.
                var c = 0.0f;
                var e = 0u;
                for (; UNROLL && e + 4u <= op.z; e += 4u) {
                    let x0 = batch[edges[start + e] * params.stride + pos];
                    let x1 = batch[edges[start + e + 1u] * params.stride + pos];
                    let x2 = batch[edges[start + e + 2u] * params.stride + pos];
                    let x3 = batch[edges[start + e + 3u] * params.stride + pos];
                    c = (((c + x0) + x1) + x2) + x3;
                }
                for (; e < op.z; e++) {
                    c += batch[edges[start + e] * params.stride + pos];
                }
                var acc: array<f32, MAX_WPT>;
                for (var j = 0u; j < WPT; j++) {
                    acc[j] = c;
                }
                let hidden = start + op.z;
                e = 0u;
                for (; UNROLL && e + 4u <= op.w; e += 4u) {
                    let s0 = edges[hidden + e];
                    let s1 = edges[hidden + e + 1u];
                    let s2 = edges[hidden + e + 2u];
                    let s3 = edges[hidden + e + 3u];
                    for (var j = 0u; j < WPT; j++) {
                        let v0 = node_values[nv(s0, j, lid)];
                        let v1 = node_values[nv(s1, j, lid)];
                        let v2 = node_values[nv(s2, j, lid)];
                        let v3 = node_values[nv(s3, j, lid)];
                        acc[j] = (((acc[j] + v0) + v1) + v2) + v3;
                    }
                }
                for (; e < op.w; e++) {
                    let s = edges[hidden + e];
                    for (var j = 0u; j < WPT; j++) {
                        acc[j] += node_values[nv(s, j, lid)];
                    }
                }
                for (var j = 0u; j < WPT; j++) {
                    node_values[nv(slot, j, lid)] = activate(act, clamp_preact(wt[j] * acc[j]));
                }
            }
            if pos < params.n_batch {
                let label = batch_labels[pos];
                for (var j = 0u; j < WPT; j++) {
                    let s = score_onchip(j, lid, label);
                    ce[j] += s.x;
                    ok[j] += u32(s.y);
                }
            }
        }
        for (var j = 0u; j < WPT; j++) {
            if w0 + j < params.n_weights {
                let at = (program * params.n_tiles + tile) * params.n_weights + w0 + j;
                reduce_lanes(lid, LANES, ce[j], ok[j], at);
            }
        }
    }
}
