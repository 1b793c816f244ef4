use super::DataArgs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wann::data::mnist::Split;
use wann::eval::{backend, TRAINING_WEIGHTS};
use wann::evolve::config::TaskKind;
use wann::report::{self, pictures, EnsembleSet, Report, Sweep, PAPER};

/// Random shared-weight draws by default.
const DRAWS: usize = 100;

#[derive(clap::Args)]
pub struct Args {
    /// The network: JSON, or the reference's `.out`.
    genome: PathBuf,
    /// What to evaluate on: MNIST, or the cart-pole swing-up (the paper's four conditions).
    #[arg(long, value_enum, default_value_t = TaskKind::Mnist)]
    task: TaskKind,
    /// MNIST: shared weight values for the per-weight rows (and the default ensemble) [default:
    /// -2,-1,-0.5,0.5,1,2].
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    weights: Option<Vec<f32>>,
    /// MNIST: which split to evaluate on [default: test].
    #[arg(long, value_enum)]
    split: Option<Split>,
    /// MNIST: only the first N examples of the split.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// MNIST: what evaluates: a hardware GPU if there is one (auto), the GPU, or the CPU [default:
    /// auto]. The swing-up runs on the CPU.
    #[arg(long, value_enum)]
    backend: Option<backend::Backend>,
    /// MNIST: random shared-weight draws from U(-2, 2) for the "random weight" row [default: 100].
    #[arg(long, value_name = "N")]
    draws: Option<usize>,
    /// Seed of the random draws (and of the swing-up's episodes).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The weight grid of the tuned-weight search and the heat map [default: -2:2:0.1 on MNIST,
    /// -2:2:0.01 on the swing-up, whose best weights sit on narrow peaks].
    #[arg(long, value_name = "START:STOP:STEP", allow_hyphen_values = true)]
    sweep: Option<Sweep>,
    #[command(flatten)]
    swingup: super::swingup::EvalArgs,
    /// MNIST: who votes in the ensemble: the per-weight values (--weights) or every sweep point
    /// [default: training].
    #[arg(long, value_enum)]
    ensemble: Option<EnsembleSet>,
    /// Read a `.out` network's cell values as individually trained weights (by default they are
    /// ignored: the reference's shared-weight files carry leftover values).
    #[arg(long)]
    trained: bool,
    /// Print everything as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// MNIST: write a PNG heat map of accuracy by sweep weight for each digit.
    #[arg(long, value_name = "FILE.png")]
    heatmap: Option<PathBuf>,
    #[command(flatten)]
    pictures: super::draw::PictureArgs,
    #[command(flatten)]
    data: DataArgs,
}

/// One row per option of `wann eval`: its flag, the task that reads it (`None`: both) and whether it
/// was given (not told for the options both tasks read: they are never refused). Every check of which
/// task reads what comes from here, so a new option is placed once (a test checks each has its row).
fn option_table(args: &Args) -> Vec<(&'static str, Option<TaskKind>, bool)> {
    let (mnist, swingup) = (Some(TaskKind::Mnist), Some(TaskKind::Swingup));
    let (s, p) = (&args.swingup, &args.pictures);
    vec![
        ("--task", None, false),
        ("--seed", None, false),
        ("--sweep", None, false),
        ("--trained", None, false),
        ("--json", None, false),
        ("--weights", mnist, args.weights.is_some()),
        ("--split", mnist, args.split.is_some()),
        ("--limit", mnist, args.limit.is_some()),
        // The swing-up runs on the CPU whatever --backend says: only asking for the GPU misleads.
        ("--backend gpu", mnist, args.backend == Some(backend::Backend::Gpu)),
        ("--draws", mnist, args.draws.is_some()),
        ("--ensemble", mnist, args.ensemble.is_some()),
        ("--heatmap", mnist, args.heatmap.is_some()),
        ("--receptive", mnist, p.receptive.is_some()),
        ("--draw", mnist, p.draw.is_some()),
        ("--dot", mnist, p.dot.is_some()),
        // Only MNIST reads it, but it also comes from WANN_DATA, so giving it cannot be told.
        ("--data", mnist, false),
        ("--episodes", swingup, s.episodes.is_some()),
        ("--zoo", swingup, s.zoo.is_some()),
        ("--weight-bias", swingup, s.weight_bias.is_some()),
        ("--weight", swingup, s.weight.is_some()),
        ("--animate", swingup, s.animate.is_some()),
        ("--curve", swingup, s.curve.is_some()),
    ]
}

