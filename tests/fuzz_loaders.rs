//! Seeded fuzzing of every loader of outside input: IDX images and labels (raw and gzip), genome
//! JSON, the reference's `.out`, search configs and checkpoints. Valid files are mutated the ways
//! files go wrong (flipped, cut, repeated and spliced bytes, numbers replaced by extreme ones,
//! unknown fields); every case must give a value or an error, never a panic, an abort or a hang.
//! Whatever is accepted must also work downstream (compile, write back, read back the same).
//! Thousands of cases in a few seconds; the seed of each case is in its failure message.

mod common;

use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use wann::data::idx;
use wann::data::Dataset;
use wann::eval::cpu::CpuEvaluator;
use wann::evolve::config::SearchConfig;
use wann::evolve::run;
use wann::evolve::search::Search;
use wann::evolve::task::Classification;
use wann::genome::{json, out_format, Genome};

/// Numbers that break naive size arithmetic.
const EXTREMES: [&str; 12] = [
    "0",
    "-1",
    "1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "1e400",
    "-0",
    "nan",
    "65537",
    "2147483647",
    "0.5",
];

/// One random edit of `bytes`.
fn mutate(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) {
    let n = bytes.len().max(1);
    let at = rng.random_range(0..n).min(bytes.len());
    match rng.random_range(0..9) {
        0 if !bytes.is_empty() => {
            let i = rng.random_range(0..bytes.len());
            bytes[i] ^= 1 << rng.random_range(0..8);
        }
        1 => bytes.truncate(at),
        2 => {
            let end = rng.random_range(at..=bytes.len());
            bytes.drain(at..end);
        }
        3 => {
            let end = rng.random_range(at..=bytes.len().min(at + 64));
            let piece = bytes[at..end].to_vec();
            bytes.splice(at..at, piece);
        }
        4 | 5 => {
            // Replace a number (a run of digits) by an extreme one.
            let digits: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i].is_ascii_digit()).collect();
            if let Some(&start) = digits.choose(rng) {
                let end = (start..bytes.len()).find(|&i| !bytes[i].is_ascii_digit()).unwrap_or(bytes.len());
                let with = EXTREMES.choose(rng).unwrap().as_bytes().to_vec();
                bytes.splice(start..end, with);
            }
        }
        6 => {
            let junk: &[&[u8]] = &[b"\"extra\": 1, ", b"{", b"}", b",", b"\xc3\xa9", b"[]", b"\n", b"null"];
            bytes.splice(at..at, junk.choose(rng).unwrap().to_vec());
        }
        7 => bytes.extend(std::iter::repeat_n(b'7', rng.random_range(1..5000))),
        _ => {
            if !bytes.is_empty() {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
        }
    }
}

fn mutated(rng: &mut ChaCha8Rng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..rng.random_range(1..4) {
        mutate(rng, &mut bytes);
    }
    bytes
}

/// Runs `f`, turning a panic into a failure that names the case.
fn case<T>(what: &str, i: usize, input: &[u8], f: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            let head = String::from_utf8_lossy(&input[..input.len().min(300)]).into_owned();
            panic!("{what} case {i} panicked; input starts {head:?}")
        }
    }
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Downstream of a genome that a loader accepted: it compiles, writes back and reads back the same.
fn accepted_genome_works(g: &Genome) {
    let program = wann::program::compile(g).expect("an accepted genome compiles");
    assert_eq!(program.n_outputs, g.n_outputs);
    let again = json::from_str(&json::to_string(g), Path::new("again.json")).expect("it reads back");
    assert_eq!(&again, g);
    if g.node_count() <= 64 {
        let text = out_format::to_string(g).expect("small networks write as .out");
        out_format::from_str(&text, g.n_inputs, g.n_outputs, Path::new("again.out")).expect("it reads back");
    }
}

