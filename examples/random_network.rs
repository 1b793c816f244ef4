//! Writes a random MNIST-shaped network (256 inputs, 10 outputs) for trying out `wann eval` and the
//! pictures without a search: `cargo run --release --example random_network -- OUT.json [CONNECTIONS]
//! [HIDDEN] [SEED]` (defaults 2000 connections, 150 hidden nodes, seed 1). Hidden nodes draw their
//! activation from the MNIST pool and are wired feed-forward in creation order.

use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use wann::genome::{Activation, ConnGene, Genome, HiddenNode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: random_network OUT.json [CONNECTIONS] [HIDDEN] [SEED]";
    let out = args.first().ok_or(usage)?;
    let num = |i: usize, d: u64| -> Result<u64, String> {
        args.get(i).map_or(Ok(d), |s| s.parse().map_err(|_| format!("{s:?} is not a number; {usage}")))
    };
    let (conns, hidden, seed) = (num(1, 2000)? as usize, num(2, 150)? as usize, num(3, 1)?);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut g = Genome::empty(256, 10);
    let first = g.fixed_node_count();
    for k in 0..hidden as u32 {
        let pool = Activation::MNIST_POOL;
        g.hidden.push(HiddenNode { id: first + k, activation: pool[rng.random_range(0..pool.len())] });
    }
    let mut pairs = HashSet::new();
    let mut tries = 0;
    while g.conns.len() < conns && tries < 100 * conns {
        tries += 1;
        // Destinations: hidden nodes and outputs; sources: pixels (mostly central ones), bias or
        // an earlier hidden node.
        let d = rng.random_range(0..hidden + 10);
        let (dst, earlier) = if d < hidden {
            (first + d as u32, d)
        } else {
            (g.first_output_id() + (d - hidden) as u32, hidden)
        };
        let src = if earlier > 0 && rng.random_bool(0.35) {
            first + rng.random_range(0..earlier) as u32
        } else if rng.random_bool(0.02) {
            0
        } else {
            let (r, c) = (rng.random_range(1..15u32), rng.random_range(2..14u32));
            1 + r * 16 + c
        };
        if pairs.insert((src, dst)) {
            let innovation = g.conns.len() as u64;
            g.conns.push(ConnGene { innovation, src, dst, enabled: rng.random_bool(0.95) });
        }
    }
    wann::genome::save(&g, std::path::Path::new(out))?;
    eprintln!(
        "wrote {out}: {} hidden nodes, {} enabled connections",
        g.hidden.len(),
        g.enabled_connections()
    );
    Ok(())
}
