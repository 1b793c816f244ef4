use std::sync::Arc;
use std::time::Instant;
use wann::eval::{cpu::CpuEvaluator, Evaluator, TRAINING_WEIGHTS};
fn main() {
    let data = Arc::new(
        wann::data::mnist::load(std::path::Path::new("data/mnist"), wann::data::mnist::Split::Test).unwrap(),
    );
    let n: usize = std::env::args().nth(1).map_or(96, |s| s.parse().unwrap());
    let t = Instant::now();
    let genomes: Vec<_> =
        (0..n as u64).map(|s| wann::workload::grown_network(s, 256, 10, 1850, 400)).collect();
    eprintln!("grew {} networks in {:?}", n, t.elapsed());
    let progs: Vec<_> = genomes.iter().map(|g| wann::program::compile(g).unwrap()).collect();
    let (c, h) = progs[0].edge_split();
    eprintln!(
        "enabled {} ops {} const edges {} hidden edges {}",
        progs[0].enabled_connections,
        progs[0].ops.len(),
        c,
        h
    );
    let packed = wann::program::Programs::pack(&progs);
    let idx: Vec<u32> = (0..1000).collect();
    let mut cpu = CpuEvaluator::new(data);
    for _ in 0..3 {
        let t = Instant::now();
        cpu.evaluate(&packed, &TRAINING_WEIGHTS, &idx).unwrap();
        let s = t.elapsed().as_secs_f64();
        let edges = packed.total_enabled_connections() as f64 * 6.0 * 1000.0;
        eprintln!("{:.3}s  {:.3e} edge-evals/s", s, edges / s);
    }
}