#[test]
fn idx_reader_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let pixels: Vec<u8> = (0..3 * 5 * 4).map(|i| (i * 7) as u8).collect();
    let images = idx::encode_images(3, 5, 4, &pixels);
    let labels = idx::encode_labels(&[1, 0, 9, 3]);
    let seeds = [images.clone(), gz(&images), labels.clone(), gz(&labels)];
    let path = Path::new("fuzz.idx");
    let mut accepted = 0;
    for i in 0..4000 {
        let seed = &seeds[i % seeds.len()];
        let mut input = mutated(&mut rng, seed);
        if i % 8 == 0 {
            // A mutated raw file, compressed: reaches the checks behind the gzip layer.
            input = gz(&mutated(&mut rng, &seeds[(i / 8) % 2 * 2]));
        }
        let (a, b) = case("idx", i, &input, || {
            (idx::parse_images(&input, path).map(|im| im.pixels.len()), idx::parse_labels(&input, 10, path))
        });
        if let Ok(n) = a {
            accepted += 1;
            assert!(n <= 2 * input.len() * 1100, "case {i}: {n} pixels from {} bytes", input.len());
        }
        accepted += b.is_ok() as usize;
    }
    assert!(accepted > 0, "some mutations keep a valid file (a check of the harness itself)");
}

#[test]
fn idx_reader_refuses_sizes_it_cannot_hold_before_expanding() {
    let path = Path::new("bomb.gz");
    // The header promises 4 GB of pixels; the file is tiny.
    let mut header = idx::encode_images(1, 1, 1, &[0]);
    header[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    header[8..12].copy_from_slice(&65_535u32.to_be_bytes());
    let e = idx::parse_images(&gz(&header), path).err().expect("refused").to_string();
    assert!(e.contains("more than this reader accepts"), "{e}");
    // An honest-looking size that a few kilobytes of gzip cannot hold.
    let mut header = idx::encode_images(1, 28, 28, &[0; 784]);
    header[4..8].copy_from_slice(&1_000_000u32.to_be_bytes());
    let e = idx::parse_images(&gz(&header[..16]), path).err().expect("refused").to_string();
    assert!(e.contains("cannot hold"), "{e}");
    // Bytes after the gzip stream are an error, as they are after a raw file.
    let mut two = gz(&idx::encode_labels(&[1, 2]));
    two.extend_from_slice(b"junk");
    let e = idx::parse_labels(&two, 10, path).expect_err("refused").to_string();
    assert!(e.contains("4 bytes of trailing garbage after the gzip stream"), "{e}");
    let mut inside = idx::encode_labels(&[1, 2]);
    inside.push(3);
    let e = idx::parse_labels(&gz(&inside), 10, path).expect_err("refused").to_string();
    assert!(e.contains("trailing garbage"), "{e}");
}

fn genome_seeds() -> Vec<Vec<u8>> {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hand_made.json");
    let mut seeds = vec![std::fs::read(fixture).unwrap()];
    for k in 0..4 {
        let g = common::random_genome(&mut rng, 4 + k, 2 + k, 3 * k as usize, 10, k % 2 == 0);
        seeds.push(json::to_string(&g).into_bytes());
    }
    seeds
}

#[test]
fn genome_json_never_panics_and_what_it_accepts_works() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let seeds = genome_seeds();
    let path = Path::new("fuzz.json");
    let mut accepted = 0;
    for i in 0..3000 {
        let input = mutated(&mut rng, &seeds[i % seeds.len()]);
        let Ok(text) = std::str::from_utf8(&input) else { continue };
        let result = case("genome json", i, &input, || json::from_str(text, path));
        match result {
            Ok(g) => {
                accepted += 1;
                case("accepted genome", i, &input, || accepted_genome_works(&g));
            }
            Err(e) => assert!(e.to_string().len() < 1000, "case {i}: an error echoes its input: {e}"),
        }
    }
    assert!(accepted > 0, "some mutations keep a valid file (a check of the harness itself)");
}

#[test]
fn out_format_never_panics_and_what_it_accepts_works() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut shapes = Vec::new();
    let mut seeds = Vec::new();
    for k in 0..4u32 {
        let g = common::random_genome(&mut rng, 3 + k, 2, 2 * k as usize, 8, k % 2 == 1);
        seeds.push(out_format::to_string(&g).unwrap().into_bytes());
        shapes.push((g.n_inputs, g.n_outputs));
    }
    let path = Path::new("fuzz.out");
    let mut accepted = 0;
    for i in 0..3000 {
        let input = mutated(&mut rng, &seeds[i % seeds.len()]);
        let Ok(text) = std::str::from_utf8(&input) else { continue };
        let (mut n_in, mut n_out) = shapes[i % seeds.len()];
        if i % 10 == 0 {
            // The counts come from flags: wrong and absurd ones too.
            n_in = [0, 1, 2, u32::MAX, 1 << 20][i / 10 % 5];
            n_out = [1, 0, u32::MAX, 3, 2][i / 10 % 5];
        }
        let result = case(".out", i, &input, || out_format::from_str(text, n_in, n_out, path));
        match result {
            Ok(g) => {
                accepted += 1;
                case("accepted .out", i, &input, || accepted_genome_works(&g));
            }
            Err(e) => assert!(e.to_string().len() < 1000, "case {i}: an error echoes its input: {e}"),
        }
    }
    assert!(accepted > 0, "some mutations keep a valid file (a check of the harness itself)");
}

