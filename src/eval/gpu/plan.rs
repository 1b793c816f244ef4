//! Dispatch planning: pure functions over a [`PlanLimits`], so that every way of cutting work to an
//! adapter's limits is tested without a GPU. Limits are respected by splitting, never by truncating.

use crate::error::{Error, Result};
use crate::program::ProgramHeader;

/// Threads per workgroup of the per-example kernels, and examples per tile (`TILE` in the shader).
pub(super) const TILE: usize = 64;
/// Most bytes of scratch (per-thread node values of the fallback kernel) one dispatch may use.
pub(super) const MAX_SCRATCH: u64 = 1 << 30;
/// Largest storage binding, in 4-byte elements: DX12 views address at most 2^27 elements.
pub(super) const MAX_BINDING_ELEMENTS: u64 = 1 << 27;

/// What shapes the work on one adapter (after `GpuOptions` narrowed it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanLimits {
    /// Workgroups per dispatch dimension.
    pub max_dim: usize,
    /// Bytes per storage binding (and per buffer), a multiple of 256.
    pub max_binding: u64,
    /// Largest program (ops) the options allow on the GPU.
    pub max_ops: u64,
    /// Most loop iterations one thread may run, where the driver cuts loops short.
    pub loop_limit: Option<u64>,
}

impl PlanLimits {
    /// From the adapter's limits and the test/tuning overrides of `GpuOptions`.
    pub fn new(
        limits: &wgpu::Limits,
        max_dim: Option<u32>,
        max_binding: Option<u64>,
        max_ops: u32,
        loop_limit: Option<u64>,
    ) -> PlanLimits {
        let adapter_dim = limits.max_compute_workgroups_per_dimension.max(1);
        let adapter_binding =
            limits.max_storage_buffer_binding_size.min(limits.max_buffer_size).min(MAX_BINDING_ELEMENTS * 4)
                & !255;
        PlanLimits {
            max_dim: max_dim.map_or(adapter_dim, |m| m.clamp(1, adapter_dim)) as usize,
            max_binding: max_binding.map_or(adapter_binding, |m| m.min(adapter_binding)),
            max_ops: max_ops as u64,
            loop_limit,
        }
    }

    /// Scratch bytes one dispatch of the fallback kernel may use.
    pub fn scratch_budget(&self) -> u64 {
        self.max_binding.min(MAX_SCRATCH)
    }

    /// Most ops a program may have to run on the GPU.
    pub fn max_program_ops(&self) -> u64 {
        self.max_ops.min(self.scratch_budget() / scratch_per_group(1))
    }
}

/// Bytes of scratch the fallback kernel uses per workgroup for programs of up to `n_ops` ops.
pub fn scratch_per_group(n_ops: usize) -> u64 {
    2 * n_ops as u64 * TILE as u64 * 4
}

/// What one pass needs to know about its examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pass {
    pub n_batch: usize,
    /// Row length of the gathered batch: `n_batch` rounded up to whole tiles.
    pub stride: usize,
}

impl Pass {
    pub fn new(n_batch: usize) -> Pass {
        Pass { n_batch, stride: n_batch.next_multiple_of(TILE) }
    }
    pub fn tiles(&self) -> usize {
        self.stride / TILE
    }
}

/// One dispatch's grid: its first workgroup and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub base_x: u32,
    pub base_y: u32,
    pub x: u32,
    pub y: u32,
}

/// Dispatches covering `nx` x `ny` workgroups, each at most `max_dim` workgroups per dimension and
/// `max_groups` in all. Each dimension is cut into near-equal parts (sizes differ by at most one),
/// so no small tail dispatch waits on its own.
pub fn split(l: &PlanLimits, nx: usize, ny: usize, max_groups: usize) -> Vec<Grid> {
    if nx == 0 || ny == 0 {
        return Vec::new();
    }
    let mx = l.max_dim.min(max_groups.max(1)).min(nx);
    let xs = even_parts(nx, nx.div_ceil(mx));
    let widest = nx.div_ceil(xs.len());
    let my = l.max_dim.min((max_groups / widest).max(1)).min(ny);
    let ys = even_parts(ny, ny.div_ceil(my));
    let mut out = Vec::with_capacity(xs.len() * ys.len());
    for &(y0, y) in &ys {
        for &(x0, x) in &xs {
            out.push(Grid { base_x: x0 as u32, base_y: y0 as u32, x: x as u32, y: y as u32 });
        }
    }
    out
}

/// `n` cut into `parts` consecutive (start, length) pieces whose lengths differ by at most one.
pub fn even_parts(n: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.clamp(1, n.max(1));
    (0..parts)
        .map(|i| {
            let (a, b) = (i * n / parts, (i + 1) * n / parts);
            (a, b - a)
        })
        .filter(|&(_, len)| len > 0)
        .collect()
}

