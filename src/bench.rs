//! `wann bench`: a fixed, seeded workload on each backend, with warm-up, repetitions, median and
//! spread. Throughput is counted in three units: a genome evaluation is one program at one
//! weight value over the minibatch, an image evaluation one image through one program at one weight,
//! an edge-evaluation one enabled connection x one image x one weight value.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::{Evaluator, TimeSplit};
use crate::evolve::config::SearchConfig;
use crate::evolve::mutation::Counters;
use crate::evolve::search::{Search, SearchState};
use crate::evolve::task::Classification;
use crate::genome::Genome;
use crate::program::delta::Delta;
use crate::program::{compile, Program, Programs};
use crate::workload::grown_network;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// A network size to benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct Size {
    pub name: String,
    /// Target enabled connections and hidden nodes (0 and 0: the search's initial population).
    pub connections: usize,
    pub hidden: usize,
}

impl Size {
    /// From the search's start (~130 connections) to the paper's champion (~1850, ~400 hidden).
    pub fn standard() -> Vec<Size> {
        vec![
            Size { name: "start".into(), connections: 0, hidden: 0 },
            Size { name: "mid".into(), connections: 800, hidden: 150 },
            Size { name: "champion".into(), connections: 1850, hidden: 400 },
        ]
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchConfig {
    pub population: usize,
    pub weights: Vec<f32>,
    pub minibatch: usize,
    /// Images of the test-set workload (one champion-sized program at every weight).
    pub test_images: usize,
    pub repetitions: usize,
    pub warmup: usize,
    pub seed: u64,
    /// Distinct networks grown per size; the population cycles through them.
    pub distinct: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            population: 960,
            weights: crate::eval::TRAINING_WEIGHTS.to_vec(),
            minibatch: 1000,
            test_images: 10_000,
            repetitions: 5,
            warmup: 1,
            seed: 0,
            distinct: 16,
        }
    }
}