#[test]
fn configs_never_panic_and_what_they_accept_validates() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let full = serde_json::to_string_pretty(&SearchConfig::default()).unwrap().into_bytes();
    let seeds = [full, br#"{"population": 64, "generations": 10, "mutation": {"add_connection": 0.2, "add_node": 0.25, "enable": 0.05, "change_activation": 0.5}}"#.to_vec()];
    let path = Path::new("fuzz-config.json");
    let mut accepted = 0;
    for i in 0..3000 {
        let input = mutated(&mut rng, &seeds[i % 2]);
        let Ok(text) = std::str::from_utf8(&input) else { continue };
        if let Ok(c) = case("config", i, &input, || SearchConfig::from_json(text, path)) {
            accepted += 1;
            c.validate().unwrap();
            assert!(c.population <= wann::evolve::config::MAX_POPULATION && c.generations >= 1);
        }
    }
    assert!(accepted > 0, "some mutations keep a valid file (a check of the harness itself)");
}

/// A 5-input, 2-class task of a few examples, matching the checkpoint fuzzed below.
fn tiny_task() -> Classification {
    let data = Arc::new(Dataset {
        name: "tiny".into(),
        dim: 5,
        classes: 2,
        inputs: (0..40).map(|i| (i % 7) as f32 / 7.0).collect(),
        labels: vec![0, 1, 1, 0, 1, 0, 0, 1],
    });
    Classification::new(Box::new(CpuEvaluator::with_threads(data.clone(), 1).unwrap()), data, 4, 0)
}

#[test]
fn checkpoints_never_panic_and_what_they_accept_is_consistent() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let dir = tempfile::tempdir().unwrap();
    let config = SearchConfig { population: 3, generations: 4, ..Default::default() };
    let search = Search::new(config, 5, 2).unwrap();
    run::save_checkpoint(dir.path(), &search.state).unwrap();
    let file = dir.path().join(run::CHECKPOINT);
    let packed = std::fs::read(&file).unwrap();
    assert_eq!(run::load_checkpoint(dir.path()).unwrap(), search.state);
    Search::resume(search.state.clone()).step(&mut tiny_task()).expect("the checkpoint itself carries on");
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut json).unwrap();
    let mut accepted = 0;
    for i in 0..3000 {
        // Mostly the JSON inside (where the meaning is), sometimes the gzip bytes themselves.
        let input = if i % 5 == 0 { mutated(&mut rng, &packed) } else { gz(&mutated(&mut rng, &json)) };
        if let Ok(state) = case("checkpoint", i, &input, || run::parse_checkpoint(&input, &file)) {
            accepted += 1;
            assert_eq!(state.population.len(), state.config.population, "case {i}");
            for g in state.population.iter().chain(state.champion.as_ref().map(|c| &c.genome)) {
                case("accepted checkpoint genome", i, &input, || accepted_genome_works(g));
            }
            // And the search carries on from it (an error is fine, a panic is not).
            case("a generation from the checkpoint", i, &input, || {
                let mut search = Search::resume(state);
                let _ = search.step(&mut tiny_task());
            });
        }
    }
    assert!(accepted > 0, "some mutations keep a valid file (a check of the harness itself)");
}

#[test]
fn errors_never_echo_long_input() {
    let long = "z".repeat(100_000);
    let path = Path::new("long");
    let genome = format!(r#"{{"format": "wann-genome", "version": 1, "{long}": 1}}"#);
    let config = format!(r#"{{"backend": "{long}"}}"#);
    let out = format!("{long},0\n");
    let errors = [
        json::from_str(&genome, path).unwrap_err(),
        SearchConfig::from_json(&config, path).unwrap_err(),
        out_format::from_str(&out, 1, 1, path).unwrap_err(),
        run::parse_checkpoint(&gz(genome.as_bytes()), path).unwrap_err(),
    ];
    for e in errors {
        let e = e.to_string();
        assert!(e.len() < 400, "{} bytes: {}...", e.len(), &e[..200]);
    }
}
