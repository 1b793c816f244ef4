//! Criterion benchmarks of the CPU-side hot paths, so that a regression shows: the fast CPU
//! evaluator, the compiler, NSGA-II ranking and mutation. `cargo bench`; `wann bench` measures the
//! paper-sized workloads on every backend.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::sync::Arc;
use wann::data::Dataset;
use wann::eval::{cpu::CpuEvaluator, Evaluator, TRAINING_WEIGHTS};
use wann::evolve::config::SearchConfig;
use wann::evolve::mutation::{self, Counters, MutationRates};
use wann::evolve::nsga;
use wann::evolve::search::Search;
use wann::genome::Activation;
use wann::program::{compile, compile_valid, Programs};
use wann::workload::grown_network;

/// Random 16x16 "images": the evaluator's cost does not depend on the pixel values.
fn synthetic_data(n: usize) -> Arc<Dataset> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    Arc::new(Dataset {
        name: "synthetic".into(),
        dim: 256,
        classes: 10,
        inputs: (0..n * 256).map(|_| rng.random::<f32>()).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
    })
}

fn evaluator(c: &mut Criterion) {
    let data = synthetic_data(512);
    let indices: Vec<u32> = (0..512).collect();
    let mut group = c.benchmark_group("cpu_evaluate");
    group.sample_size(10);
    for (name, conns, hidden) in [("start", 130, 0), ("champion", 1850, 400)] {
        let progs: Vec<_> = (0..8u64)
            .map(|s| {
                let g = if hidden == 0 {
                    Search::new(SearchConfig { population: 2, seed: s, ..Default::default() }, 256, 10)
                        .unwrap()
                        .state
                        .population
                        .remove(0)
                } else {
                    grown_network(s, 256, 10, conns, hidden)
                };
                compile(&g).unwrap()
            })
            .collect();
        let packed = Programs::pack(&progs);
        let edges = packed.total_enabled_connections() * 6 * indices.len() as u64;
        group.throughput(Throughput::Elements(edges));
        let mut cpu = CpuEvaluator::new(data.clone());
        group.bench_function(name, |b| {
            b.iter(|| black_box(cpu.evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap()))
        });
    }
    // A generation bred by the search from champion-sized networks, children in full and as deltas.
    let cfg = wann::bench::BenchConfig { population: 192, minibatch: 512, ..Default::default() };
    let champion = wann::bench::Size::standard().pop().unwrap();
    let bred = wann::bench::generation_workloads(&cfg, &[champion], &data).unwrap().remove(0);
    let parents = bred.parents.clone().unwrap();
    group.throughput(Throughput::Elements(bred.edge_evaluations(6)));
    let mut cpu = CpuEvaluator::new(data.clone());
    group.bench_function("bred_champion_full", |b| {
        b.iter(|| black_box(cpu.evaluate(&bred.programs, &TRAINING_WEIGHTS, &bred.images).unwrap()))
    });
    group.bench_function("bred_champion_deltas", |b| {
        b.iter(|| {
            black_box(
                cpu.evaluate_with_parents(&bred.programs, &parents, &TRAINING_WEIGHTS, &bred.images).unwrap(),
            )
        })
    });
    group.finish();
}

fn compiler(c: &mut Criterion) {
    let g = grown_network(1, 256, 10, 1850, 400);
    c.bench_function("compile/champion_validated", |b| b.iter(|| black_box(compile(&g).unwrap())));
    c.bench_function("compile/champion_trusted", |b| b.iter(|| black_box(compile_valid(&g).unwrap())));
}

fn ranking(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let objs: Vec<Vec<f64>> = (0..960).map(|_| vec![rng.random::<f64>(), rng.random::<f64>()]).collect();
    c.bench_function("nsga_rank/960", |b| b.iter(|| black_box(nsga::rank(&objs))));
    // The two-objective fronts against the all-pairs method they replace, in the same run.
    c.bench_function("nsga_fronts/960_two_objectives", |b| b.iter(|| black_box(nsga::fronts(&objs))));
    c.bench_function("nsga_fronts/960_all_pairs", |b| b.iter(|| black_box(nsga::fronts_all_pairs(&objs))));
}

fn mutate(c: &mut Criterion) {
    let parents =
        Search::new(SearchConfig { population: 64, ..Default::default() }, 256, 10).unwrap().state.population;
    let grown = grown_network(3, 256, 10, 1850, 400);
    let rates = MutationRates::default();
    for (name, pool) in [("start", parents), ("champion", vec![grown])] {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut counters = Counters::after(&pool);
        let mut k = 0;
        c.bench_function(&format!("mutate/{name}"), |b| {
            b.iter(|| {
                let mut child = pool[k % pool.len()].clone();
                k += 1;
                black_box(mutation::mutate(
                    &mut child,
                    &rates,
                    &Activation::MNIST_POOL,
                    &mut counters,
                    &mut rng,
                ))
            })
        });
    }
}

criterion_group!(benches, evaluator, compiler, ranking, mutate);
criterion_main!(benches);