impl BenchConfig {
    /// Refuses workloads that would measure nothing (a zero count gives no throughput) or that the
    /// data set of `examples` images cannot fill.
    pub fn validate(&self, examples: usize) -> Result<()> {
        let max = crate::evolve::config::MAX_POPULATION;
        if !(1..=max).contains(&self.population) {
            return Err(Error::Invalid(format!(
                "the population must be from 1 to {max} (is {})",
                self.population
            )));
        }
        for (name, n) in [("minibatch", self.minibatch), ("test images", self.test_images)] {
            if n == 0 || n > examples {
                return Err(Error::Invalid(format!(
                    "{name} must be from 1 to the {examples} images of the data set (is {n})"
                )));
            }
        }
        if self.repetitions == 0 || self.weights.is_empty() || self.distinct == 0 {
            return Err(Error::Invalid(
                "repetitions, weights and distinct networks must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// One workload: packed programs over a set of images.
pub struct Workload {
    pub name: String,
    pub programs: Programs,
    pub mean_connections: f64,
    pub mean_hidden: f64,
    pub images: Vec<u32>,
    /// For a generation bred by the search: each program's parent among them, evaluated as deltas
    /// where the evaluator can (none: everything in full).
    pub parents: Option<Vec<Option<usize>>>,
}

impl Workload {
    /// Effective edge-evaluations of one evaluation at `weights` values: every enabled connection x
    /// image x weight whose result the evaluation delivers.
    pub fn edge_evaluations(&self, weights: usize) -> u64 {
        self.programs.total_enabled_connections() * weights as u64 * self.images.len() as u64
    }

    /// Edge-evaluations actually computed at `weights` values: the compiled edges of every program
    /// evaluated in full (pruned connections are not run) and only the cone's edges of each child
    /// that `deltas` (as [`Evaluator::last_deltas`] reports them; empty: none) marks.
    pub fn computed_edge_evaluations(&self, weights: usize, deltas: &[bool]) -> u64 {
        let n_out = self.programs.n_outputs as usize;
        let as_delta = |i: usize| deltas.get(i).copied().unwrap_or(false);
        let edges: u64 = (0..self.programs.len())
            .map(|i| match self.parents.as_ref().and_then(|p| p[i]).filter(|_| as_delta(i)) {
                Some(p) => Delta::plan(self.programs.view(p), self.programs.view(i), n_out).edge_count(),
                None => self.programs.edges_of(i).len() as u64,
            })
            .sum();
        edges * weights as u64 * self.images.len() as u64
    }
}

/// Breeding generations from the grown population before the one that is measured.
const BRED_GENERATIONS: u64 = 3;
/// Images each breeding generation is ranked on (only selection depends on it).
const BREEDING_MINIBATCH: usize = 64;

/// A generation as the search makes it: a population of `size` networks is ranked and bred by the
/// search's own selection and mutation for a few generations (ranked on a small minibatch), and
/// the next generation's elites and children, with each child's parent, are the workload.
fn bred_generation(size: &Size, cfg: &BenchConfig, data: &Dataset) -> Result<(Programs, Vec<Option<usize>>)> {
    let (n_in, n_out) = (data.dim as u32, data.classes as u32);
    let config = SearchConfig {
        population: cfg.population,
        weights: cfg.weights.clone(),
        minibatch: BREEDING_MINIBATCH,
        seed: cfg.seed,
        ..Default::default()
    };
    let mut search = if size.connections == 0 {
        Search::new(config, n_in, n_out)?
    } else {
        let distinct: Vec<Genome> = (0..cfg.distinct.max(1) as u64)
            .map(|k| grown_network(cfg.seed + k, n_in, n_out, size.connections, size.hidden))
            .collect();
        let population: Vec<Genome> =
            (0..cfg.population).map(|i| distinct[i % distinct.len()].clone()).collect();
        config.validate()?;
        Search::resume(SearchState {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            counters: Counters::after(&population),
            config,
            generation: 0,
            population,
            champion: None,
        })
    };
    let data = Arc::new(data.clone());
    let evaluator = Box::new(crate::eval::cpu::CpuEvaluator::new(data.clone()));
    let mut task = Classification::new(evaluator, data, BREEDING_MINIBATCH, cfg.seed);
    for _ in 0..BRED_GENERATIONS {
        search.step(&mut task)?;
    }
    search.next_generation()
}

fn population_of(
    size: &Size,
    cfg: &BenchConfig,
    n: usize,
    n_inputs: u32,
    n_outputs: u32,
) -> Result<Vec<Program>> {
    let distinct: Vec<Program> = if size.connections == 0 {
        let c = SearchConfig { population: cfg.distinct.max(2), seed: cfg.seed, ..Default::default() };
        Search::new(c, n_inputs, n_outputs)?.state.population.iter().map(compile).collect::<Result<_>>()?
    } else {
        (0..cfg.distinct.max(1) as u64)
            .map(|k| {
                compile(&grown_network(cfg.seed + k, n_inputs, n_outputs, size.connections, size.hidden))
            })
            .collect::<Result<_>>()?
    };
    Ok((0..n).map(|i| distinct[i % distinct.len()].clone()).collect())
}

/// The generation workloads (one per size: `population` programs on a `minibatch`-image batch) and the
/// test-set workload (one champion-sized program on `test_images` images).
pub fn workloads(cfg: &BenchConfig, sizes: &[Size], data: &Dataset) -> Result<Vec<Workload>> {
    cfg.validate(data.len())?;
    let (n_in, n_out) = (data.dim as u32, data.classes as u32);
    let batch = crate::data::minibatch::draw(cfg.seed, 0, data.len(), cfg.minibatch);
    let mut out = Vec::new();
    let mut make = |name: String, progs: Vec<Program>, images: Vec<u32>| {
        let n = progs.len() as f64;
        out.push(Workload {
            name,
            mean_connections: progs.iter().map(|p| p.enabled_connections as f64).sum::<f64>() / n,
            mean_hidden: progs.iter().map(|p| p.ops.len() as f64 - n_out as f64).sum::<f64>() / n,
            programs: Programs::pack(&progs),
            images,
            parents: None,
        })
    };
    for size in sizes {
        let progs = population_of(size, cfg, cfg.population, n_in, n_out)?;
        make(
            format!("{} x{} x{}w x{}", size.name, cfg.population, cfg.weights.len(), batch.len()),
            progs,
            batch.clone(),
        );
    }
    if let Some(big) = sizes.iter().rev().find(|s| s.connections > 0) {
        let progs = population_of(big, cfg, 1, n_in, n_out)?;
        let images = (0..cfg.test_images.min(data.len()) as u32).collect::<Vec<_>>();
        make(format!("test set: {} x1 x{}w x{}", big.name, cfg.weights.len(), images.len()), progs, images);
    }
    Ok(out)
}

/// The bred-generation workloads, one per size: `population` elites and children on a
/// `minibatch`-image batch, with each child's parent (see [`measure`] for deltas on and off).
pub fn generation_workloads(cfg: &BenchConfig, sizes: &[Size], data: &Dataset) -> Result<Vec<Workload>> {
    let batch = crate::data::minibatch::draw(cfg.seed, 0, data.len(), cfg.minibatch);
    sizes
        .iter()
        .map(|size| {
            let (programs, parents) = bred_generation(size, cfg, data)?;
            let n = programs.len() as f64;
            let ops: usize = (0..programs.len()).map(|i| programs.ops_of(i).len()).sum();
            Ok(Workload {
                name: format!(
                    "bred {} x{} x{}w x{}",
                    size.name,
                    programs.len(),
                    cfg.weights.len(),
                    batch.len()
                ),
                mean_connections: programs.total_enabled_connections() as f64 / n,
                mean_hidden: ops as f64 / n - data.classes as f64,
                programs,
                images: batch.clone(),
                parents: Some(parents),
            })
        })
        .collect()
}

/// Median, minimum and maximum of repeated timings, in seconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(samples: &[f64]) -> Spread {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 };
        Spread { median, min: s[0], max: s[n - 1] }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    pub backend: String,
    pub workload: String,
    pub mean_connections: f64,
    pub mean_hidden: f64,
    pub seconds: Spread,
    pub genome_evaluations_per_second: f64,
    pub image_evaluations_per_second: f64,
    pub edge_evaluations_per_second: f64,
    /// Median upload/compute/readback split, where the evaluator reports one.
    pub split: Option<TimeSplit>,
    /// Median seconds per GPU kernel, where the evaluator measures them (GPU timestamps).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub kernel_seconds: std::collections::BTreeMap<String, f64>,
    /// Whether children were handed to the evaluator as deltas of their parents.
    pub deltas: bool,
    /// How the evaluator ran the last run, where it tells (see [`Evaluator::work_counts`]).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub work_counts: std::collections::BTreeMap<String, usize>,
    /// Effective edge-evaluations per run: enabled connections x images x weights delivered.
    pub edge_evaluations: u64,
    /// Edge-evaluations actually computed per run (see [`Workload::computed_edge_evaluations`]).
    pub computed_edge_evaluations: u64,
}

/// Runs one workload on one evaluator: `warmup` untimed runs, then `repetitions` timed ones. With
/// `deltas`, a bred generation's children go to the evaluator with their parents.
pub fn measure(
    evaluator: &mut dyn Evaluator,
    backend: &str,
    w: &Workload,
    weights: &[f32],
    warmup: usize,
    repetitions: usize,
    deltas: bool,
) -> Result<Measurement> {
    let parents = w.parents.as_ref().filter(|_| deltas);
    let run = |evaluator: &mut dyn Evaluator| match parents {
        Some(p) => evaluator.evaluate_with_parents(&w.programs, p, weights, &w.images),
        None => evaluator.evaluate(&w.programs, weights, &w.images),
    };
    for _ in 0..warmup {
        run(evaluator)?;
    }
    let mut times = Vec::with_capacity(repetitions);
    let mut splits = Vec::new();
    let mut kernels: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for _ in 0..repetitions.max(1) {
        let t = Instant::now();
        run(evaluator)?;
        times.push(t.elapsed().as_secs_f64());
        splits.extend(evaluator.last_split());
        for (k, v) in evaluator.kernel_seconds() {
            kernels.entry(k).or_default().push(v);
        }
    }
    let kernel_seconds = kernels.into_iter().map(|(k, v)| (k, Spread::of(&v).median)).collect();
    let seconds = Spread::of(&times);
    let genome_evals = (w.programs.len() * weights.len()) as f64;
    let split = (!splits.is_empty()).then(|| TimeSplit {
        upload: Spread::of(&splits.iter().map(|s| s.upload).collect::<Vec<_>>()).median,
        compute: Spread::of(&splits.iter().map(|s| s.compute).collect::<Vec<_>>()).median,
        readback: Spread::of(&splits.iter().map(|s| s.readback).collect::<Vec<_>>()).median,
    });
    Ok(Measurement {
        backend: backend.into(),
        workload: w.name.clone(),
        mean_connections: w.mean_connections,
        mean_hidden: w.mean_hidden,
        seconds,
        genome_evaluations_per_second: genome_evals / seconds.median,
        image_evaluations_per_second: genome_evals * w.images.len() as f64 / seconds.median,
        edge_evaluations_per_second: w.edge_evaluations(weights.len()) as f64 / seconds.median,
        split,
        kernel_seconds,
        deltas: parents.is_some(),
        work_counts: evaluator.work_counts().into_iter().collect(),
        edge_evaluations: w.edge_evaluations(weights.len()),
        computed_edge_evaluations: w.computed_edge_evaluations(weights.len(), &evaluator.last_deltas()),
    })
}

/// The processor, for the record (Linux: /proc/cpuinfo).
pub fn cpu_name() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model} ({threads} threads)")
}
