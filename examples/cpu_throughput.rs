//! Quick throughput probe of the CPU evaluator on champion-sized networks (see `wann bench` for the
//! real benchmark). Usage: cargo run --release --example cpu_throughput [networks] [images]
use std::sync::Arc;
use std::time::Instant;
use wann::eval::{cpu::CpuEvaluator, Evaluator, TRAINING_WEIGHTS};
fn main() {
    let data = Arc::new(
        wann::data::mnist::load(std::path::Path::new("data/mnist"), wann::data::mnist::Split::Test).unwrap(),
    );
    let n: usize = std::env::args().nth(1).map_or(96, |s| s.parse().unwrap());
    let images: u32 = std::env::args().nth(2).map_or(1000, |s| s.parse().unwrap());
    let base: Vec<_> = (0..8u64).map(|s| wann::workload::grown_network(s, 256, 10, 1850, 400)).collect();
    let progs: Vec<_> = (0..n).map(|i| wann::program::compile(&base[i % 8]).unwrap()).collect();
    let packed = wann::program::Programs::pack(&progs);
    let idx: Vec<u32> = (0..images).collect();
    let mut cpu = CpuEvaluator::new(data);
    for _ in 0..3 {
        let t = Instant::now();
        cpu.evaluate(&packed, &TRAINING_WEIGHTS, &idx).unwrap();
        let s = t.elapsed().as_secs_f64();
        let edges = packed.total_enabled_connections() as f64 * 6.0 * images as f64;
        eprintln!("{:.3}s  {:.3e} edge-evals/s", s, edges / s);
    }
}
