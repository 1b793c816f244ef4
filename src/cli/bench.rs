use super::DataArgs;
use std::sync::Arc;
use wann::bench::{self, BenchConfig, Measurement, Size};
use wann::data::mnist::Split;
use wann::eval::backend::{self, Backend};

#[derive(clap::Args)]
pub struct Args {
    /// Backend to measure; by default every one available (the CPU, and the GPU if there is an adapter).
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// Network sizes: start (~130 connections), mid (~800), champion (~1850 connections, ~400 hidden).
    #[arg(long, value_delimiter = ',', default_value = "start,mid,champion")]
    sizes: Vec<String>,
    /// Networks per generation workload.
    #[arg(long, default_value_t = 960)]
    population: usize,
    /// Images per generation workload.
    #[arg(long, default_value_t = 1000)]
    minibatch: usize,
    /// Images of the test-set workload.
    #[arg(long, default_value_t = 10_000)]
    test_images: usize,
    /// Timed repetitions per workload (after the warm-up).
    #[arg(long, default_value_t = 5)]
    repetitions: usize,
    /// Untimed runs before the timed ones.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Seed of the benchmark networks and minibatch.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let all = Size::standard();
    let sizes = args
        .sizes
        .iter()
        .map(|name| {
            all.iter().find(|s| &s.name == name).cloned().ok_or_else(|| {
                anyhow::anyhow!("unknown size {name:?}: choose from start, mid, champion (comma-separated)")
            })
        })
        .collect::<anyhow::Result<Vec<Size>>>()?;
    let cfg = BenchConfig {
        population: args.population,
        minibatch: args.minibatch,
        test_images: args.test_images,
        repetitions: args.repetitions,
        warmup: args.warmup,
        seed: args.seed,
        ..Default::default()
    };
    let data = Arc::new(args.data.load(Split::Test)?);
    cfg.validate(data.len())?;
    let backends: Vec<Backend> = match args.backend {
        Some(b) => vec![b],
        None => vec![Backend::Cpu, Backend::Gpu],
    };
    let mut evaluators = Vec::new();
    let mut notes = Vec::new();
    for b in backends {
        match backend::open(b, data.clone()) {
            Ok((e, _)) => evaluators.push((e.describe(), e)),
            Err(e) if args.backend.is_none() => notes.push(format!("{b:?} skipped: {e}").to_lowercase()),
            Err(e) => return Err(e.into()),
        }
    }
    if !args.json {
        eprintln!("cpu: {}", bench::cpu_name());
        for n in &notes {
            eprintln!("{n}");
        }
        eprintln!("growing the benchmark networks (seed {}) ...", cfg.seed);
    }
    let workloads = bench::workloads(&cfg, &sizes, &data)?;
    let mut results: Vec<Measurement> = Vec::new();
    for w in &workloads {
        for (name, e) in evaluators.iter_mut() {
            if !args.json {
                eprintln!("measuring {} on {name} ...", w.name);
            }
            results.push(bench::measure(e.as_mut(), name, w, &cfg.weights, cfg.warmup, cfg.repetitions)?);
        }
    }
    let ratios: Vec<(String, f64)> = workloads
        .iter()
        .filter_map(|w| {
            let of = |prefix: &str| {
                results
                    .iter()
                    .find(|m| m.workload == w.name && m.backend.starts_with(prefix))
                    .map(|m| m.seconds.median)
            };
            Some((w.name.clone(), of("cpu")? / of("gpu")?))
        })
        .collect();
    if args.json {
        let out = serde_json::json!({
            "cpu": bench::cpu_name(),
            "config": cfg,
            "notes": notes,
            "results": results,
            "gpu_over_cpu": ratios.iter().map(|(w, r)| serde_json::json!({"workload": w, "speedup": r})).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    outln!(
        "{:<34} {:<34} {:>6} {:>21} {:>10} {:>10} {:>10} {:>24}",
        "workload",
        "backend",
        "conns",
        "seconds med (min-max)",
        "genome/s",
        "image/s",
        "edge/s",
        "gpu split up/comp/back"
    );
    for m in &results {
        let split =
            m.split.map_or("-".into(), |s| format!("{:.3}/{:.3}/{:.3}", s.upload, s.compute, s.readback));
        let backend: String = m.backend.chars().take(34).collect();
        outln!(
            "{:<34} {:<34} {:>6.0} {:>8.3} ({:.3}-{:.3}) {:>10.3e} {:>10.3e} {:>10.3e} {:>24}",
            m.workload,
            backend,
            m.mean_connections,
            m.seconds.median,
            m.seconds.min,
            m.seconds.max,
            m.genome_evaluations_per_second,
            m.image_evaluations_per_second,
            m.edge_evaluations_per_second,
            split
        );
    }
    for (w, r) in &ratios {
        outln!("gpu/cpu speed-up on {w}: {r:.2}x (same run)");
    }
    Ok(())
}
