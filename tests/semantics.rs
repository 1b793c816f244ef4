//! The two semantics on small genomes worked out by hand: expressed matrices (`.out`), connection
//! counts and outputs (f64 reference evaluator, compiled program on the CPU evaluator), mutation
//! effects, crowding distances and ranks; the files and configs that carry the setting.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::io::{Read, Write};
use std::sync::Arc;
use wann::data::Dataset;
use wann::eval::cpu::CpuEvaluator;
use wann::eval::reference::ReferenceNet;
use wann::eval::Evaluator;
use wann::evolve::config::{Preset, SearchConfig};
use wann::evolve::mutation::{self, Counters};
use wann::evolve::nsga;
use wann::evolve::run;
use wann::evolve::search::Search;
use wann::genome::{json, out_format, Activation, ConnGene, Genome, HiddenNode, Semantics};
use wann::program::{compile, Programs};

const NEAT: Semantics = Semantics::Neat;
const REFERENCE: Semantics = Semantics::Reference;

fn conn(innovation: u64, src: u32, dst: u32, enabled: bool) -> ConnGene {
    ConnGene { innovation, src, dst, enabled }
}

/// Ids: bias 0, inputs 1 and 2, output 3, hidden from 4 (all linear unless said otherwise).
fn genome(hidden: &[u32], conns: Vec<ConnGene>) -> Genome {
    let mut g = Genome::empty(2, 1);
    g.hidden = hidden.iter().map(|&id| HiddenNode { id, activation: Activation::Linear }).collect();
    g.conns = conns;
    g.validate().unwrap();
    g
}

/// The example every output below is computed on: x1 = 0.5, x2 = 0.25, at shared weight w = 2.
const X: [f32; 2] = [0.5, 0.25];
const W: f32 = 2.0;

/// The single output by the f64 reference evaluator and by the compiled program on the CPU
/// evaluator (which must agree to f32 rounding).
fn output(g: &Genome) -> f64 {
    let exact = ReferenceNet::new(g).unwrap().outputs(&X, W as f64)[0];
    let data =
        Arc::new(Dataset { name: "one".into(), dim: 2, classes: 1, inputs: X.to_vec(), labels: vec![0] });
    let p = CpuEvaluator::new(data).predict(&compile(g).unwrap(), &[W], &[0], true).unwrap();
    let fast = p.outputs.unwrap()[0] as f64;
    assert!((fast - exact).abs() <= 1e-5 * exact.abs().max(1.0), "cpu {fast} vs reference {exact}");
    exact
}

/// Connections as counted by the genome and by its compiled program (the complexity objective).
fn count(g: &Genome) -> usize {
    let p = compile(g).unwrap();
    assert_eq!(p.enabled_connections as usize, g.expressed_connections());
    g.expressed_connections()
}

/// The `.out` matrix (without the activation column), one string per row: `.` no connection,
/// `1` a connection, `n` a disabled gene (`nan`).
fn matrix(g: &Genome) -> Vec<String> {
    let text = out_format::to_string(g).unwrap();
    text.lines()
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            cells[..cells.len() - 1]
                .iter()
                .map(|c| match *c {
                    "0.00e+00" => '.',
                    "1.00e+00" => '1',
                    "nan" => 'n',
                    other => panic!("unexpected cell {other}"),
                })
                .collect()
        })
        .collect()
}

/// Hidden 4 and 5; 1 -> 4, 2 -> 5, 4 -> 3, 5 -> 3 enabled; 4 -> 5 disabled.
fn disabled_hidden_pair(semantics: Semantics) -> Genome {
    genome(
        &[4, 5],
        vec![
            conn(0, 1, 4, true),
            conn(1, 4, 5, false),
            conn(2, 2, 5, true),
            conn(3, 5, 3, true),
            conn(4, 4, 3, true),
        ],
    )
    .with_semantics(semantics)
}

