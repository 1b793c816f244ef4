//! What runs where in one `evaluate`: each program's job (an on-chip variant with the program
//! re-encoded for it, or the scratch kernel), and the plan that runs children as deltas of their
//! parents (see [`super::deltas`]). Pure CPU work over plain data, shared across threads.

use super::deltas::{place_rows, stored_ops, DeltaProgram};
use super::pack::{onchip_program, OnChip, RowIo};
use super::plan::{self, PlanLimits, Variant};
use crate::error::Result;
use crate::eval::family::{Family, FamilyPlan};
use crate::program::{Op, ProgramHeader, Programs};
use rayon::prelude::*;

/// How one program runs on the GPU.
pub(super) enum Run {
    /// On an on-chip variant, re-encoded for it.
    OnChip(Variant, OnChip),
    /// On the scratch kernel, as compiled.
    Scratch,
}

/// One program's work in an `evaluate`: whose results it gives, when it runs and how. Jobs run
/// in (chunk, delta) order: the parents of chunk 0 of families (with every program run in full),
/// then its children run as deltas, which read their parents' rows; then chunk 1's parents, which
/// overwrite those rows, and its children; and so on.
pub(super) struct Job {
    pub program: usize,
    pub chunk: u32,
    pub delta: bool,
    pub run: Run,
}

impl Job {
    pub fn variant(&self) -> Option<Variant> {
        match &self.run {
            Run::OnChip(v, _) => Some(*v),
            Run::Scratch => None,
        }
    }

    /// The ops and edges uploaded for it.
    pub fn code<'a>(&'a self, programs: &'a Programs) -> (&'a [Op], &'a [u32]) {
        match &self.run {
            Run::OnChip(_, p) => (&p.ops, &p.edges),
            Run::Scratch => (programs.ops_of(self.program), programs.edges_of(self.program)),
        }
    }

    /// Its size, for grouping programs into buffers.
    pub fn header(&self, programs: &Programs) -> ProgramHeader {
        let (ops, edges) = self.code(programs);
        ProgramHeader { op_start: 0, n_ops: ops.len() as u32, edge_start: 0, n_edges: edges.len() as u32 }
    }
}

/// What [`FitContext::plan_deltas`] decided: the jobs of parents (with their stores) and of the
/// children run as deltas, the children that are copies of their parents, the rows of the family
/// value table and the chunks of families that take turns in it.
#[derive(Default)]
pub(super) struct DeltaPlan {
    pub jobs: Vec<Job>,
    /// (child, parent).
    pub copies: Vec<(usize, usize)>,
    pub n_rows: u32,
    pub chunks: usize,
}

/// What [`FitContext::fit`] needs from the evaluator.
#[derive(Clone, Copy)]
pub(super) struct FitContext {
    /// Whether the on-chip kernel is on (`GpuOptions::onchip`).
    pub enabled: bool,
    pub plan: PlanLimits,
    /// Bytes the family value table may take.
    pub table_budget: u64,
    /// Workgroup memory an on-chip variant may use.
    pub workgroup_budget: u64,
    pub dim: u32,
    pub classes: usize,
}

impl FitContext {
    /// Program `i` re-encoded for the on-chip kernel and the variant that runs it, or `None` when
    /// no variant fits (then the scratch kernel or the CPU runs it). A malformed program is an error.
    pub fn fit(&self, programs: &Programs, i: usize, n_w: usize) -> Result<Option<(Variant, OnChip)>> {
        let (ops, edges) = (programs.ops_of(i), programs.edges_of(i));
        self.fit_code(ops, edges, programs.n_outputs, &RowIo::default(), n_w)
    }

    /// [`FitContext::fit`] for a program with loads and stores of the family value table.
    pub fn fit_code(
        &self,
        ops: &[Op],
        edges: &[u32],
        n_outputs: u32,
        io: &RowIo,
        n_w: usize,
    ) -> Result<Option<(Variant, OnChip)>> {
        let b = self.plan.max_binding as usize;
        let n_ops = ops.len() + io.stores.len();
        if !self.enabled || n_ops as u64 > self.plan.max_ops || n_ops * 16 > b || edges.len() * 4 > b {
            return Ok(None);
        }
        let p = onchip_program(ops, edges, self.dim, n_outputs, io)?;
        let Some(v) = plan::onchip_variant(p.n_slots, n_w, self.workgroup_budget) else { return Ok(None) };
        if let Some(limit) = self.plan.loop_limit {
            let const_edges: usize = ops.iter().map(|o| o.n_const as usize).sum();
            let hidden = edges.len() - const_edges;
            if v.loop_iterations(p.ops.len(), const_edges, hidden, n_w, self.classes) > limit {
                return Ok(None);
            }
        }
        Ok(Some((v, p)))
    }

