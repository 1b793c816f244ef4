//! The search: NSGA-II on hand-made cases, selection counts, mutation invariants, reproducibility,
//! checkpoint and resume, and real progress on MNIST.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use wann::eval::cpu::CpuEvaluator;
use wann::eval::reference::ReferenceNet;
use wann::evolve::config::SearchConfig;
use wann::evolve::mutation::{self, Counters, MutationRates};
use wann::evolve::nsga;
use wann::evolve::run::{self, Outcome, Progress};
use wann::evolve::search::{GenerationStats, Search};
use wann::evolve::task::Classification;
use wann::genome::{Activation, Genome};

#[test]
fn nondominated_fronts_by_hand() {
    // (a, b) maximised. 0 and 1 and 4 trade off; 2 is dominated by 1; 3 by everyone.
    let objs = vec![vec![3.0, 1.0], vec![2.0, 2.0], vec![1.5, 1.5], vec![0.0, 0.0], vec![1.0, 3.0]];
    assert_eq!(nsga::fronts(&objs), vec![vec![0, 1, 4], vec![2], vec![3]]);
    // Equal points do not dominate each other.
    assert_eq!(nsga::fronts(&[vec![1.0, 1.0], vec![1.0, 1.0]]), vec![vec![0, 1]]);
}

#[test]
fn crowding_distance_by_hand() {
    // One front on a line: ends are infinite, inner points get (next - prev) / (max - min) per objective.
    let objs = vec![vec![0.0, 4.0], vec![1.0, 3.0], vec![3.0, 1.0], vec![4.0, 0.0]];
    let d = nsga::crowding_distance(&objs, &[0, 1, 2, 3]);
    assert!(d[0].is_infinite() && d[3].is_infinite());
    assert!((d[1] - (3.0 / 4.0 + 3.0 / 4.0)).abs() < 1e-12);
    assert!((d[2] - (3.0 / 4.0 + 3.0 / 4.0)).abs() < 1e-12);
    let objs = vec![vec![0.0, 4.0], vec![1.0, 3.0], vec![1.5, 2.5], vec![4.0, 0.0]];
    let d = nsga::crowding_distance(&objs, &[0, 1, 2, 3]);
    assert!((d[1] - (1.5 / 4.0 + 1.5 / 4.0)).abs() < 1e-12);
    assert!((d[2] - (3.0 / 4.0 + 3.0 / 4.0)).abs() < 1e-12);
    // Rank: front first, then crowding (ends first), then the more isolated inner point.
    let mut all = objs.clone();
    all.push(vec![-1.0, -1.0]);
    assert_eq!(nsga::rank(&all), vec![0, 3, 2, 1, 4]);
}

#[test]
fn selection_counts_match_the_paper() {
    assert_eq!(SearchConfig::default().selection_counts(), (192, 153, 807));
}

fn random_start(rng: &mut ChaCha8Rng) -> Genome {
    let mut c = SearchConfig { population: 2, seed: rand::Rng::random(rng), ..Default::default() };
    c.init_enable = 0.05;
    Search::new(c, 256, 10).unwrap().state.population.remove(0)
}

#[test]
fn thousands_of_mutations_keep_genomes_valid() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let pool = Activation::MNIST_POOL;
    let rates = MutationRates::default();
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let mut g = random_start(&mut rng);
        let mut counters = Counters::after([&g]);
        for _ in 0..150 {
            let before_innovations: HashSet<u64> = g.conns.iter().map(|c| c.innovation).collect();
            let (m, changed) = mutation::mutate(&mut g, &rates, &pool, &mut counters, &mut rng);
            seen.insert((m, changed));
            g.validate().unwrap_or_else(|e| panic!("{m:?} broke the genome: {e}"));
            assert!(g.hidden.iter().all(|h| pool.contains(&h.activation)), "activation outside the pool");
            // New genes get new innovation numbers, above all earlier ones.
            for c in g.conns.iter().filter(|c| !before_innovations.contains(&c.innovation)) {
                assert!(c.innovation < counters.next_innovation);
            }
        }
    }
    for m in
        [mutation::Mutation::AddConnection, mutation::Mutation::AddNode, mutation::Mutation::ChangeActivation]
    {
        assert!(seen.contains(&(m, true)), "{m:?} never applied");
    }
}