#[test]
fn a_disabled_hidden_to_hidden_gene_runs_only_under_reference() {
    // neat: h4 = 2 * 0.5 = 1, h5 = 2 * 0.25 = 0.5, out = 2 * (1 + 0.5) = 3.
    let neat = disabled_hidden_pair(NEAT);
    assert_eq!(output(&neat), 3.0);
    assert_eq!(count(&neat), 4);
    // reference: h5 = 2 * (0.25 + h4) = 2.5, out = 2 * (1 + 2.5) = 7.
    let reference = disabled_hidden_pair(REFERENCE);
    assert_eq!(output(&reference), 7.0);
    assert_eq!(count(&reference), 5);
    // Rows and columns in execution order: bias, x1, x2, h4, h5, out.
    assert_eq!(matrix(&neat), ["......", "...1..", "....1.", "....n1", ".....1", "......"]);
    assert_eq!(matrix(&reference), ["......", "...1..", "....1.", "....11", ".....1", "......"]);
    // A `.out` file is the expressed network: read back (as neat) it computes the same.
    let back =
        out_format::from_str(&out_format::to_string(&reference).unwrap(), 2, 1, "r.out".as_ref()).unwrap();
    assert_eq!(back.semantics, NEAT);
    assert_eq!(output(&back), 7.0);
}

#[test]
fn a_disabled_gene_touching_an_input_bias_or_output_stays_off_in_both() {
    // 1 -> 4 disabled (input -> hidden), 0 -> 3 disabled (bias -> output), 5 -> 3 disabled
    // (hidden -> output); enabled: 2 -> 4, 4 -> 3, 1 -> 5. Both: h4 = 2 * 0.25 = 0.5, out = 2 * 0.5 = 1.
    for semantics in [NEAT, REFERENCE] {
        let g = genome(
            &[4, 5],
            vec![
                conn(0, 1, 4, false),
                conn(1, 2, 4, true),
                conn(2, 4, 3, true),
                conn(3, 0, 3, false),
                conn(4, 5, 3, false),
                conn(5, 1, 5, true),
            ],
        )
        .with_semantics(semantics);
        assert_eq!(output(&g), 1.0, "{semantics}");
        assert_eq!(count(&g), 3, "{semantics}");
        // bias, x1, x2, h4, h5, out.
        assert_eq!(matrix(&g), [".....n", "...n1.", "...1..", ".....1", ".....n", "......"], "{semantics}");
    }
}

/// Hidden 4 and 5 in a chain 1 -> 4 -> 5 -> 3, all enabled.
fn chain(semantics: Semantics) -> Genome {
    genome(&[4, 5], vec![conn(0, 1, 4, true), conn(1, 4, 5, true), conn(2, 5, 3, true)])
        .with_semantics(semantics)
}

/// Splits 4 -> 5 with a linear node: the first seed whose draw picks that gene (of three enabled).
fn split_hidden_pair(semantics: Semantics) -> Genome {
    for seed in 0..100 {
        let mut g = chain(semantics);
        let mut counters = Counters::after([&g]);
        assert!(mutation::add_node(
            &mut g,
            &[Activation::Linear],
            &mut counters,
            &mut ChaCha8Rng::seed_from_u64(seed)
        ));
        if !g.conns[1].enabled {
            assert_eq!(g.hidden.last().unwrap().id, 6);
            return g;
        }
    }
    panic!("no seed split 4 -> 5");
}

#[test]
fn add_node_on_a_hidden_to_hidden_edge_keeps_it_under_reference() {
    // Before: out = w^3 x1 = 8 * 0.5 = 4 with 3 connections, in both.
    assert_eq!((output(&chain(NEAT)), count(&chain(NEAT))), (4.0, 3));
    assert_eq!((output(&chain(REFERENCE)), count(&chain(REFERENCE))), (4.0, 3));
    // neat: 4 -> 6 -> 5 replaces 4 -> 5: h4 = 1, h6 = 2, h5 = 4, out = 8; 4 connections (+1).
    let neat = split_hidden_pair(NEAT);
    assert_eq!(output(&neat), 8.0);
    assert_eq!(count(&neat), 4);
    // reference: 4 -> 5 stays beside the detour: h5 = 2 * (h4 + h6) = 6, out = 12; 5 connections (+2).
    let reference = split_hidden_pair(REFERENCE);
    assert_eq!(output(&reference), 12.0);
    assert_eq!(count(&reference), 5);
    // bias, x1, x2, h4, h6, h5, out.
    assert_eq!(matrix(&neat), [".......", "...1...", ".......", "....1n.", ".....1.", "......1", "......."]);
    assert_eq!(
        matrix(&reference),
        [".......", "...1...", ".......", "....11.", ".....1.", "......1", "......."]
    );
}

