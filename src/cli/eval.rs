use super::DataArgs;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use wann::data::mnist::Split;
use wann::eval::{backend, TRAINING_WEIGHTS};

#[derive(clap::Args)]
pub struct Args {
    /// The network: JSON, or the reference's `.out`.
    genome: PathBuf,
    /// Shared weight values to evaluate at.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, default_values_t = TRAINING_WEIGHTS.to_vec())]
    weights: Vec<f32>,
    /// Which MNIST split to evaluate on.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    split: Split,
    /// Only the first N examples of the split.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// What evaluates: a hardware GPU if there is one (auto), the GPU, or the CPU.
    #[arg(long, value_enum, default_value_t = backend::Backend::Auto)]
    backend: backend::Backend,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(bad) = args.weights.iter().find(|w| !w.is_finite()) {
        anyhow::bail!("weight {bad} is not a finite number");
    }
    let genome = wann::genome::load(&args.genome, 256, 10)?;
    let program = wann::program::compile(&genome).context("cannot compile the network")?;
    let mut data = args.data.load(args.split)?;
    if let Some(n) = args.limit {
        data = data.truncated(n);
    }
    let data = Arc::new(data);
    let (mut evaluator, chosen) = backend::open(args.backend, data.clone())?;
    if !args.json {
        eprintln!("{chosen}");
    }
    let programs = wann::program::Programs::pack([&program]);
    let result = evaluator.evaluate(&programs, &args.weights, &data.all_indices())?;
    let rows: Vec<serde_json::Value> = args
        .weights
        .iter()
        .enumerate()
        .map(|(w, &weight)| {
            serde_json::json!({
                "weight": weight,
                "accuracy": result.accuracy(0, w),
                "mean_cross_entropy": result.mean_ce(0, w),
            })
        })
        .collect();
    if args.json {
        let out = serde_json::json!({
            "genome": args.genome,
            "split": args.split.to_string(),
            "examples": data.len(),
            "evaluator": evaluator.describe(),
            "enabled_connections": genome.enabled_connections(),
            "hidden_nodes": genome.hidden.len(),
            "per_weight": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{}: {} hidden nodes, {} enabled connections; MNIST {} ({} images) on {}",
        args.genome.display(),
        genome.hidden.len(),
        genome.enabled_connections(),
        args.split,
        data.len(),
        evaluator.describe()
    );
    println!("{:>8}  {:>9}  {:>13}", "weight", "accuracy", "cross-entropy");
    for (w, &weight) in args.weights.iter().enumerate() {
        println!("{:>8.2}  {:>8.2}%  {:>13.4}", weight, 100.0 * result.accuracy(0, w), result.mean_ce(0, w));
    }
    Ok(())
}

/// The test-set summary printed at the end of a search: accuracy per training weight value.
pub fn summarize_champion(
    genome: &wann::genome::Genome,
    data: &DataArgs,
    backend: backend::Backend,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let program = wann::program::compile(genome)?;
    let test = Arc::new(data.load(Split::Test)?);
    let (mut evaluator, _) = backend::open(backend, test.clone())?;
    let r = evaluator.evaluate(
        &wann::program::Programs::pack([&program]),
        &TRAINING_WEIGHTS,
        &test.all_indices(),
    )?;
    println!("champion on the MNIST test set ({} images), {}:", test.len(), dir.display());
    println!("{:>8}  {:>9}  {:>13}", "weight", "accuracy", "cross-entropy");
    for (w, &weight) in TRAINING_WEIGHTS.iter().enumerate() {
        println!("{:>8.2}  {:>8.2}%  {:>13.4}", weight, 100.0 * r.accuracy(0, w), r.mean_ce(0, w));
    }
    Ok(())
}