#[test]
fn add_node_keeps_the_function_at_unit_weight_for_linear_nodes() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let data = common::synthetic_test();
    for _ in 0..50 {
        let mut g = random_start(&mut rng);
        let mut counters = Counters::after([&g]);
        let before = ReferenceNet::new(&g).unwrap();
        assert!(mutation::add_node(&mut g, &[Activation::Linear], &mut counters, &mut rng));
        let after = ReferenceNet::new(&g).unwrap();
        for i in 0..5 {
            assert_eq!(before.outputs(data.input(i), 1.0), after.outputs(data.input(i), 1.0));
        }
    }
}

#[test]
fn add_connection_follows_layers() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..200 {
        let mut g = random_start(&mut rng);
        let mut counters = Counters::after([&g]);
        for _ in 0..5 {
            mutation::add_node(&mut g, &Activation::MNIST_POOL, &mut counters, &mut rng);
        }
        let layers = mutation::layers(&g);
        let n = g.conns.len();
        if mutation::add_connection(&mut g, &mut counters, &mut rng) {
            let c = g.conns[n];
            assert!(layers[&c.dst] > layers[&c.src], "new connection must go to a higher layer");
            assert!(c.enabled);
            g.validate().unwrap();
        }
    }
}

struct Quiet;
impl Progress for Quiet {
    fn generation(&mut self, _: &GenerationStats, _: f64, _: u64) {}
    fn message(&mut self, _: &str) {}
}

fn small_config(seed: u64, generations: u64) -> SearchConfig {
    SearchConfig {
        population: 40,
        generations,
        minibatch: 200,
        tournament: 8,
        seed,
        checkpoint_every: 2,
        ..Default::default()
    }
}

fn task(seed: u64, minibatch: usize) -> Classification {
    let data = Arc::new((*common::synthetic_test()).clone().truncated(3000));
    Classification::new(Box::new(CpuEvaluator::new(data.clone())), data, minibatch, seed)
}

fn run_generations(search: &mut Search, seed: u64, n: u64) {
    let mut t = task(seed, search.state.config.minibatch);
    for _ in 0..n {
        search.step(&mut t).unwrap();
    }
}

#[test]
fn same_seed_same_search_bit_for_bit() {
    let mut a = Search::new(small_config(7, 6), 256, 10).unwrap();
    let mut b = Search::new(small_config(7, 6), 256, 10).unwrap();
    run_generations(&mut a, 7, 6);
    run_generations(&mut b, 7, 6);
    assert_eq!(a.state, b.state);
    let mut c = Search::new(small_config(8, 6), 256, 10).unwrap();
    run_generations(&mut c, 8, 6);
    assert_ne!(a.state.population, c.state.population);
}

#[test]
fn checkpoint_and_resume_equal_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(3, 8);
    // Uninterrupted.
    let mut whole = Search::new(config.clone(), 256, 10).unwrap();
    run_generations(&mut whole, 3, 8);
    // Interrupted after 4 generations (flag set), then resumed from the checkpoint on disk.
    run::create(dir.path(), &config).unwrap();
    let mut first = Search::new(config.clone(), 256, 10).unwrap();
    run_generations(&mut first, 3, 4);
    let stop = AtomicBool::new(true);
    let outcome = run::execute(&mut first, &mut task(3, 200), dir.path(), &stop, &mut Quiet).unwrap();
    assert_eq!(outcome, Outcome::Interrupted { generation: 4 });
    let state = run::load_checkpoint(dir.path()).unwrap();
    assert_eq!(state, first.state, "the checkpoint holds the whole state");
    let mut resumed = Search::resume(state);
    let go = AtomicBool::new(false);
    assert_eq!(
        run::execute(&mut resumed, &mut task(3, 200), dir.path(), &go, &mut Quiet).unwrap(),
        Outcome::Completed
    );
    assert_eq!(resumed.state, whole.state);
    // The run directory holds the log rows written after resuming, the champion and the checkpoint.
    let log = std::fs::read_to_string(dir.path().join(run::LOG)).unwrap();
    assert_eq!(log.lines().count(), 1 + 4);
    // champion.json is written by the resumed part exactly when it found the final champion, and
    // then it is that champion.
    let champion = resumed.state.champion.as_ref().unwrap();
    let saved = dir.path().join(run::CHAMPION_JSON);
    assert_eq!(saved.exists(), champion.generation >= 4);
    if saved.exists() {
        assert_eq!(wann::genome::json::load(&saved).unwrap(), champion.genome);
    }
}