#[test]
fn enabling_a_disabled_hidden_to_hidden_gene_changes_nothing_under_reference() {
    for (semantics, before, after) in [(NEAT, (3.0, 4), (7.0, 5)), (REFERENCE, (7.0, 5), (7.0, 5))] {
        let mut g = disabled_hidden_pair(semantics);
        let program = compile(&g).unwrap();
        assert_eq!((output(&g), count(&g)), before, "{semantics}");
        // 4 -> 5 is the only disabled gene, so the mutation picks it.
        assert!(mutation::enable_connection(&mut g, &mut ChaCha8Rng::seed_from_u64(0)));
        assert!(g.conns[1].enabled);
        assert_eq!((output(&g), count(&g)), after, "{semantics}");
        if semantics == REFERENCE {
            assert_eq!(compile(&g).unwrap(), program, "the same network runs");
        }
    }
}

#[test]
fn layers_and_new_connections_follow_the_expressed_network() {
    // 1 -> 7 -> 4, 4 -> 5 disabled, 5 -> 6 -> 3. neat sees two chains (7, 4) and (5, 6);
    // reference one chain 7 -> 4 -> 5 -> 6.
    let g = genome(
        &[4, 5, 6, 7],
        vec![
            conn(0, 1, 7, true),
            conn(1, 7, 4, true),
            conn(2, 4, 5, false),
            conn(3, 5, 6, true),
            conn(4, 6, 3, true),
        ],
    );
    let layers = |g: &Genome| -> Vec<u32> {
        let l = mutation::layers(g);
        [0, 1, 2, 7, 4, 5, 6, 3].iter().map(|id| l[id]).collect()
    };
    assert_eq!(layers(&g), [0, 0, 0, 1, 2, 1, 2, 3]);
    let reference = g.clone().with_semantics(REFERENCE);
    assert_eq!(layers(&reference), [0, 0, 0, 1, 2, 3, 4, 5]);
    // Under neat 5 -> 4 would be allowed (layer 1 -> 2); under reference it would close a cycle
    // with the running 4 -> 5, and no added connection may do that.
    for seed in 0..300 {
        let mut r = reference.clone();
        let mut counters = Counters::after([&r]);
        if mutation::add_connection(&mut r, &mut counters, &mut ChaCha8Rng::seed_from_u64(seed)) {
            let new = r.conns.last().unwrap();
            assert!((new.src, new.dst) != (5, 4));
            r.validate().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        }
    }
    // A cycle through a disabled hidden -> hidden gene is harmless under neat, invalid under reference.
    let mut cyclic = chain(NEAT);
    cyclic.conns.push(conn(9, 5, 4, false));
    assert!(cyclic.validate().is_ok());
    let e = cyclic.with_semantics(REFERENCE).validate().unwrap_err().to_string();
    assert!(e.contains("cycle"), "{e}");
}

#[test]
fn crowding_distances_by_hand_under_both_formulas() {
    // One front, objectives (mean fitness, 1 / connections) with connections 2, 4, 8, 16, and a
    // dominated fifth point.
    let objs =
        vec![vec![-4.0, 0.5], vec![-3.5, 0.25], vec![-2.0, 0.125], vec![-1.0, 0.0625], vec![-5.0, 0.01]];
    let front = [0, 1, 2, 3];
    // Standard: gaps over the range, per objective. Objective 0 range 3, objective 1 range 0.4375.
    // B: 2 / 3 + 0.375 / 0.4375; C: 2.5 / 3 + 0.1875 / 0.4375.
    let d = nsga::crowding_distance_with(&objs, &front, NEAT);
    assert!(d[0].is_infinite() && d[3].is_infinite());
    assert!((d[1] - (2.0 / 3.0 + 0.375 / 0.4375)).abs() < 1e-12);
    assert!((d[2] - (2.5 / 3.0 + 0.1875 / 0.4375)).abs() < 1e-12);
    // Reference: gaps times |1/max - min|: objective 0 |1/-1 + 4| = 3, objective 1 |1/0.5 - 0.0625| = 1.9375.
    // B: 2 * 3 + 0.375 * 1.9375 = 6.7265625; C: 2.5 * 3 + 0.1875 * 1.9375 = 7.86328125 (exact in binary).
    let d = nsga::crowding_distance_with(&objs, &front, REFERENCE);
    assert!(d[0] == f64::INFINITY && d[3] == f64::INFINITY);
    assert_eq!(d[1], 6.7265625);
    assert_eq!(d[2], 7.86328125);
    // So the inner points swap places: neat ranks B before C, reference C before B.
    assert_eq!(nsga::rank_with(&objs, NEAT), vec![0, 2, 3, 1, 4]);
    assert_eq!(nsga::rank_with(&objs, REFERENCE), vec![0, 3, 2, 1, 4]);
    assert_eq!(nsga::rank(&objs), nsga::rank_with(&objs, NEAT));

    // When 1/max = min on an objective (-0.5 and -2) the reference's scale is 0: the ends get
    // inf * 0 = NaN and rank last in their front; inner points keep only objective 1's share.
    let objs = vec![vec![-2.0, 0.5], vec![-1.5, 0.25], vec![-1.0, 0.125], vec![-0.5, 0.0625]];
    let d = nsga::crowding_distance_with(&objs, &front, REFERENCE);
    assert!(d[0].is_nan() && d[3].is_nan());
    assert_eq!(d[1], 0.375 * 1.9375);
    assert_eq!(d[2], 0.1875 * 1.9375);
    assert_eq!(nsga::rank_with(&objs, REFERENCE), vec![2, 0, 1, 3]);
    assert_eq!(nsga::rank_with(&objs, NEAT), vec![0, 2, 3, 1]);
}

