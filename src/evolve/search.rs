//! The search loop (METHOD.md): evaluate everyone at every weight on the generation's minibatch,
//! track the champion, rank with NSGA-II (objective pair switched at random), then cull, keep elites
//! and breed mutated children by tournament. Every genome carries the config's semantics.

use super::config::SearchConfig;
use super::mutation::{self, Counters};
use super::nsga;
use super::task::{Sample, Task};
use crate::error::{Error, Result};
use crate::genome::Genome;
use crate::program::{compile_valid, Program, Programs};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// The best network found so far, by mean fitness re-checked on the task's check sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Champion {
    pub genome: Genome,
    /// Mean fitness over the weights on the check sample (what later candidates must beat).
    pub fitness: f64,
    pub generation: u64,
}

/// Everything needed to continue a search exactly: written as the checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchState {
    pub config: SearchConfig,
    /// Generations completed; `population` is the one to evaluate next.
    pub generation: u64,
    pub population: Vec<Genome>,
    pub rng: ChaCha8Rng,
    pub counters: Counters,
    pub champion: Option<Champion>,
}

/// Which objective pair ranked a generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Objectives {
    MeanAndConnections,
    MeanAndMax,
}

impl Objectives {
    pub fn label(self) -> &'static str {
        match self {
            Objectives::MeanAndConnections => "mean+conns",
            Objectives::MeanAndMax => "mean+max",
        }
    }
}

/// What one generation did, for logs and progress.
#[derive(Clone, Debug, Serialize)]
pub struct GenerationStats {
    pub generation: u64,
    pub best_mean: f64,
    pub median_mean: f64,
    pub best_max: f64,
    pub champion_fitness: f64,
    pub champion_connections: usize,
    pub champion_nodes: usize,
    pub median_connections: usize,
    pub median_nodes: usize,
    pub new_champion: bool,
    /// Seconds spent re-checking a candidate champion (0 when the generation had none).
    pub champion_check_seconds: f64,
    pub objectives: Objectives,
    /// Seconds spent compiling new genomes.
    pub compile_seconds: f64,
    /// Seconds spent evaluating the generation (the task's evaluator; the champion check apart).
    pub eval_seconds: f64,
    /// Seconds spent ranking, selecting and mutating.
    pub evolve_seconds: f64,
    /// Enabled connections x examples x weight values evaluated.
    pub edge_evaluations: u64,
}

/// A running search: the state plus compiled programs (not saved; rebuilt on resume).
pub struct Search {
    pub state: SearchState,
    programs: Vec<Option<Arc<Program>>>,
    /// Per individual, the elite of the same generation it was bred from (none after a resume).
    parents: Vec<Option<usize>>,
}