/// Options that only the other task reads are refused by name rather than silently ignored.
fn refuse_other_task(args: &Args) -> anyhow::Result<()> {
    let refused: Vec<&str> = option_table(args)
        .into_iter()
        .filter(|(_, task, given)| *given && task.is_some_and(|t| t != args.task))
        .map(|(flag, ..)| flag)
        .collect();
    let (only_for, ignored_by, other) = match args.task {
        TaskKind::Swingup => (
            "MNIST evaluations",
            "the swing-up (episodes on the CPU, no images)",
            "evaluate on MNIST with --task mnist",
        ),
        TaskKind::Mnist => ("swing-up evaluations", "MNIST", "evaluate the swing-up with --task swingup"),
    };
    super::refuse_unread(&refused, only_for, ignored_by, |it| format!("drop {it}, or {other}"))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    refuse_other_task(&args)?;
    if args.task == TaskKind::Swingup {
        return super::swingup::eval(
            &args.genome,
            args.seed,
            args.sweep,
            args.json,
            args.trained,
            &args.swingup,
        );
    }
    let weights = args.weights.clone().unwrap_or_else(|| TRAINING_WEIGHTS.to_vec());
    let split = args.split.unwrap_or(Split::Test);
    if let Some(bad) = weights.iter().find(|w| !w.is_finite()) {
        anyhow::bail!("weight {bad} is not a finite number");
    }
    if let Some(p) = &args.heatmap {
        check_extension(p, "png", "--heatmap")?;
    }
    args.pictures.check()?;
    let genome = super::convert::load_network(&args.genome, args.trained)?;
    let mut data = args.data.load(split)?;
    if let Some(n) = args.limit {
        data = data.truncated(n);
    }
    if (genome.n_inputs as usize, genome.n_outputs as usize) != (data.dim, data.classes) {
        anyhow::bail!(
            "{}: the network has {} inputs and {} outputs, but {} has {} inputs and {} classes",
            args.genome.display(),
            genome.n_inputs,
            genome.n_outputs,
            data.name,
            data.dim,
            data.classes
        );
    }
    let data = Arc::new(data);
    let (mut evaluator, chosen) = super::open_backend(args.backend.unwrap_or_default(), data.clone())?;
    if !args.json {
        eprintln!("{chosen}");
    }
    let options = report::Options {
        weights,
        draws: args.draws.unwrap_or(DRAWS),
        seed: args.seed,
        sweep: args.sweep.unwrap_or_default(),
        ensemble: args.ensemble.unwrap_or_default(),
    };
    let started = std::time::Instant::now();
    let mut rep = report::report(&mut *evaluator, &genome, &data.labels, &options)?;
    rep.trained = report::trained_summary(&genome, &data, &data.all_indices())?;
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
        let out = Out { genome: &args.genome, split, report: &rep, written: &written };
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_tables(&args.genome, split, &rep);
        for p in &written {
            eprintln!("wrote {}", p.display());
        }
        eprintln!("report took {elapsed:.2} s ({:.2} s evaluating)", rep.evaluation_seconds);
    }
    Ok(())
}

