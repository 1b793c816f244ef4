use super::DataArgs;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wann::data::mnist::Split;
use wann::eval::{backend, TRAINING_WEIGHTS};
use wann::report::{self, pictures, EnsembleSet, Report, Sweep, PAPER};

#[derive(clap::Args)]
pub struct Args {
    /// The network: JSON, or the reference's `.out`.
    genome: PathBuf,
    /// Shared weight values for the per-weight rows (and the default ensemble).
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
    /// Random shared-weight draws from U(-2, 2) for the "random weight" row.
    #[arg(long, value_name = "N", default_value_t = 100)]
    draws: usize,
    /// Seed of the random draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The weight grid of the tuned-weight search and the heat map.
    #[arg(long, value_name = "START:STOP:STEP", allow_hyphen_values = true, default_value = "-2:2:0.1")]
    sweep: Sweep,
    /// Who votes in the ensemble: the per-weight values (--weights) or every sweep point.
    #[arg(long, value_enum, default_value_t = EnsembleSet::Training)]
    ensemble: EnsembleSet,
    /// Print everything as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Write a PNG heat map of accuracy by sweep weight for each digit.
    #[arg(long, value_name = "FILE.png")]
    heatmap: Option<PathBuf>,
    #[command(flatten)]
    pictures: super::draw::PictureArgs,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(bad) = args.weights.iter().find(|w| !w.is_finite()) {
        anyhow::bail!("weight {bad} is not a finite number");
    }
    if let Some(p) = &args.heatmap {
        check_extension(p, "png", "--heatmap")?;
    }
    args.pictures.check()?;
    let genome = wann::genome::load(&args.genome, 256, 10)
        .with_context(|| format!("cannot load the network {}", args.genome.display()))?;
    let mut data = args.data.load(args.split)?;
    if let Some(n) = args.limit {
        data = data.truncated(n);
    }
    let data = Arc::new(data);
    let (mut evaluator, chosen) = backend::open(args.backend, data.clone())?;
    if !args.json {
        eprintln!("{chosen}");
    }
    let options = report::Options {
        weights: args.weights.clone(),
        draws: args.draws,
        seed: args.seed,
        sweep: args.sweep,
        ensemble: args.ensemble,
    };
    let started = std::time::Instant::now();
    let rep = report::report(&mut *evaluator, &genome, &data.labels, &options)?;
    let mut written = Vec::new();
    if let Some(p) = &args.heatmap {
        pictures::save_png(&pictures::heatmap(&rep.per_digit_sweep), p)?;
        written.push(p.clone());
    }
    super::draw::write_pictures(&genome, &args.pictures, &mut written)?;
    let elapsed = started.elapsed().as_secs_f64();
    if args.json {
        // A struct rather than `json!`, which would widen every f32 weight to f64 (-0.10000000149...).
        #[derive(serde::Serialize)]
        struct Out<'a> {
            genome: &'a Path,
            split: Split,
            report: &'a Report,
            written: &'a [PathBuf],
        }
        let out = Out { genome: &args.genome, split: args.split, report: &rep, written: &written };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_tables(&args.genome, args.split, &rep);
        for p in &written {
            eprintln!("wrote {}", p.display());
        }
        eprintln!("report took {elapsed:.2} s ({:.2} s evaluating)", rep.evaluation_seconds);
    }
    Ok(())
}

/// The test-set report printed at the end of a search; the report and pictures also go into the run
/// directory (report.json, heatmap.png, receptive.png, network.png, network.dot).
pub fn summarize_champion(
    genome: &wann::genome::Genome,
    data: &DataArgs,
    backend: backend::Backend,
    dir: &Path,
) -> anyhow::Result<()> {
    let test = Arc::new(data.load(Split::Test)?);
    let (mut evaluator, _) = backend::open(backend, test.clone())?;
    let rep = report::report(&mut *evaluator, genome, &test.labels, &report::Options::default())?;
    println!("champion on the MNIST test set ({} images):", test.len());
    print_tables(&dir.join(wann::evolve::run::CHAMPION_JSON), Split::Test, &rep);
    let json = serde_json::to_string_pretty(&rep)?;
    wann::fsutil::write_atomic(&dir.join("report.json"), json.as_bytes())?;
    pictures::save_png(&pictures::heatmap(&rep.per_digit_sweep), &dir.join("heatmap.png"))?;
    let mut written = Vec::new();
    let wanted = super::draw::PictureArgs {
        receptive: Some(dir.join("receptive.png")),
        draw: Some(dir.join("network.png")),
        dot: Some(dir.join("network.dot")),
    };
    super::draw::write_pictures(genome, &wanted, &mut written)?;
    eprintln!(
        "wrote report.json, heatmap.png, receptive.png, network.png and network.dot in {}",
        dir.display()
    );
    Ok(())
}

