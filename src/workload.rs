//! Reproducible synthetic networks for benchmarks and tests: grown from the search's minimal start by
//! the search's own mutations, so their shape (fan-in from pixels, hidden chains, layer structure)
//! is that of evolved networks.

use crate::evolve::mutation::{self, Counters};
use crate::genome::{Activation, Genome};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A network with about `connections` enabled connections and `hidden` hidden nodes, from `seed`.
/// The MNIST champion of the paper is about `(1849, 400)`; the search starts near `(130, 0)`.
pub fn grown_network(seed: u64, n_inputs: u32, n_outputs: u32, connections: usize, hidden: usize) -> Genome {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut g = Genome::initial(n_inputs, n_outputs, 0.05, &mut rng);
    let mut counters = Counters::after([&g]);
    let pool = Activation::MNIST_POOL;
    while g.hidden.len() < hidden || g.enabled_connections() < connections {
        let grow_nodes = g.hidden.len() < hidden
            && (g.enabled_connections() >= connections
                || rng.random::<f64>() < hidden as f64 / connections as f64 * 2.0);
        let add_node = |g: &mut Genome, c: &mut Counters, rng: &mut ChaCha8Rng| {
            g.hidden.len() < hidden && mutation::add_node(g, &pool, c, rng)
        };
        // Every bias/input -> output gene exists from the start, so new connections need hidden
        // nodes: when the chosen growth is impossible, try the other; stop when neither works.
        let order = if grow_nodes { [true, false] } else { [false, true] };
        let changed = order.into_iter().any(|node| {
            if node {
                add_node(&mut g, &mut counters, &mut rng)
            } else {
                mutation::add_connection(&mut g, &mut counters, &mut rng)
            }
        });
        if !changed {
            break;
        }
    }
    g
}