impl Search {
    /// Generation zero: minimal networks, every bias/input -> output gene present, each enabled with
    /// probability `init_enable`; innovation numbers shared by the whole population.
    pub fn new(config: SearchConfig, n_inputs: u32, n_outputs: u32) -> Result<Search> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let population: Vec<Genome> = (0..config.population)
            .map(|_| {
                Genome::initial(n_inputs, n_outputs, config.init_enable, &mut rng)
                    .with_semantics(config.semantics)
            })
            .collect();
        let counters = Counters::after(&population);
        let state = SearchState { config, generation: 0, population, rng, counters, champion: None };
        Ok(Search::resume(state))
    }

    /// Continues from a saved state.
    pub fn resume(state: SearchState) -> Search {
        let programs = vec![None; state.population.len()];
        let parents = vec![None; state.population.len()];
        Search { state, programs, parents }
    }

    pub fn is_done(&self) -> bool {
        self.state.generation >= self.state.config.generations
    }

    /// Compiles every genome that has no program yet, in parallel.
    fn compile_missing(&mut self) -> Result<()> {
        let pop = &self.state.population;
        let fresh: Vec<(usize, Result<Program>)> = self
            .programs
            .par_iter()
            .enumerate()
            .filter(|(_, p)| p.is_none())
            .map(|(i, _)| (i, compile_valid(&pop[i])))
            .collect();
        for (i, p) in fresh {
            self.programs[i] = Some(Arc::new(p?));
        }
        Ok(())
    }

    /// The programs `step` evaluates next, packed, and each one's parent among them (see
    /// [`Task::fitness_with_parents`]): for tests and benchmarks of the generation workload.
    pub fn next_generation(&mut self) -> Result<(Programs, Vec<Option<usize>>)> {
        self.compile_missing()?;
        let packed = Programs::pack(self.programs.iter().map(|p| p.as_deref().expect("compiled above")));
        Ok((packed, self.parents.clone()))
    }

    /// Runs one generation.
    pub fn step(&mut self, task: &mut dyn Task) -> Result<GenerationStats> {
        if task.n_inputs() != self.state.population[0].n_inputs
            || task.n_outputs() != self.state.population[0].n_outputs
        {
            return Err(Error::Invalid(format!(
                "the population's networks have {} inputs and {} outputs, the task {} and {}",
                self.state.population[0].n_inputs,
                self.state.population[0].n_outputs,
                task.n_inputs(),
                task.n_outputs()
            )));
        }
        let t0 = Instant::now();
        self.compile_missing()?;
        let compile_seconds = t0.elapsed().as_secs_f64();

        let t1 = Instant::now();
        let g = self.state.generation;
        let cfg = self.state.config.clone();
        let n_w = cfg.weights.len();
        let programs: Vec<&Program> =
            self.programs.iter().map(|p| p.as_deref().expect("compiled above")).collect();
        let packed = Programs::pack(programs.iter().copied());
        let fit = if cfg.delta {
            task.fitness_with_parents(&packed, &self.parents, &cfg.weights, Sample::Generation(g))?
        } else {
            task.fitness(&packed, &cfg.weights, Sample::Generation(g))?
        };
        let mean: Vec<f64> = fit.chunks(n_w).map(|f| f.iter().sum::<f64>() / n_w as f64).collect();
        let max: Vec<f64> =
            fit.chunks(n_w).map(|f| f.iter().copied().fold(f64::NEG_INFINITY, f64::max)).collect();
        let conns: Vec<usize> = self.state.population.iter().map(Genome::expressed_connections).collect();
        let edge_evaluations = packed.total_enabled_connections() * n_w as u64 * task.cases_per_evaluation();

        // Champion: the generation's best by mean fitness is a candidate when it beats the champion
        // on the minibatch; it replaces the champion only if it also beats it on the task's check
        // sample (a guard against lucky minibatches, sturdier than the reference's).
        let best = (0..mean.len())
            .max_by(|&a, &b| mean[a].total_cmp(&mean[b]).then(b.cmp(&a)))
            .expect("population is not empty");
        let mut new_champion = false;
        let mut champion_check_seconds = 0.0;
        let beats = |c: &Option<Champion>, f: f64| c.as_ref().is_none_or(|c| f > c.fitness);
        if beats(&self.state.champion, mean[best]) {
            let check_started = Instant::now();
            let one = Programs::pack([programs[best]]);
            let check = task.fitness(&one, &cfg.weights, Sample::Check(g))?;
            let checked = check.iter().sum::<f64>() / n_w as f64;
            if beats(&self.state.champion, checked) {
                self.state.champion = Some(Champion {
                    genome: self.state.population[best].clone(),
                    fitness: checked,
                    generation: g,
                });
                new_champion = true;
            }
            champion_check_seconds = check_started.elapsed().as_secs_f64();
        }
        let eval_seconds = t1.elapsed().as_secs_f64() - champion_check_seconds;

        let t2 = Instant::now();
        let rng = &mut self.state.rng;
        let objectives = if rng.random::<f64>() < cfg.prob_moo {
            Objectives::MeanAndConnections
        } else {
            Objectives::MeanAndMax
        };
        let objs: Vec<Vec<f64>> = (0..mean.len())
            .map(|i| match objectives {
                Objectives::MeanAndConnections => vec![mean[i], 1.0 / conns[i].max(1) as f64],
                Objectives::MeanAndMax => vec![mean[i], max[i]],
            })
            .collect();
        let rank = nsga::rank_with(&objs, cfg.semantics);
        let stats_nodes: Vec<usize> = self.state.population.iter().map(Genome::node_count).collect();
        let (population, programs, parents) = self.breed(&rank);
        self.state.population = population;
        self.programs = programs;
        self.parents = parents;
        self.state.generation += 1;
        let evolve_seconds = t2.elapsed().as_secs_f64();

        let champion = self.state.champion.as_ref().expect("set in the first generation");
        Ok(GenerationStats {
            generation: g,
            best_mean: mean[best],
            median_mean: median_f64(&mean),
            best_max: max.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            champion_fitness: champion.fitness,
            champion_connections: champion.genome.expressed_connections(),
            champion_nodes: champion.genome.node_count(),
            median_connections: median_usize(&conns),
            median_nodes: median_usize(&stats_nodes),
            new_champion,
            champion_check_seconds,
            objectives,
            compile_seconds,
            eval_seconds,
            evolve_seconds,
            edge_evaluations,
        })
    }

    /// Cull the worst, keep the best as elites, fill the rest with one-mutation children of
    /// tournament winners. Children whose mutation was impossible keep their parent's program.
    /// Also returns each child's parent where the parent is an elite (kept at the same index).
    #[allow(clippy::type_complexity)]
    fn breed(&mut self, rank: &[usize]) -> (Vec<Genome>, Vec<Option<Arc<Program>>>, Vec<Option<usize>>) {
        let cfg = &self.state.config;
        let (culled, n_elites, n_children) = cfg.selection_counts();
        let mut order: Vec<usize> = (0..rank.len()).collect();
        order.sort_by_key(|&i| rank[i]);
        order.truncate(rank.len() - culled);
        let pool = order.len();
        let mut population = Vec::with_capacity(cfg.population);
        let mut programs = Vec::with_capacity(cfg.population);
        for &i in &order[..n_elites] {
            population.push(self.state.population[i].clone());
            programs.push(self.programs[i].clone());
        }
        // Parents and per-child random seeds are drawn in order from the search's stream; the
        // mutations then run in parallel, each child with its own stream and its own block of
        // innovation numbers and node ids, so the result does not depend on the thread count.
        let rng = &mut self.state.rng;
        let mut bred_from = vec![None; n_elites];
        let plans: Vec<(usize, u64)> = (0..n_children)
            .map(|_| {
                let mut winner =
                    || (0..cfg.tournament).map(|_| rng.random_range(0..pool)).min().expect("tournament >= 1");
                let (a, b) = (winner(), winner());
                // The elites are `order[..n_elites]`, placed first in the new population.
                bred_from.push((a.min(b) < n_elites).then_some(a.min(b)));
                (order[a.min(b)], rng.random::<u64>())
            })
            .collect();
        let base = self.state.counters;
        let parents = &self.state.population;
        let children: Vec<(Genome, bool)> = plans
            .par_iter()
            .enumerate()
            .map(|(i, &(parent, seed))| {
                let mut child = parents[parent].clone();
                let mut counters = Counters {
                    next_innovation: base.next_innovation + 2 * i as u64,
                    next_node_id: base.next_node_id + i as u32,
                };
                let mut child_rng = ChaCha8Rng::seed_from_u64(seed);
                let (_, changed) = mutation::mutate(
                    &mut child,
                    &cfg.mutation,
                    &cfg.activations,
                    &mut counters,
                    &mut child_rng,
                );
                (child, changed)
            })
            .collect();
        // Each mutation adds at most two genes and one node.
        self.state.counters = Counters {
            next_innovation: base.next_innovation + 2 * n_children as u64,
            next_node_id: base.next_node_id + n_children as u32,
        };
        for ((child, changed), &(parent, _)) in children.into_iter().zip(&plans) {
            programs.push(if changed { None } else { self.programs[parent].clone() });
            population.push(child);
        }
        (population, programs, bred_from)
    }
}

fn median_f64(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn median_usize(v: &[usize]) -> usize {
    let mut s = v.to_vec();
    s.sort_unstable();
    s[s.len() / 2]
}