#[test]
fn genome_files_state_their_semantics() {
    let p = "g.json".as_ref();
    let reference = disabled_hidden_pair(REFERENCE);
    let text = json::to_string(&reference);
    assert!(text.contains("\"semantics\": \"reference\""), "{text}");
    assert_eq!(json::from_str(&text, p).unwrap(), reference);
    // A file without the field (written before it existed) means neat.
    let old = text.replace("  \"semantics\": \"reference\",\n", "");
    assert!(!old.contains("semantics"));
    assert_eq!(json::from_str(&old, p).unwrap().semantics, NEAT);
    let bad = text.replace("\"reference\"", "\"paper\"");
    let e = json::from_str(&bad, p).unwrap_err().to_string();
    assert!(e.contains("`reference` or `neat`"), "{e}");
}

#[test]
fn configs_and_presets_choose_semantics() {
    assert_eq!(SearchConfig::preset(Preset::Paper).semantics, REFERENCE);
    assert_eq!(SearchConfig::preset(Preset::Quick).semantics, REFERENCE);
    assert_eq!(SearchConfig::default().semantics, NEAT);
    // A config file without the field means neat; genomes of a search carry the config's semantics.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.json");
    std::fs::write(&path, r#"{ "population": 8, "generations": 2 }"#).unwrap();
    assert_eq!(SearchConfig::load(&path).unwrap().semantics, NEAT);
    std::fs::write(&path, r#"{ "population": 8, "semantics": "reference" }"#).unwrap();
    let c = SearchConfig::load(&path).unwrap();
    assert_eq!(c.semantics, REFERENCE);
    let search = Search::new(c, 256, 10).unwrap();
    assert!(search.state.population.iter().all(|g| g.semantics == REFERENCE));
}

/// Gunzips a checkpoint, lets `edit` change its JSON, gzips it back.
fn edit_checkpoint(dir: &std::path::Path, edit: impl Fn(&mut serde_json::Value)) {
    let path = dir.join(run::CHECKPOINT);
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&std::fs::read(&path).unwrap()[..]).read_to_end(&mut json).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    edit(&mut v);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&serde_json::to_vec(&v).unwrap()).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
}

#[test]
fn checkpoints_keep_the_semantics_and_old_ones_resume_as_neat() {
    let dir = tempfile::tempdir().unwrap();
    let config = SearchConfig { population: 6, semantics: REFERENCE, ..Default::default() };
    let search = Search::new(config, 256, 10).unwrap();
    run::save_checkpoint(dir.path(), &search.state).unwrap();
    let state = run::load_checkpoint(dir.path()).unwrap();
    assert_eq!(state, search.state);
    assert!(state.population.iter().all(|g| g.semantics == REFERENCE));
    // A checkpoint from before the setting: its config has no such field.
    edit_checkpoint(dir.path(), |v| {
        v["config"].as_object_mut().unwrap().remove("semantics");
    });
    let old = run::load_checkpoint(dir.path()).unwrap();
    assert_eq!(old.config.semantics, NEAT);
    assert!(old.population.iter().all(|g| g.semantics == NEAT));
}

#[test]
fn program_packing_counts_expressed_connections() {
    let packed = Programs::pack([
        &compile(&disabled_hidden_pair(NEAT)).unwrap(),
        &compile(&disabled_hidden_pair(REFERENCE)).unwrap(),
    ]);
    assert_eq!(packed.enabled_connections, vec![4, 5]);
}