#[test]
fn corrupt_or_missing_checkpoints_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = run::load_checkpoint(dir.path()).unwrap_err().to_string();
    assert!(e.contains("no checkpoint here"), "{e}");
    std::fs::write(dir.path().join(run::CHECKPOINT), b"not gzip at all").unwrap();
    let e = run::load_checkpoint(dir.path()).unwrap_err().to_string();
    assert!(e.contains("corrupt checkpoint"), "{e}");
    let search = Search::new(small_config(1, 2), 256, 10).unwrap();
    run::save_checkpoint(dir.path(), &search.state).unwrap();
    let bytes = std::fs::read(dir.path().join(run::CHECKPOINT)).unwrap();
    std::fs::write(dir.path().join(run::CHECKPOINT), &bytes[..bytes.len() / 2]).unwrap();
    assert!(run::load_checkpoint(dir.path()).unwrap_err().to_string().contains("corrupt checkpoint"));
    // A run directory that already holds a run is not overwritten.
    run::save_checkpoint(dir.path(), &search.state).unwrap();
    let e = run::create(dir.path(), &search.state.config).unwrap_err();
    assert!(matches!(&e, wann::Error::RunExists(d) if d == dir.path()), "{e}");
    assert!(e.to_string().contains("already holds a run"), "{e}");
}

#[test]
fn a_short_search_on_mnist_improves_fitness() {
    let config =
        SearchConfig { population: 64, generations: 40, minibatch: 300, tournament: 8, ..Default::default() };
    let mut search = Search::new(config, 256, 10).unwrap();
    let mut t = task(0, 300);
    let first = search.step(&mut t).unwrap();
    let mut last = first.clone();
    for _ in 1..40 {
        last = search.step(&mut t).unwrap();
    }
    assert!(
        last.champion_fitness > first.champion_fitness + 0.2,
        "champion fitness {} -> {}",
        first.champion_fitness,
        last.champion_fitness
    );
    assert!(
        last.median_mean > first.median_mean + 0.2,
        "median {} -> {}",
        first.median_mean,
        last.median_mean
    );
}

#[test]
fn the_search_does_not_depend_on_the_thread_count() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut s = Search::new(small_config(5, 5), 256, 10).unwrap();
            run_generations(&mut s, 5, 5);
            s.state
        })
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn a_whole_set_check_makes_the_champion_fitness_its_training_set_fitness() {
    // With the check covering the whole (3000-image) set, the champion's recorded fitness is its mean
    // over the weights of minus the mean cross-entropy on every image: recompute that with the f64
    // reference evaluator from the genome alone.
    let data = Arc::new((*mnist_test!()).clone().truncated(3000));
    let mut t = Classification::new(Box::new(CpuEvaluator::new(data.clone())), data.clone(), 200, 4)
        .with_check(data.len());
    let mut search = Search::new(small_config(4, 6), 256, 10).unwrap();
    let mut previous = f64::NEG_INFINITY;
    for _ in 0..6 {
        let s = search.step(&mut t).unwrap();
        assert!(s.champion_fitness >= previous, "the champion only ever improves");
        previous = s.champion_fitness;
    }
    let champion = search.state.champion.as_ref().unwrap();
    let weights = &search.state.config.weights;
    let all: Vec<u32> = (0..data.len() as u32).collect();
    let stats = wann::eval::reference::evaluate(&champion.genome, weights, &data, &all).unwrap();
    let want = stats.iter().map(|s| -s.ce_sum / all.len() as f64).sum::<f64>() / weights.len() as f64;
    assert!((champion.fitness - want).abs() < 1e-4 * want.abs(), "{} vs {want}", champion.fitness);
}

