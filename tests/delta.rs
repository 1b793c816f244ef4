//! Children evaluated as deltas of their parents: the cone of hand-made mutations, and exact
//! equality with full evaluation on every child of real generations and on a whole search.

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use wann::data::Dataset;
use wann::eval::cpu::CpuEvaluator;
use wann::eval::{Evaluator, TRAINING_WEIGHTS};
use wann::evolve::config::SearchConfig;
use wann::evolve::mutation::MutationRates;
use wann::evolve::run::{self, Progress};
use wann::evolve::search::{GenerationStats, Search};
use wann::evolve::task::Classification;
use wann::genome::{Activation, ConnGene, Genome, HiddenNode};
use wann::program::delta::Delta;
use wann::program::{compile, Programs};

/// 2 inputs, 1 output; hidden 4 = tanh(in1 + in2), 5 = relu(4 + bias), output 3 = 4 + 5 + in1.
fn small_parent() -> Genome {
    let mut g = Genome::empty(2, 1);
    g.hidden.push(HiddenNode { id: 4, activation: Activation::Tanh });
    g.hidden.push(HiddenNode { id: 5, activation: Activation::Relu });
    let conns = [(1, 4), (2, 4), (4, 5), (0, 5), (4, 3), (5, 3), (1, 3)];
    for (i, &(src, dst)) in conns.iter().enumerate() {
        g.conns.push(ConnGene { innovation: i as u64, src, dst, enabled: true });
    }
    g
}

fn cone_of(parent: &Genome, child: &Genome) -> Delta {
    let (p, c) = (compile(parent).unwrap(), compile(child).unwrap());
    Delta::plan(p.view(), c.view(), 1)
}

#[test]
fn the_cone_is_the_changed_node_and_what_it_feeds() {
    let parent = small_parent();
    // The same network: nothing to compute, the output is read from the parent's last row.
    let d = cone_of(&parent, &parent);
    assert!(d.ops.is_empty());
    assert_eq!(d.outputs, vec![2]);
    // Node 5's activation changes: 5 and the output are recomputed, 4 is shared.
    let mut child = parent.clone();
    child.hidden[1].activation = Activation::Sigmoid;
    let d = cone_of(&parent, &child);
    assert_eq!(d.ops.len(), 2);
    assert_eq!(d.parent_ops, 3);
    // Cone op 0 (node 5) reads the bias slot and the parent's row 0 (node 4); the output reads
    // row 0, the cone's own row 3 (node 5) and input slot 1, in the child's source order.
    assert_eq!(d.edges, vec![0, 0, 1, 0, 3]);
    assert_eq!(d.outputs, vec![4]);
    // Neither's bias/input sources changed: those sums are the parent's (ops 1 and 2).
    assert_eq!(d.same_consts, vec![Some(1), Some(2)]);
    assert_eq!(d.edge_count(), 3);
    // A new connection into the output only: just the output, whose input sum changed.
    let mut child = parent.clone();
    child.conns.push(ConnGene { innovation: 7, src: 2, dst: 3, enabled: true });
    let d = cone_of(&parent, &child);
    assert_eq!(d.ops.len(), 1);
    assert_eq!(d.same_consts, vec![None]);
    assert_eq!(d.edge_count(), 4);
    // Node 4 changes: everything downstream of it, which is everything.
    let mut child = parent.clone();
    child.hidden[0].activation = Activation::Sin;
    assert_eq!(cone_of(&parent, &child).ops.len(), 3);
    // A new node splitting 4 -> 5: the new node, 5 and the output.
    let mut child = parent.clone();
    child.conns[2].enabled = false;
    child.hidden.push(HiddenNode { id: 6, activation: Activation::Linear });
    child.conns.push(ConnGene { innovation: 7, src: 4, dst: 6, enabled: true });
    child.conns.push(ConnGene { innovation: 8, src: 6, dst: 5, enabled: true });
    assert_eq!(cone_of(&parent, &child).ops.len(), 3);
    // Programs without node ids share nothing.
    let mut p = compile(&parent).unwrap();
    p.node_ids.clear();
    let c = compile(&parent).unwrap();
    assert_eq!(Delta::plan(p.view(), c.view(), 1).ops.len(), 3);
}