/// The test-set report printed at the end of a search; the report and pictures also go into the run
/// directory (report.json, heatmap.png, receptive.png, network.png, network.dot, and the run's
/// learning curves as curves.png).
pub fn summarize_champion(
    genome: &wann::genome::Genome,
    data: &DataArgs,
    backend: backend::Backend,
    dir: &Path,
) -> anyhow::Result<()> {
    let test = Arc::new(data.load(Split::Test)?);
    let (mut evaluator, _) = super::open_backend(backend, test.clone())?;
    let rep = wann::evolve::run::finish(dir, genome, &mut *evaluator, &test.labels)?;
    outln!("champion on the MNIST test set ({} images):", test.len());
    print_tables(&dir.join(wann::evolve::run::CHAMPION_JSON), Split::Test, &rep);
    eprintln!("wrote {} in {}", wann::evolve::run::REPORT_FILES.join(", "), dir.display());
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
    outln!(
        "{}: {} nodes ({} hidden, {} of them reach an output, {} layers), {} connections \
         ({} genes, {} semantics), {} of 256 inputs used, at most {} values live at once",
        genome.display(),
        n.nodes,
        n.hidden_nodes,
        n.live_hidden_nodes,
        n.hidden_layers,
        n.enabled_connections,
        n.connection_genes,
        n.semantics,
        n.inputs_used,
        n.max_live_values
    );
    outln!("MNIST {split}, {} images; {}", r.examples, r.evaluator);
    outln!();
    outln!("{:>8}  {:>9}  {:>13}", "weight", "accuracy", "cross-entropy");
    for row in &r.per_weight {
        outln!("{:>8.2}  {:>9}  {:>13.4}", row.weight, pct(row.accuracy), row.mean_cross_entropy);
    }
    outln!();
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
        (
            match &r.trained {
                Some(t) => format!("individually trained weights ({} connections)", t.connections),
                None => "individually trained weights".into(),
            },
            r.trained.map_or("-".into(), |t| pct(t.accuracy)),
            pct(PAPER.trained),
        ),
    ];
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0).max(4);
    outln!("{:<w0$}  {:>w1$}  {:>16}", "condition", "ours", "paper (WANN)");
    for (a, b, c) in &rows {
        outln!("{a:<w0$}  {b:>w1$}  {c:>16}");
    }
    if let Some(s) = &r.random.accuracy {
        outln!("  random draws: min {}, max {}", pct(s.min), pct(s.max));
    }
    outln!("  ensemble ties: {} of {} images ({})", r.ensemble.ties, r.examples, r.ensemble.tie_rule);
    outln!();
    let classes = r.ensemble.confusion.len();
    outln!("ensemble per digit:");
    out!("{:>9}", "digit");
    for d in 0..classes {
        out!(" {d:>7}");
    }
    outln!();
    out!("{:>9}", "accuracy");
    for a in &r.ensemble.per_digit {
        out!(" {:>7}", a.map_or("-".into(), |a| format!("{:.1}%", 100.0 * a)));
    }
    outln!();
    out!("{:>9}", "best w");
    for w in &r.per_digit_sweep.best_weight {
        out!(" {:>7}", w.map_or("-".into(), |w| format!("{w:.1}")));
    }
    outln!("   (single weight best for each digit, over the sweep)");
    outln!();
    outln!("ensemble confusion matrix (rows: true digit, columns: predicted):");
    out!("{:>5}", "");
    for d in 0..classes {
        out!(" {d:>5}");
    }
    outln!();
    for (t, row) in r.ensemble.confusion.iter().enumerate() {
        out!("{t:>5}");
        for c in row {
            out!(" {c:>5}");
        }
        outln!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args as _, Parser};
    use std::collections::BTreeSet;

    #[derive(Parser)]
    struct Eval {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn every_option_has_its_row_in_the_table() {
        let command = Args::augment_args(clap::Command::new("eval"));
        let options: BTreeSet<String> =
            command.get_arguments().filter_map(|a| a.get_long()).map(|l| format!("--{l}")).collect();
        let args = Eval::try_parse_from(["eval", "net.json"]).unwrap().args;
        // "--backend gpu" is the row of --backend.
        let rows: BTreeSet<String> = option_table(&args)
            .iter()
            .map(|(flag, ..)| flag.split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(options, rows);
    }
}