/// Dispatches of the fallback kernel over `tiles` x `programs` workgroups whose largest program has
/// `n_ops` ops (each dispatch's scratch must fit its buffer).
pub fn split_scratch(l: &PlanLimits, tiles: usize, programs: usize, n_ops: usize) -> Vec<Grid> {
    split(l, tiles, programs, (l.scratch_budget() / scratch_per_group(n_ops)) as usize)
}

/// Examples per pass: the batch, the partials of one program and the predictions of one program
/// must each fit a binding.
pub fn pass_examples(
    l: &PlanLimits,
    dim: usize,
    classes: usize,
    n_weights: usize,
    max_examples: Option<usize>,
) -> Result<usize> {
    let b = l.max_binding as usize;
    let n_w = n_weights.max(1);
    let per_example = [(dim + 1) * 4, n_w * 8 / TILE + 1, n_w * 4, n_w * classes.max(1) * 4];
    let mut n = per_example.iter().map(|&bytes| b / bytes).min().unwrap_or(0);
    if let Some(m) = max_examples {
        n = n.min(m);
    }
    let n = n / TILE * TILE;
    if n == 0 {
        return Err(Error::Gpu(format!(
            "{n_weights} weight values do not fit the GPU's buffers ({b} bytes per storage binding); use fewer weight values or evaluate on the CPU"
        )));
    }
    Ok(n)
}