/// A small random classification problem: networks grow deep quickly on few inputs.
fn synthetic(seed: u64, n: usize, dim: usize, classes: usize) -> Arc<Dataset> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Arc::new(Dataset {
        name: "synthetic".into(),
        dim,
        classes,
        inputs: (0..n * dim).map(|_| rng.random_range(-1.0..1.0)).collect(),
        labels: (0..n).map(|_| rng.random_range(0..classes as u8)).collect(),
    })
}

/// Grows a population with the search's own selection and mutation and, before each generation,
/// evaluates it in full and with deltas: the statistics must be equal bit for bit.
fn every_child_equals_full(data: Arc<Dataset>, config: SearchConfig, generations: u64, threads: usize) {
    let (dim, classes) = (data.dim as u32, data.classes as u32);
    let mut search = Search::new(config.clone(), dim, classes).unwrap();
    let mut task = Classification::new(
        Box::new(CpuEvaluator::new(data.clone())),
        data.clone(),
        config.minibatch,
        config.seed,
    );
    let mut ev = CpuEvaluator::with_threads(data.clone(), threads).unwrap();
    let batch = wann::data::minibatch::draw(1, 0, data.len(), config.minibatch);
    let (mut children, mut cone_ops, mut child_ops) = (0, 0, 0);
    for g in 0..generations {
        let (programs, parents) = search.next_generation().unwrap();
        let full = ev.evaluate(&programs, &TRAINING_WEIGHTS, &batch).unwrap();
        let delta = ev.evaluate_with_parents(&programs, &parents, &TRAINING_WEIGHTS, &batch).unwrap();
        for i in 0..programs.len() {
            for w in 0..TRAINING_WEIGHTS.len() {
                assert_eq!(full.get(i, w), delta.get(i, w), "generation {g}, program {i}, weight {w}");
            }
        }
        assert_eq!(full, delta);
        for (i, p) in parents.iter().enumerate() {
            if let Some(p) = *p {
                let d = Delta::plan(programs.view(p), programs.view(i), classes as usize);
                children += 1;
                cone_ops += d.ops.len();
                child_ops += programs.ops_of(i).len();
            }
        }
        search.step(&mut task).unwrap();
    }
    // Not vacuous: most of the population were children, and their cones were a small part.
    let n = config.population as u64 * (generations - 1);
    assert!(children as u64 > n / 2, "{children} children of {n}");
    assert!(cone_ops * 2 < child_ops, "cones {cone_ops} of {child_ops} ops");
    let deepest = search.state.population.iter().map(|g| g.hidden.len()).max().unwrap();
    assert!(deepest >= 5 && cone_ops >= children, "{deepest} hidden nodes at most, {cone_ops} cone ops");
}

#[test]
fn every_child_of_a_synthetic_search_equals_its_full_evaluation() {
    let config = SearchConfig {
        population: 64,
        generations: 60,
        minibatch: 80,
        tournament: 8,
        activations: Activation::ALL.to_vec(),
        init_enable: 0.5,
        prob_moo: 0.0,
        mutation: MutationRates { add_connection: 0.3, add_node: 0.4, enable: 0.05, change_activation: 0.25 },
        seed: 11,
        ..Default::default()
    };
    every_child_equals_full(synthetic(3, 150, 5, 3), config, 60, 2);
}

#[test]
fn every_child_of_an_mnist_search_equals_its_full_evaluation() {
    let data = Arc::new((*mnist_test!()).clone().truncated(2000));
    let config =
        SearchConfig { population: 48, minibatch: 100, tournament: 8, seed: 4, ..Default::default() };
    every_child_equals_full(data, config, 25, 1);
}

#[test]
fn bad_parents_are_refused() {
    let data = synthetic(1, 20, 2, 2);
    let g = Search::new(SearchConfig { population: 3, ..Default::default() }, 2, 2).unwrap().state.population;
    let progs: Vec<_> = g.iter().map(|g| compile(g).unwrap()).collect();
    let packed = Programs::pack(&progs);
    let mut ev = CpuEvaluator::new(data.clone());
    let idx = data.all_indices();
    for parents in [vec![None, Some(0), Some(1)], vec![None, Some(7), None], vec![None, None]] {
        let e = ev.evaluate_with_parents(&packed, &parents, &[1.0], &idx).unwrap_err().to_string();
        assert!(e.contains("parent"), "{e}");
    }
}