    /// Which children run as deltas on the GPU, and in which chunk of families. A family's parent
    /// runs with its stores and each child with its cone where they fit on-chip variants (a child
    /// whose cone does not fit runs in full; so do all children of a parent that does not fit).
    /// Families are then cut, in order, into chunks whose rows fit the table for passes of
    /// `stride` examples; each chunk runs its parents, then its children, reusing the table. A
    /// family whose rows alone do not fit has its children run in full. Children identical to
    /// their parents are copies in every family.
    pub fn plan_deltas(
        &self,
        programs: &Programs,
        families: &[Family],
        n_w: usize,
        stride: usize,
    ) -> Result<DeltaPlan> {
        let first_op_slot = 1 + programs.n_inputs;
        let plans = FamilyPlan::all(programs, families);
        let mut out = DeltaPlan::default();
        for (f, p) in families.iter().zip(&plans) {
            out.copies.extend(p.copies.iter().map(|&c| (c, f.parent)));
        }
        if !self.enabled {
            return Ok(out);
        }
        // Every stage on all cores, child by child where it can (one family may have many).
        let pairs: Vec<(usize, usize)> =
            plans.iter().enumerate().flat_map(|(f, p)| (0..p.deltas.len()).map(move |k| (f, k))).collect();
        let cones: Vec<DeltaProgram> = pairs
            .par_iter()
            .map(|&(f, k)| DeltaProgram::new(&plans[f].deltas[k], first_op_slot))
            .collect::<Result<_>>()?;
        let mut first_cone = vec![0; families.len() + 1];
        for (f, p) in plans.iter().enumerate() {
            first_cone[f + 1] = first_cone[f] + p.deltas.len();
        }
        let cones_of = |f: usize| &cones[first_cone[f]..first_cone[f + 1]];
        // Per family, the parent ops its children read (rows counted from 0 in the family), and
        // the parent with its stores where it fits an on-chip variant.
        let stored: Vec<Vec<u32>> =
            (0..families.len()).into_par_iter().map(|f| stored_ops(cones_of(f))).collect();
        let row_of = |f: usize, op: u32| stored[f].partition_point(|&s| s < op) as u32;
        let n_out = programs.n_outputs;
        let parents: Vec<Option<(Variant, OnChip)>> = (0..families.len())
            .into_par_iter()
            .map(|f| {
                if cones_of(f).is_empty() {
                    return Ok(None);
                }
                let stores = stored[f].iter().map(|&op| (op, row_of(f, op))).collect();
                let io = RowIo { loads: Vec::new(), stores, n_rows: stored[f].len() as u32 };
                let parent = families[f].parent;
                self.fit_code(programs.ops_of(parent), programs.edges_of(parent), n_out, &io, n_w)
            })
            .collect::<Result<_>>()?;
        let children: Vec<Option<(Variant, OnChip)>> = pairs
            .par_iter()
            .zip(&cones)
            .map(|(&(f, _), cone)| {
                if parents[f].is_none() {
                    return Ok(None);
                }
                let io = cone.row_io(|op| row_of(f, op), stored[f].len() as u32);
                self.fit_code(&cone.ops, &cone.edges, n_out, &io, n_w)
            })
            .collect::<Result<_>>()?;
        // Per family with a child that runs as a delta: its jobs and its rows.
        let mut children = children.into_iter();
        let fitted: Vec<Option<(Vec<Job>, u32)>> = parents
            .into_iter()
            .enumerate()
            .map(|(f, parent)| {
                let fits: Vec<_> = children.by_ref().take(plans[f].deltas.len()).collect();
                let (v, p) = parent?;
                let mut jobs =
                    vec![Job { program: families[f].parent, chunk: 0, delta: false, run: Run::OnChip(v, p) }];
                for (&child, fit) in plans[f].computed.iter().zip(fits) {
                    if let Some((v, p)) = fit {
                        jobs.push(Job { program: child, chunk: 0, delta: true, run: Run::OnChip(v, p) });
                    }
                }
                (jobs.len() > 1).then_some((jobs, stored[f].len() as u32))
            })
            .collect();
        let max_rows = self.table_budget / (n_w as u64 * 4 * stride as u64).max(1);
        let rows: Vec<Option<usize>> = fitted.iter().map(|f| f.as_ref().map(|x| x.1 as usize)).collect();
        let (places, n_rows) = place_rows(&rows, max_rows as usize);
        for (family, place) in fitted.into_iter().zip(places) {
            let (Some((jobs, _)), Some((chunk, first_row))) = (family, place) else { continue };
            for mut job in jobs {
                job.chunk = chunk;
                if let Run::OnChip(_, p) = &mut job.run {
                    p.shift_rows(first_row);
                }
                out.chunks = out.chunks.max(chunk as usize + 1);
                out.jobs.push(job);
            }
        }
        out.n_rows = n_rows;
        Ok(out)
    }
}