pub fn check_extension(path: &Path, ext: &str, flag: &str) -> anyhow::Result<()> {
    if !path.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)) {
        anyhow::bail!("{flag} {}: the file name must end in .{ext}", path.display());
    }
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn print_tables(genome: &Path, split: Split, r: &Report) {
    let n = &r.network;
    println!(
        "{}: {} nodes ({} hidden, {} of them reach an output, {} layers), {} enabled connections \
         ({} genes), {} of 256 inputs used, at most {} values live at once",
        genome.display(),
        n.nodes,
        n.hidden_nodes,
        n.live_hidden_nodes,
        n.hidden_layers,
        n.enabled_connections,
        n.connection_genes,
        n.inputs_used,
        n.max_live_values
    );
    println!("MNIST {split}, {} images; {}", r.examples, r.evaluator);
    println!();
    println!("{:>8}  {:>9}  {:>13}", "weight", "accuracy", "cross-entropy");
    for row in &r.per_weight {
        println!("{:>8.2}  {:>9}  {:>13.4}", row.weight, pct(row.accuracy), row.mean_cross_entropy);
    }
    println!();
    let random = match &r.random.accuracy {
        Some(s) => format!("{} ± {}", pct(s.mean), pct(s.std)),
        None => "-".into(),
    };
    let rows = [
        (
            format!("random shared weight ({} draws, U(-2,2), seed {})", r.random.draws, r.random.seed),
            random,
            format!("{} ± {}", pct(PAPER.random_mean), pct(PAPER.random_std)),
        ),
        (
            format!("ensemble ({} votes, {:?})", r.ensemble.weights.len(), r.ensemble.set).to_lowercase(),
            pct(r.ensemble.accuracy),
            pct(PAPER.ensemble),
        ),
        (
            format!("tuned shared weight (best of {} in {})", r.tuned.grid.len(), r.tuned.sweep),
            format!("{} at w = {:.2}", pct(r.tuned.best_accuracy), r.tuned.best_weight),
            pct(PAPER.tuned),
        ),
        ("individually trained weights".into(), "-".into(), pct(PAPER.trained)),
    ];
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0).max(4);
    println!("{:<w0$}  {:>w1$}  {:>16}", "condition", "ours", "paper (WANN)");
    for (a, b, c) in &rows {
        println!("{a:<w0$}  {b:>w1$}  {c:>16}");
    }
    if let Some(s) = &r.random.accuracy {
        println!("  random draws: min {}, max {}", pct(s.min), pct(s.max));
    }
    println!("  ensemble ties: {} of {} images ({})", r.ensemble.ties, r.examples, r.ensemble.tie_rule);
    println!();
    let classes = r.ensemble.confusion.len();
    println!("ensemble per digit:");
    print!("{:>9}", "digit");
    for d in 0..classes {
        print!(" {d:>7}");
    }
    println!();
    print!("{:>9}", "accuracy");
    for a in &r.ensemble.per_digit {
        print!(" {:>7}", a.map_or("-".into(), |a| format!("{:.1}%", 100.0 * a)));
    }
    println!();
    print!("{:>9}", "best w");
    for w in &r.per_digit_sweep.best_weight {
        print!(" {:>7}", w.map_or("-".into(), |w| format!("{w:.1}")));
    }
    println!("   (single weight best for each digit, over the sweep)");
    println!();
    println!("ensemble confusion matrix (rows: true digit, columns: predicted):");
    print!("{:>5}", "");
    for d in 0..classes {
        print!(" {d:>5}");
    }
    println!();
    for (t, row) in r.ensemble.confusion.iter().enumerate() {
        print!("{t:>5}");
        for c in row {
            print!(" {c:>5}");
        }
        println!();
    }
}
