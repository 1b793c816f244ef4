use super::DataArgs;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use wann::data::mnist::Split;
use wann::eval::backend::{self, Backend};
use wann::evolve::config::{Preset, SearchConfig};
use wann::evolve::run::{self, Outcome, Progress};
use wann::evolve::search::{GenerationStats, Search};
use wann::evolve::task::Classification;

#[derive(clap::Args)]
pub struct Args {
    /// Starting settings: the paper's MNIST run, or a few minutes' demonstration on a laptop CPU.
    #[arg(long, value_enum, default_value_t = Preset::Paper)]
    preset: Preset,
    /// A JSON file of settings (any subset of the fields in a run's config.json); replaces --preset.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Networks per generation (paper: 960).
    #[arg(long)]
    population: Option<usize>,
    /// Generations to run (paper: 4096).
    #[arg(long)]
    generations: Option<u64>,
    /// Training images per generation.
    #[arg(long)]
    minibatch: Option<usize>,
    /// Seed of every random choice: the same seed gives the same search (bit for bit on the CPU).
    #[arg(long)]
    seed: Option<u64>,
    /// Use only the first N training images.
    #[arg(long, value_name = "N")]
    train_limit: Option<usize>,
    /// Write a checkpoint every N generations (also on Ctrl-C and at the end).
    #[arg(long, value_name = "N")]
    checkpoint_every: Option<u64>,
    /// What evaluates: a hardware GPU if there is one (auto), the GPU, or the CPU.
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// Evaluate every child in full instead of as a delta of its parent (the same results, slower;
    /// for comparisons and bisecting).
    #[arg(long)]
    no_delta: bool,
    /// Run directory (default: runs/<time>-seed<seed>).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in DIR from its checkpoint, exactly as if it had never stopped.
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Print nothing but errors and the final summary.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    data: DataArgs,
}

static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn interrupt_flag() -> Arc<AtomicBool> {
    INTERRUPTED
        .get_or_init(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let f = flag.clone();
            // First Ctrl-C: finish the generation, checkpoint, stop. Second: stop now (the last
            // checkpoint is intact: files are replaced atomically).
            let _ = ctrlc::set_handler(move || {
                if f.swap(true, Ordering::SeqCst) {
                    std::process::exit(130);
                }
                eprintln!("\ninterrupted: finishing this generation and writing a checkpoint (Ctrl-C again to quit now)");
            });
            flag
        })
        .clone()
}

fn config_from(args: &Args) -> anyhow::Result<SearchConfig> {
    let mut c = match &args.config {
        Some(path) => SearchConfig::load(path)?,
        None => SearchConfig::preset(args.preset),
    };
    c.population = args.population.unwrap_or(c.population);
    c.generations = args.generations.unwrap_or(c.generations);
    c.minibatch = args.minibatch.unwrap_or(c.minibatch);
    c.seed = args.seed.unwrap_or(c.seed);
    c.train_limit = args.train_limit.unwrap_or(c.train_limit);
    c.checkpoint_every = args.checkpoint_every.unwrap_or(c.checkpoint_every);
    c.backend = args.backend.unwrap_or(c.backend);
    if args.no_delta {
        c.delta = false;
    }
    c.validate()?;
    Ok(c)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (mut search, dir) = match &args.resume {
        Some(dir) => {
            let mut state = run::load_checkpoint(dir)?;
            if let Some(b) = args.backend {
                state.config.backend = b;
            }
            // Deltas change how, not what, is computed: they can be switched off on resume.
            if args.no_delta {
                state.config.delta = false;
            }
            run::truncate_log(dir, state.generation)?;
            (Search::resume(state), dir.clone())
        }
        None => {
            let config = config_from(&args)?;
            let dir = args.out.clone().unwrap_or_else(|| run::default_dir(config.seed));
            run::create(&dir, &config)?;
            (Search::new(config, 256, 10)?, dir)
        }
    };
    let cfg = search.state.config.clone();
    let mut train = args.data.load(Split::Train)?;
    if cfg.train_limit > 0 {
        train = train.truncated(cfg.train_limit);
    }
    let (evaluator, chosen) = backend::open(cfg.backend, Arc::new(train.clone()))?;
    let mut task = Classification::new(evaluator, Arc::new(train), cfg.minibatch, cfg.seed);
    let (culled, elites, children) = cfg.selection_counts();
    if !args.quiet {
        eprintln!("{chosen}");
        eprintln!(
            "run directory {}: population {} ({culled} culled, {elites} elites, {children} children per generation), \
             generations {}..{}, minibatch {}, seed {}",
            dir.display(),
            cfg.population,
            search.state.generation,
            cfg.generations,
            cfg.minibatch,
            cfg.seed
        );
    }
    let mut progress: Box<dyn Progress> = if args.quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bar::new(search.state.generation, cfg.generations))
    } else {
        Box::new(Lines::new())
    };
    let outcome = run::execute(&mut search, &mut task, &dir, &interrupt_flag(), progress.as_mut())?;
    drop(progress);
    match outcome {
        Outcome::Interrupted { generation } => {
            eprintln!(
                "stopped after generation {generation}; everything is saved in {}: continue with `wann search --resume {}`",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        Outcome::Completed => {
            let champion = search.state.champion.as_ref().expect("a completed run has a champion");
            println!(
                "champion (generation {}): {} enabled connections, {} hidden nodes, fitness {:.4}; saved as {} and {}",
                champion.generation,
                champion.genome.enabled_connections(),
                champion.genome.hidden.len(),
                champion.fitness,
                dir.join(run::CHAMPION_JSON).display(),
                dir.join(run::CHAMPION_OUT).display()
            );
            super::eval::summarize_champion(&champion.genome, &args.data, cfg.backend, &dir)
        }
    }
}

struct Silent;
impl Progress for Silent {
    fn generation(&mut self, _: &GenerationStats, _: f64, _: u64) {}
    fn message(&mut self, _: &str) {}
}

fn status(s: &GenerationStats) -> String {
    format!(
        "best {:.4} median {:.4} champion {:.4} ({} conns) | {:.2e} edge-evals/s",
        s.best_mean,
        s.median_mean,
        s.champion_fitness,
        s.champion_connections,
        s.edge_evaluations as f64 / s.eval_seconds.max(1e-9)
    )
}

/// A progress bar on a terminal.
struct Bar(ProgressBar);
impl Bar {
    fn new(done: u64, total: u64) -> Bar {
        let bar = ProgressBar::new(total).with_position(done);
        bar.set_style(
            ProgressStyle::with_template("gen {pos}/{len} [{bar:30}] {msg} | eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Bar(bar)
    }
}
impl Progress for Bar {
    fn generation(&mut self, s: &GenerationStats, _: f64, _: u64) {
        self.0.set_message(status(s));
        self.0.inc(1);
    }
    fn message(&mut self, msg: &str) {
        self.0.println(msg);
    }
}
impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Plain lines, at most every 10 seconds, when output is not a terminal.
struct Lines {
    last: Option<Instant>,
}
impl Lines {
    fn new() -> Lines {
        Lines { last: None }
    }
}
impl Progress for Lines {
    fn generation(&mut self, s: &GenerationStats, _: f64, total: u64) {
        let due = self.last.is_none_or(|t| t.elapsed().as_secs() >= 10) || s.generation + 1 == total;
        if due {
            self.last = Some(Instant::now());
            eprintln!("gen {}/{} {}", s.generation + 1, total, status(s));
        }
    }
    fn message(&mut self, msg: &str) {
        eprintln!("{msg}");
    }
}
