use super::DataArgs;
use std::sync::Arc;
use wann::bench::{self, BenchConfig, Measurement, Size};
use wann::data::mnist::Split;
use wann::eval::backend::Backend;

#[derive(clap::Args)]
pub struct Args {
    /// Backend to measure; by default every one available (the CPU, and the GPU if there is an adapter).
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// Network sizes: start (~130 connections), mid (~800), champion (~1850 connections, ~400 hidden).
    #[arg(long, value_delimiter = ',', default_value = "start,mid,champion")]
    sizes: Vec<String>,
    /// Sizes of the bred-generation workloads (a generation made by the search's own selection and
    /// mutation, measured with and without children as deltas of their parents); "none" for none.
    #[arg(long, value_delimiter = ',', default_value = "champion")]
    bred: Vec<String>,
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
    let pick = |names: &[String], flag: &str| {
        names
            .iter()
            .filter(|n| n.as_str() != "none")
            .map(|name| {
                all.iter().find(|s| &s.name == name).cloned().ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown size {name:?} for --{flag}: choose from start, mid, champion (comma-separated)"
                    )
                })
            })
            .collect::<anyhow::Result<Vec<Size>>>()
    };
    let sizes = pick(&args.sizes, "sizes")?;
    let bred = pick(&args.bred, "bred")?;
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
        None if cfg!(feature = "gpu") => vec![Backend::Cpu, Backend::Gpu],
        None => vec![Backend::Cpu],
    };
    let mut evaluators = Vec::new();
    let mut notes = Vec::new();
    for b in backends {
        match super::open_backend(b, data.clone()) {
            Ok((e, _)) => evaluators.push((e.describe(), e)),
            Err(e) if args.backend.is_none() => notes.push(format!("{b:?} skipped: {e}").to_lowercase()),
            Err(e) => return Err(e),
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
    if !args.json && !bred.is_empty() {
        eprintln!("breeding the generation workloads ...");
    }
    let bred_workloads = bench::generation_workloads(&cfg, &bred, &data)?;
    let mut results: Vec<Measurement> = Vec::new();
    for w in &workloads {
        for (name, e) in evaluators.iter_mut() {
            if !args.json {
                eprintln!("measuring {} on {name} ...", w.name);
            }
            results.push(bench::measure(
                e.as_mut(),
                name,
                w,
                &cfg.weights,
                cfg.warmup,
                cfg.repetitions,
                false,
            )?);
        }
    }
    let mut delta_ratios = Vec::new();
    for w in &bred_workloads {
        for (name, e) in evaluators.iter_mut() {
            if !args.json {
                eprintln!("measuring {} on {name}, children in full and as deltas ...", w.name);
            }
            let full = bench::measure(e.as_mut(), name, w, &cfg.weights, cfg.warmup, cfg.repetitions, false)?;
            let delta = bench::measure(e.as_mut(), name, w, &cfg.weights, cfg.warmup, cfg.repetitions, true)?;
            delta_ratios.push(serde_json::json!({
                "workload": w.name,
                "backend": name,
                "speedup": full.seconds.median / delta.seconds.median,
                "effective_edge_evaluations": full.edge_evaluations,
                "computed_full": full.computed_edge_evaluations,
                "computed_delta": delta.computed_edge_evaluations,
            }));
            results.push(full);
            results.push(delta);
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
            "delta_over_full": delta_ratios,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    outln!(
        "{:<34} {:<6} {:<34} {:>6} {:>21} {:>10} {:>10} {:>10} {:>9} {:>24}",
        "workload",
        "deltas",
        "backend",
        "conns",
        "seconds med (min-max)",
        "genome/s",
        "image/s",
        "edge/s",
        "computed",
        "gpu split up/comp/back"
    );
    for m in &results {
        let split =
            m.split.map_or("-".into(), |s| format!("{:.3}/{:.3}/{:.3}", s.upload, s.compute, s.readback));
        let backend: String = m.backend.chars().take(34).collect();
        outln!(
            "{:<34} {:<6} {:<34} {:>6.0} {:>8.3} ({:.3}-{:.3}) {:>10.3e} {:>10.3e} {:>10.3e} {:>8.1}% {:>24}",
            m.workload,
            if m.deltas { "on" } else { "off" },
            backend,
            m.mean_connections,
            m.seconds.median,
            m.seconds.min,
            m.seconds.max,
            m.genome_evaluations_per_second,
            m.image_evaluations_per_second,
            m.edge_evaluations_per_second,
            100.0 * m.computed_edge_evaluations as f64 / m.edge_evaluations.max(1) as f64,
            split
        );
    }
    outln!(
        "edge/s counts effective edge-evaluations (enabled connection x image x weight delivered); \
         computed: the share of them actually run (compiled edges; only the cones of children with deltas on)"
    );
    for r in &delta_ratios {
        outln!(
            "delta speed-up on {} ({}): {:.2}x (same run); edge-evaluations per run: {:.3e} effective, \
             {:.3e} computed in full, {:.3e} with deltas",
            r["workload"].as_str().unwrap_or(""),
            r["backend"].as_str().unwrap_or(""),
            r["speedup"].as_f64().unwrap_or(0.0),
            r["effective_edge_evaluations"].as_u64().unwrap_or(0) as f64,
            r["computed_full"].as_u64().unwrap_or(0) as f64,
            r["computed_delta"].as_u64().unwrap_or(0) as f64,
        );
    }
    for (w, r) in &ratios {
        outln!("gpu/cpu speed-up on {w}: {r:.2}x (same run)");
    }
    // How the GPU ran each workload: which kernel took each program, deltas, copies, the table.
    for m in results.iter().filter(|m| !m.work_counts.is_empty()) {
        let counts: Vec<String> = m.work_counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let deltas = if m.deltas { ", deltas on" } else { "" };
        outln!("work on {}{deltas}: {}", m.workload, counts.join(", "));
    }
    Ok(())
}