#[test]
fn malformed_programs_are_refused_before_deltas_are_planned() {
    // An op source that is not an earlier op, edges past the end, an unknown activation: an
    // error naming the problem, not a panic, with or without parents.
    let data = synthetic(1, 20, 2, 1);
    let mut ev = CpuEvaluator::new(data.clone());
    let idx = data.all_indices();
    let p = compile(&small_parent()).unwrap();
    let packed = Programs::pack([&p, &p, &p]);
    let parents = [None, Some(0), None];
    let mut bad = packed.clone();
    let last = bad.edges.len() - 1;
    bad.edges[last] = 100_000;
    let mut past_end = packed.clone();
    past_end.edges.truncate(past_end.edges.len() - 1);
    let mut activation = packed.clone();
    activation.ops[0].activation = 99;
    for bad in [bad, past_end, activation] {
        let e = ev.evaluate_with_parents(&bad, &parents, &[1.0], &idx).unwrap_err().to_string();
        assert!(e.contains("malformed program"), "{e}");
        let e = ev.evaluate(&bad, &[1.0], &idx).unwrap_err().to_string();
        assert!(e.contains("malformed program"), "{e}");
    }
    assert!(ev.evaluate_with_parents(&packed, &parents, &[1.0], &idx).is_ok());
}

struct Quiet;
impl Progress for Quiet {
    fn generation(&mut self, _: &GenerationStats, _: f64, _: u64) {}
    fn message(&mut self, _: &str) {}
}

#[test]
fn a_search_with_deltas_equals_one_without() {
    let data = Arc::new((*mnist_test!()).clone().truncated(2000));
    let run = |delta: bool| {
        let dir = tempfile::tempdir().unwrap();
        let config = SearchConfig {
            population: 40,
            generations: 12,
            minibatch: 150,
            tournament: 8,
            seed: 9,
            checkpoint_every: 5,
            delta,
            ..Default::default()
        };
        run::create(dir.path(), &config).unwrap();
        let mut search = Search::new(config.clone(), 256, 10).unwrap();
        let mut task =
            Classification::new(Box::new(CpuEvaluator::new(data.clone())), data.clone(), 150, config.seed);
        run::execute(&mut search, &mut task, dir.path(), &AtomicBool::new(false), &mut Quiet).unwrap();
        // The log without its timing columns, the champion file, and the final state.
        let log: Vec<String> = std::fs::read_to_string(dir.path().join(run::LOG))
            .unwrap()
            .lines()
            .map(|l| l.split(',').take(10).collect::<Vec<_>>().join(","))
            .collect();
        let champion = std::fs::read(dir.path().join(run::CHAMPION_JSON)).unwrap();
        let s = search.state;
        (log, champion, s.population, s.rng, s.counters, s.champion)
    };
    let (with, without) = (run(true), run(false));
    assert_eq!(with.0.len(), 13);
    assert_eq!(with, without);
}

#[test]
fn checkpoints_written_in_the_background_are_complete_and_their_errors_surface() {
    let data = Arc::new((*mnist_test!()).clone().truncated(1000));
    let config = SearchConfig {
        population: 24,
        generations: 7,
        minibatch: 50,
        tournament: 4,
        seed: 2,
        checkpoint_every: 2,
        ..Default::default()
    };
    let task = || Classification::new(Box::new(CpuEvaluator::new(data.clone())), data.clone(), 50, 2);
    // The last checkpoint holds the final state.
    let dir = tempfile::tempdir().unwrap();
    run::create(dir.path(), &config).unwrap();
    let mut whole = Search::new(config.clone(), 256, 10).unwrap();
    run::execute(&mut whole, &mut task(), dir.path(), &AtomicBool::new(false), &mut Quiet).unwrap();
    assert_eq!(run::load_checkpoint(dir.path()).unwrap(), whole.state);
    // A checkpoint that cannot be written in the background (a directory stands in its way)
    // fails the run at the next save, not silently.
    let dir = tempfile::tempdir().unwrap();
    run::create(dir.path(), &config).unwrap();
    std::fs::create_dir(dir.path().join(run::CHECKPOINT)).unwrap();
    std::fs::write(dir.path().join(run::CHECKPOINT).join("x"), b"x").unwrap();
    let mut s = Search::new(config.clone(), 256, 10).unwrap();
    let e = run::execute(&mut s, &mut task(), dir.path(), &AtomicBool::new(false), &mut Quiet).unwrap_err();
    assert!(e.to_string().contains(run::CHECKPOINT), "{e}");
}