/// Programs `ids` (in that order) in consecutive groups whose buffers each fit a binding.
pub fn group_programs(
    l: &PlanLimits,
    headers: &[ProgramHeader],
    ids: &[usize],
    pass_len: usize,
    n_w: usize,
) -> Vec<Vec<usize>> {
    let b = l.max_binding as usize;
    let per_program_partials = pass_len.div_ceil(TILE) * n_w * 8;
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let (mut ops, mut edges, mut cur) = (0usize, 0usize, Vec::new());
    for &i in ids {
        let h = headers[i];
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

/// `None` when a program of `n_ops` ops and `n_edges` edges runs on the GPU's fallback kernel at
/// `n_weights` weight values, otherwise why not.
pub fn unfit(
    l: &PlanLimits,
    n_ops: usize,
    n_edges: usize,
    n_weights: usize,
    classes: usize,
) -> Option<String> {
    let b = l.max_binding as usize;
    let max_ops = l.max_program_ops();
    if n_ops as u64 > max_ops || n_ops * 16 > b || n_edges * 4 > b {
        return Some(format!(
            "a program with {n_ops} ops and {n_edges} connections is over the GPU limit of {max_ops} ops per program"
        ));
    }
    if let Some(limit) = l.loop_limit {
        // Loop iterations of one thread: the consts, then per weight the ops, their op sources,
        // the three passes over the outputs and the workgroup reduction (edges bound both
        // kinds of sources).
        let per_weight = n_ops + n_edges + 3 * classes + 8;
        let iterations = (n_ops + n_edges + n_weights * per_weight) as u64;
        if iterations > limit {
            return Some(format!(
                "a program with {n_ops} ops and {n_edges} connections at {n_weights} weight values needs about \
                 {iterations} loop iterations per GPU thread, more than the driver allows ({limit})"
            ));
        }
    }
    None
}

/// Most weight values one lane of the on-chip kernel handles (`MAX_WPT` in the shader).
pub const MAX_WEIGHTS_PER_LANE: u32 = 6;

/// One pipeline variant of the on-chip kernel (the shader's override constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Variant {
    /// Threads per workgroup (64 or 32; a 64-example tile takes 64 / lanes rounds).
    pub lanes: u32,
    /// Weight values per lane.
    pub wpt: u32,
    /// Value slots per (example, weight).
    pub slots: u32,
}

impl Variant {
    /// Workgroup memory the variant uses: node values and the reduction's two arrays.
    pub fn workgroup_bytes(&self) -> u64 {
        (self.slots as u64 * self.wpt as u64 + 2) * self.lanes as u64 * 4
    }

    /// Most slots a (lanes, wpt) shape can have within `budget` bytes of workgroup memory.
    fn max_slots(lanes: u32, wpt: u32, budget: u64) -> u64 {
        (budget / (lanes as u64 * 4)).saturating_sub(2) / wpt as u64
    }

    /// Loop iterations one lane runs for a program (ops, const and op sources) at `n_weights`:
    /// loops whose bounds are override constants count too, in case the driver does not unroll them.
    pub fn loop_iterations(
        &self,
        ops: usize,
        const_edges: usize,
        hidden_edges: usize,
        n_weights: usize,
        classes: usize,
    ) -> u64 {
        let wpt = self.wpt as usize;
        let rounds = TILE / self.lanes as usize;
        let per_round =
            ops * (1 + 2 * wpt) + const_edges + hidden_edges * (1 + wpt) + wpt * (2 * classes + 2);
        let per_block = rounds * per_round + wpt * (3 + 8);
        (n_weights.div_ceil(wpt) * (per_block + 1)) as u64
    }
}

/// Slot counts the variants are compiled for: a program takes the smallest bin that holds it, so a
/// few pipelines serve every size and no workgroup reserves more than 1.5x the memory it needs.
fn slot_bin(n_slots: u32) -> u32 {
    let mut bin = 16u32;
    while bin < n_slots {
        // 16, 24, 32, 48, 64, 96, 128, ...
        bin = if bin.is_power_of_two() { bin + bin / 2 } else { bin / 3 * 4 };
    }
    bin
}

/// The on-chip variant for a program needing `n_slots` value slots at `n_weights` weight values
/// within `workgroup_budget` bytes of workgroup memory (`maxComputeWorkgroupStorageSize`), or `None`
/// when none fits (the fallback kernel runs it). Most weights per lane first (the ops, edges and
/// pixel sums are decoded and loaded once for all of them), then 64 lanes before 32.
pub fn onchip_variant(n_slots: u32, n_weights: usize, workgroup_budget: u64) -> Option<Variant> {
    let most = (n_weights.max(1) as u32).min(MAX_WEIGHTS_PER_LANE);
    let mut wpts: Vec<u32> = [most, 3, 2, 1].into_iter().filter(|&w| w <= most).collect();
    wpts.dedup();
    let mut shapes = wpts.into_iter().flat_map(|w| [(64, w), (32, w)]);
    shapes.find_map(|(lanes, wpt)| {
        let max = Variant::max_slots(lanes, wpt, workgroup_budget);
        (n_slots.max(1) as u64 <= max).then(|| Variant {
            lanes,
            wpt,
            slots: (slot_bin(n_slots) as u64).min(max) as u32,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_dim: usize, max_binding: u64) -> PlanLimits {
        PlanLimits { max_dim, max_binding, max_ops: u32::MAX as u64, loop_limit: None }
    }

    /// Every workgroup of the grid exactly once, no dispatch over the limits.
    fn assert_covers(grids: &[Grid], nx: usize, ny: usize, max_dim: usize, max_groups: usize) {
        let mut seen = vec![0u32; nx * ny];
        for g in grids {
            assert!(g.x as usize <= max_dim && g.y as usize <= max_dim, "{g:?}");
            assert!((g.x * g.y) as usize <= max_groups.max(1), "{g:?}");
            for y in g.base_y..g.base_y + g.y {
                for x in g.base_x..g.base_x + g.x {
                    seen[y as usize * nx + x as usize] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "grid {nx} x {ny} not covered exactly once");
    }

    #[test]
    fn splits_cover_the_grid_within_the_limits() {
        for (nx, ny, max_dim, max_groups) in [
            (1, 1, 65535, usize::MAX),
            (16, 960, 65535, 300),
            (5, 7, 2, usize::MAX),
            (100, 3, 7, 20),
            (3, 100, 4, 5),
        ] {
            let grids = split(&limits(max_dim, 1 << 20), nx, ny, max_groups);
            assert_covers(&grids, nx, ny, max_dim, max_groups);
        }
    }

    #[test]
    fn splits_are_even_without_a_small_tail() {
        // 960 programs at 300 workgroups per dispatch: four dispatches of 240, not 300/300/300/60.
        let grids = split(&limits(65535, 1 << 20), 1, 960, 300);
        assert_eq!(grids.iter().map(|g| g.y).collect::<Vec<_>>(), vec![240; 4]);
        for (n, parts) in [(10, 3), (7, 7), (5, 9), (1000, 16)] {
            let p = even_parts(n, parts);
            assert_eq!(p.iter().map(|x| x.1).sum::<usize>(), n);
            let (lo, hi) = (p.iter().map(|x| x.1).min().unwrap(), p.iter().map(|x| x.1).max().unwrap());
            assert!(hi - lo <= 1, "{n} in {parts}: {p:?}");
        }
        assert!(split(&limits(65535, 1 << 20), 0, 5, 10).is_empty());
    }

    #[test]
    fn onchip_variants_fit_the_workgroup_memory_and_prefer_more_weights_per_lane() {
        for budget in [16_384u64, 32_768, 49_152, 65_536] {
            for n_slots in [1u32, 11, 20, 33, 100, 180, 239, 400, 1000] {
                for n_w in [1usize, 2, 6, 40] {
                    match onchip_variant(n_slots, n_w, budget) {
                        Some(v) => {
                            assert!(v.slots >= n_slots && v.workgroup_bytes() <= budget, "{v:?} {budget}");
                            assert!(v.wpt as usize <= n_w.min(6) && (v.lanes == 64 || v.lanes == 32));
                            assert!(v.slots <= n_slots.max(16) * 3 / 2, "{v:?}: bin too wide for {n_slots}");
                        }
                        // Too big for 32 lanes at one weight each: only then the fallback kernel.
                        None => {
                            assert!((n_slots as u64 + 2) * 32 * 4 > budget, "{n_slots} slots in {budget}")
                        }
                    }
                }
            }
        }
        // Start-sized programs (about 20 slots) take all six weights in 48 KB (NVIDIA under Vulkan);
        // champion-sized ones (about 240) take 32 lanes there, and the fallback under 32 KB (Apple).
        assert_eq!(onchip_variant(20, 6, 49_152).map(|v| (v.lanes, v.wpt)), Some((64, 6)));
        assert_eq!(onchip_variant(239, 6, 49_152).map(|v| (v.lanes, v.wpt)), Some((32, 1)));
        assert_eq!(onchip_variant(239, 6, 32_768).map(|v| (v.lanes, v.wpt)), Some((32, 1)));
        // Mid-sized ones (about 100) take two weights per lane at 32 lanes rather than one at 64.
        assert_eq!(onchip_variant(100, 6, 32_768).map(|v| (v.lanes, v.wpt)), Some((32, 2)));
        assert_eq!(onchip_variant(300, 6, 32_768), None);
    }

    #[test]
    fn scratch_splits_keep_each_dispatch_within_the_scratch_budget() {
        let l = limits(65535, 1 << 24);
        let grids = split_scratch(&l, 16, 960, 400);
        let per = scratch_per_group(400);
        assert!(grids.iter().all(|g| g.x as u64 * g.y as u64 * per <= l.scratch_budget()));
        assert_covers(&grids, 16, 960, 65535, (l.scratch_budget() / per) as usize);
    }

    #[test]
    fn dx12_binding_cap_and_options_narrow_the_adapter() {
        let adapter = wgpu::Limits {
            max_storage_buffer_binding_size: u64::MAX / 2,
            max_buffer_size: u64::MAX / 2,
            ..wgpu::Limits::default()
        };
        let l = PlanLimits::new(&adapter, None, None, 100, None);
        assert_eq!(l.max_binding, MAX_BINDING_ELEMENTS * 4);
        let l = PlanLimits::new(&adapter, Some(3), Some(140_000), 100, None);
        assert_eq!((l.max_dim, l.max_binding), (3, 140_000));
        assert_eq!(l.max_program_ops(), 100);
    }

    #[test]
    fn passes_fit_a_binding_and_refuse_clearly() {
        let l = limits(65535, 1 << 20);
        let n = pass_examples(&l, 256, 10, 6, None).unwrap();
        assert!(n.is_multiple_of(TILE) && n > 0 && (257 * 4 * n) as u64 <= l.max_binding);
        assert_eq!(pass_examples(&l, 256, 10, 6, Some(130)).unwrap(), 128);
        let err = pass_examples(&limits(65535, 4096), 256, 10, 6, None).unwrap_err();
        assert!(err.to_string().contains("on the CPU"), "{err}");
    }

    #[test]
    fn program_groups_fit_a_binding_and_keep_the_order() {
        let headers: Vec<ProgramHeader> = (0..50)
            .map(|i| ProgramHeader { op_start: 0, n_ops: 10 + i, edge_start: 0, n_edges: 100 + 20 * i })
            .collect();
        let ids: Vec<usize> = (0..50).rev().collect();
        let l = limits(65535, 4096);
        let groups = group_programs(&l, &headers, &ids, 128, 6);
        assert!(groups.len() > 1);
        assert_eq!(groups.concat(), ids);
        for g in &groups {
            let edges: u32 = g.iter().map(|&i| headers[i].n_edges).sum();
            assert!(g.len() == 1 || edges as u64 * 4 <= l.max_binding);
        }
    }

    #[test]
    fn unfit_programs_say_why() {
        let mut l = limits(65535, 1 << 24);
        assert!(unfit(&l, 400, 1800, 6, 10).is_none());
        l.loop_limit = Some(60_000);
        assert!(unfit(&l, 4000, 18000, 6, 10).unwrap().contains("loop iterations"));
        l.max_ops = 48;
        assert!(unfit(&l, 49, 100, 1, 10).unwrap().contains("48 ops"));
    }
}