#[test]
fn a_reference_semantics_search_does_not_depend_on_the_thread_count() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let config = SearchConfig { semantics: wann::genome::Semantics::Reference, ..small_config(6, 6) };
            let mut s = Search::new(config, 256, 10).unwrap();
            run_generations(&mut s, 6, 6);
            s.state
        })
    };
    let one = run(1);
    assert!(one.population.iter().all(|g| g.semantics == wann::genome::Semantics::Reference));
    assert_eq!(one, run(2));
}

#[test]
fn a_run_extended_to_more_generations_equals_a_longer_run() {
    let mut long = Search::new(small_config(6, 5), 256, 10).unwrap();
    run_generations(&mut long, 6, 5);
    let mut short = Search::new(small_config(6, 2), 256, 10).unwrap();
    run_generations(&mut short, 6, 2);
    assert!(short.is_done());
    short.state.config.generations = 5;
    run_generations(&mut short, 6, 3);
    assert_eq!(short.state, long.state);
}

#[test]
fn resume_refuses_a_checkpoint_of_another_run_and_a_locked_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut configs = [small_config(1, 2), small_config(1, 2)];
    configs[0].run_id = run::new_run_id();
    configs[1].run_id = format!("{}-other", run::new_run_id());
    for (d, c) in [(&a, &configs[0]), (&b, &configs[1])] {
        let _lock = run::create(d, c).unwrap();
        run::save_checkpoint(d, &Search::new(c.clone(), 256, 10).unwrap().state).unwrap();
    }
    let (state, lock) = run::open(&a).unwrap();
    assert_eq!(state.config, configs[0]);
    let e = run::open(&a).unwrap_err().to_string();
    assert!(e.contains("in use by") && e.contains(&std::process::id().to_string()), "{e}");
    drop(lock);
    std::fs::copy(b.join(run::CHECKPOINT), a.join(run::CHECKPOINT)).unwrap();
    let e = run::open(&a).unwrap_err().to_string();
    assert!(e.contains("belongs to another run"), "{e}");
}

#[test]
fn a_checkpoint_mixing_network_shapes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut search = Search::new(small_config(1, 2), 256, 10).unwrap();
    search.state.population[1] = Genome::empty(255, 10);
    run::save_checkpoint(dir.path(), &search.state).unwrap();
    let e = run::load_checkpoint(dir.path()).unwrap_err().to_string();
    assert!(e.contains("255 inputs"), "{e}");
}

/// A task whose evaluations all fail, as a lost GPU would.
struct FailingTask;

impl wann::evolve::task::Task for FailingTask {
    fn describe(&self) -> String {
        "always fails".into()
    }
    fn n_inputs(&self) -> u32 {
        256
    }
    fn n_outputs(&self) -> u32 {
        10
    }
    fn fitness(
        &mut self,
        _: &wann::program::Programs,
        _: &[f32],
        _: wann::evolve::task::Sample,
    ) -> wann::Result<Vec<f64>> {
        Err(wann::Error::Gpu("device lost".into()))
    }
    fn cases_per_evaluation(&self) -> u64 {
        1
    }
}

#[test]
fn a_failed_generation_keeps_its_cause_and_an_intact_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(5, 3);
    run::create(dir.path(), &config).unwrap();
    let mut search = Search::new(config, 256, 10).unwrap();
    let e = run::execute(&mut search, &mut FailingTask, dir.path(), &AtomicBool::new(false), &mut Quiet)
        .unwrap_err();
    match &e {
        wann::Error::GenerationFailed { generation, dir: d, source } => {
            assert_eq!((*generation, d.as_path()), (0, dir.path()));
            assert!(matches!(**source, wann::Error::Gpu(ref m) if m == "device lost"), "{source}");
        }
        other => panic!("expected a failed generation, got {other:?}"),
    }
    // The cause is the error's source, not flattened into its message.
    let source = std::error::Error::source(&e).unwrap().to_string();
    assert!(source.contains("device lost") && !e.to_string().contains("device lost"), "{e}");
    assert!(!e.to_string().contains("--"), "no CLI flags in a library message: {e}");
    assert_eq!(run::load_checkpoint(dir.path()).unwrap(), search.state);
}
