//! Graph algorithms on a genome's expressed connections, written once for everything that orders,
//! layers or prunes a network: compilation, mutation and the report.
//!
//! Node indices here are plain `usize`s chosen by the caller; hidden nodes are indexed in creation
//! order, so "lowest index" means "earliest created".

use super::Genome;
use crate::error::{Error, Result};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Kahn's algorithm over the nodes `0..n` for which `include` holds, always taking the lowest-indexed
/// ready node: when index order is already topological it is kept exactly, and the order never
/// depends on the order of `edges`. `edges` are `(source, destination)` pairs between included nodes.
/// On a cycle, the error is the lowest-indexed node left on or behind one.
pub fn kahn_order(
    n: usize,
    include: impl Fn(usize) -> bool,
    edges: impl IntoIterator<Item = (usize, usize)>,
) -> std::result::Result<Vec<usize>, usize> {
    let mut indegree = vec![0usize; n];
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (s, d) in edges {
        indegree[d] += 1;
        successors[s].push(d);
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| include(i) && indegree[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &d in &successors[i] {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    if order.len() < (0..n).filter(|&i| include(i)).count() {
        return Err((0..n).find(|&i| include(i) && indegree[i] > 0).unwrap_or(0));
    }
    Ok(order)
}

/// The nodes `0..n` from which one of `sinks` can be reached, given each node's sources. A sink is
/// marked only if another sink's sources reach it.
pub fn reaching<I: IntoIterator<Item = usize>>(
    n: usize,
    sinks: impl IntoIterator<Item = usize>,
    sources: impl Fn(usize) -> I,
) -> Vec<bool> {
    let mut marked = vec![false; n];
    let mut stack: Vec<usize> = sinks.into_iter().collect();
    while let Some(node) = stack.pop() {
        for s in sources(node) {
            if !marked[s] {
                marked[s] = true;
                stack.push(s);
            }
        }
    }
    marked
}

/// Hidden node ids in a topological order of the expressed connections (earliest-created ready node
/// first), or an error naming a node on a cycle. Outputs, being sinks, come after.
pub fn execution_order(genome: &Genome) -> Result<Vec<u32>> {
    let index = hidden_index(genome);
    let edges = genome.expressed_conns().filter_map(|c| Some((*index.get(&c.src)?, *index.get(&c.dst)?)));
    kahn_order(genome.hidden.len(), |_| true, edges)
        .map(|order| order.into_iter().map(|i| genome.hidden[i].id).collect())
        .map_err(|stuck| {
            Error::Genome(format!(
                "the {} connections form a cycle through hidden node {}",
                if genome.semantics == super::Semantics::Reference { "expressed" } else { "enabled" },
                genome.hidden[stuck].id
            ))
        })
}

/// Layer of every hidden node, given the hidden nodes in execution order: 1 + the longest path to it
/// over expressed hidden -> hidden connections (1 = fed by bias and inputs only), as in the
/// reference's `getLayer`.
pub fn hidden_layers(genome: &Genome, order: &[u32]) -> HashMap<u32, u32> {
    let hidden: HashSet<u32> = genome.hidden.iter().map(|h| h.id).collect();
    let mut preds: HashMap<u32, Vec<u32>> = HashMap::default();
    for c in genome.expressed_conns().filter(|c| hidden.contains(&c.src) && hidden.contains(&c.dst)) {
        preds.entry(c.dst).or_default().push(c.src);
    }
    let mut layer: HashMap<u32, u32> = HashMap::default();
    for &id in order {
        let l = 1 + preds.get(&id).map_or(0, |p| p.iter().map(|s| layer[s]).max().unwrap_or(0));
        layer.insert(id, l);
    }
    layer
}

/// Ids of the hidden nodes from which an output can be reached over expressed connections: the
/// others cannot change any result.
pub fn live_hidden(genome: &Genome) -> HashSet<u32> {
    let index = hidden_index(genome);
    let n_hidden = genome.hidden.len();
    // Hidden nodes by creation index, then one node standing for all outputs.
    let mut sources: Vec<Vec<usize>> = vec![Vec::new(); n_hidden + 1];
    for c in genome.expressed_conns() {
        let Some(&s) = index.get(&c.src) else { continue };
        match index.get(&c.dst) {
            Some(&d) => sources[d].push(s),
            None if genome.output_ids().contains(&c.dst) => sources[n_hidden].push(s),
            None => {}
        }
    }
    let live = reaching(n_hidden + 1, [n_hidden], |n| sources[n].iter().copied());
    genome.hidden.iter().zip(live).filter(|(_, l)| *l).map(|(h, _)| h.id).collect()
}

/// Index of each hidden node in creation order.
fn hidden_index(genome: &Genome) -> HashMap<u32, usize> {
    genome.hidden.iter().enumerate().map(|(i, h)| (h.id, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genome::{Activation, ConnGene, HiddenNode};

    /// Bias 0, input 1, output 2; hidden 5, 3, 4 created in that order with 1 -> 3 -> 5 -> 2 and a
    /// dead end 1 -> 4, worked out by hand.
    fn genome() -> Genome {
        let mut g = Genome::empty(1, 1);
        for id in [5, 3, 4] {
            g.hidden.push(HiddenNode { id, activation: Activation::Tanh });
        }
        for (innovation, (src, dst)) in [(1, 3), (3, 5), (5, 2), (1, 4)].into_iter().enumerate() {
            g.conns.push(ConnGene { innovation: innovation as u64, src, dst, enabled: true });
        }
        g
    }

    #[test]
    fn order_layers_and_liveness_by_hand() {
        let g = genome();
        // 5 was created first but must follow 3; once 3 has run, 5 is the earliest-created ready
        // node, ahead of 4, which was ready from the start.
        let order = execution_order(&g).unwrap();
        assert_eq!(order, [3, 5, 4]);
        let layer = hidden_layers(&g, &order);
        assert_eq!((layer[&3], layer[&4], layer[&5]), (1, 1, 2));
        let mut live: Vec<u32> = live_hidden(&g).into_iter().collect();
        live.sort_unstable();
        assert_eq!(live, [3, 5]);
    }

    #[test]
    fn kahn_reports_a_node_on_a_cycle() {
        assert_eq!(kahn_order(3, |_| true, [(0, 1), (1, 2), (2, 1)]), Err(1));
        assert_eq!(kahn_order(3, |i| i != 2, [(1, 0)]), Ok(vec![1, 0]));
    }
}
