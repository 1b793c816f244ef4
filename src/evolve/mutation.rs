//! The four topological mutations of the reference (`wann_src/ind.py`, `topoMutate`): add connection,
//! add node, re-enable a connection, change an activation. Exactly one is chosen by roulette per
//! child; one that is impossible leaves the child unchanged.
//!
//! Mutations act on genes; their effect on the network follows the genome's semantics through
//! [`Genome::expresses`]. Under reference semantics a split hidden->hidden connection stays active
//! beside its detour, and enabling a disabled hidden->hidden gene changes no connection.

use crate::genome::{topology, Activation, ConnGene, Genome, HiddenNode, NodeKind};
use rand::seq::SliceRandom;
use rand::Rng;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutationRates {
    pub add_connection: f64,
    pub add_node: f64,
    pub enable: f64,
    pub change_activation: f64,
}

impl Default for MutationRates {
    /// The reference's MNIST values.
    fn default() -> Self {
        MutationRates { add_connection: 0.20, add_node: 0.25, enable: 0.05, change_activation: 0.50 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutation {
    AddConnection,
    AddNode,
    Enable,
    ChangeActivation,
}

/// Population-wide counters, so that every new gene and node gets a fresh number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counters {
    pub next_innovation: u64,
    pub next_node_id: u32,
}

impl Counters {
    /// Counters that continue after everything in `genomes`.
    pub fn after<'a>(genomes: impl IntoIterator<Item = &'a Genome>) -> Counters {
        let mut c = Counters { next_innovation: 0, next_node_id: 0 };
        for g in genomes {
            c.next_innovation = c.next_innovation.max(g.max_innovation().map_or(0, |i| i + 1));
            c.next_node_id = c.next_node_id.max(g.max_node_id() + 1);
        }
        c
    }

    fn innovation(&mut self) -> u64 {
        self.next_innovation += 1;
        self.next_innovation - 1
    }
}

/// Spins the roulette once.
pub fn choose(rates: &MutationRates, rng: &mut impl Rng) -> Mutation {
    let slots = [
        (rates.add_connection, Mutation::AddConnection),
        (rates.add_node, Mutation::AddNode),
        (rates.enable, Mutation::Enable),
        (rates.change_activation, Mutation::ChangeActivation),
    ];
    let total: f64 = slots.iter().map(|s| s.0).sum();
    let mut spin = rng.random::<f64>() * total;
    for (p, m) in slots {
        if spin < p {
            return m;
        }
        spin -= p;
    }
    Mutation::ChangeActivation
}

/// Applies one roulette-chosen mutation; returns it and whether the genome changed.
pub fn mutate(
    genome: &mut Genome,
    rates: &MutationRates,
    pool: &[Activation],
    counters: &mut Counters,
    rng: &mut impl Rng,
) -> (Mutation, bool) {
    let m = choose(rates, rng);
    let changed = match m {
        Mutation::AddConnection => add_connection(genome, counters, rng),
        Mutation::AddNode => add_node(genome, pool, counters, rng),
        Mutation::Enable => enable_connection(genome, rng),
        Mutation::ChangeActivation => change_activation(genome, pool, rng),
    };
    (m, changed)
}

/// Layer of every node: bias and inputs 0; a hidden node 1 + the longest path to it over expressed
/// hidden -> hidden connections; outputs one above the highest hidden layer.
pub fn layers(genome: &Genome) -> HashMap<u32, u32> {
    let order = genome.execution_order().expect("search genomes are acyclic");
    let mut layer = topology::hidden_layers(genome, &order);
    let top = layer.values().copied().max().unwrap_or(0);
    for id in 0..=genome.n_inputs {
        layer.insert(id, 0);
    }
    for id in genome.output_ids() {
        layer.insert(id, top + 1);
    }
    layer
}

/// Visits sources in random order; the first with a destination in a strictly higher layer and no
/// gene (enabled or not) to it gets a new enabled connection to a random such destination.
pub fn add_connection(genome: &mut Genome, counters: &mut Counters, rng: &mut impl Rng) -> bool {
    let layer = layers(genome);
    let mut nodes: Vec<(u32, u32)> = layer.iter().map(|(&id, &l)| (id, l)).collect();
    nodes.sort_unstable(); // HashMap order is random: fix it before shuffling
    let mut sources: Vec<usize> = (0..nodes.len()).collect();
    sources.shuffle(rng);
    let existing: HashSet<(u32, u32)> = genome.conns.iter().map(|c| (c.src, c.dst)).collect();
    for s in sources {
        let (src, l) = nodes[s];
        let dests: Vec<u32> = nodes
            .iter()
            .filter(|&&(d, dl)| dl > l && !existing.contains(&(src, d)))
            .map(|&(d, _)| d)
            .collect();
        if !dests.is_empty() {
            let dst = dests[rng.random_range(0..dests.len())];
            genome.conns.push(ConnGene { innovation: counters.innovation(), src, dst, enabled: true });
            return true;
        }
    }
    false
}

/// Splits a random enabled gene s -> d: disables it and adds node n (random activation from the
/// pool) with enabled s -> n and n -> d. The choice is among enabled genes in both semantics, as in
/// the reference; under reference semantics a split hidden -> hidden gene keeps running.
pub fn add_node(
    genome: &mut Genome,
    pool: &[Activation],
    counters: &mut Counters,
    rng: &mut impl Rng,
) -> bool {
    let enabled: Vec<usize> = (0..genome.conns.len()).filter(|&i| genome.conns[i].enabled).collect();
    if enabled.is_empty() || pool.is_empty() {
        return false;
    }
    let split = enabled[rng.random_range(0..enabled.len())];
    let ConnGene { src, dst, .. } = genome.conns[split];
    genome.conns[split].enabled = false;
    let id = counters.next_node_id.max(genome.max_node_id() + 1);
    counters.next_node_id = id + 1;
    genome.hidden.push(HiddenNode { id, activation: pool[rng.random_range(0..pool.len())] });
    genome.conns.push(ConnGene { innovation: counters.innovation(), src, dst: id, enabled: true });
    genome.conns.push(ConnGene { innovation: counters.innovation(), src: id, dst, enabled: true });
    true
}

/// Re-enables a random disabled gene. If that one would close a cycle through the expressed
/// connections (possible only between hidden nodes, and never under reference semantics, where such
/// a gene already runs) the mutation is impossible: nothing changes.
pub fn enable_connection(genome: &mut Genome, rng: &mut impl Rng) -> bool {
    let disabled: Vec<usize> = (0..genome.conns.len()).filter(|&i| !genome.conns[i].enabled).collect();
    if disabled.is_empty() {
        return false;
    }
    let pick = disabled[rng.random_range(0..disabled.len())];
    let ConnGene { src, dst, .. } = genome.conns[pick];
    if genome.kind_of(src) == Some(NodeKind::Hidden) && reaches(genome, dst, src) {
        return false;
    }
    genome.conns[pick].enabled = true;
    true
}

/// Whether `to` can be reached from `from` over expressed connections.
fn reaches(genome: &Genome, from: u32, to: u32) -> bool {
    let mut succ: HashMap<u32, Vec<u32>> = HashMap::default();
    for c in genome.expressed_conns() {
        succ.entry(c.src).or_default().push(c.dst);
    }
    let mut seen = HashSet::default();
    let mut stack = vec![from];
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if seen.insert(n) {
            stack.extend(succ.get(&n).into_iter().flatten());
        }
    }
    false
}

/// A random hidden node gets a different activation from the pool.
pub fn change_activation(genome: &mut Genome, pool: &[Activation], rng: &mut impl Rng) -> bool {
    if genome.hidden.is_empty() {
        return false;
    }
    let k = rng.random_range(0..genome.hidden.len());
    let others: Vec<Activation> =
        pool.iter().copied().filter(|&a| a != genome.hidden[k].activation).collect();
    if others.is_empty() {
        return false;
    }
    genome.hidden[k].activation = others[rng.random_range(0..others.len())];
    true
}
