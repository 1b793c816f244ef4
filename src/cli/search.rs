use super::DataArgs;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use wann::data::mnist::Split;
use wann::eval::backend::Backend;
use wann::evolve::config::{Preset, SearchConfig, TaskKind};
use wann::evolve::run::{self, Outcome, Progress};
use wann::evolve::search::{GenerationStats, Search};
use wann::evolve::task::{Classification, Task};
use wann::genome::Semantics;
use wann::program::Programs;
use wann::swingup::task::SwingUp;

#[derive(clap::Args)]
pub struct Args {
    /// What to search on: MNIST, or the cart-pole swing-up (its own paper settings as the preset).
    #[arg(long, value_enum)]
    task: Option<TaskKind>,
    /// Starting settings for the task: the paper's run, or a few minutes' demonstration on a laptop
    /// CPU [default: paper].
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// A JSON file of settings (any subset of the fields in a run's config.json); replaces --preset.
    #[arg(long, value_name = "FILE", conflicts_with = "preset")]
    config: Option<PathBuf>,
    /// Networks per generation (paper: 960).
    #[arg(long)]
    population: Option<usize>,
    /// Generations to run (paper: 4096); with --resume, extends the run to this many.
    #[arg(long)]
    generations: Option<u64>,
    /// MNIST: training images per generation.
    #[arg(long)]
    minibatch: Option<usize>,
    /// Control tasks: episodes per weight value (swing-up paper: 3).
    #[arg(long, value_name = "N")]
    episodes: Option<usize>,
    /// Seed of every random choice: the same seed gives the same search (bit for bit on the CPU).
    #[arg(long)]
    seed: Option<u64>,
    /// MNIST: use only the first N training images.
    #[arg(long, value_name = "N")]
    train_limit: Option<usize>,
    /// How genomes are expressed and ranked: as the reference code ran (disabled hidden->hidden
    /// connections stay active, its crowding scale) or as the paper's text reads (neat). Presets: reference.
    /// A resumed run keeps its own.
    #[arg(long, value_enum, conflicts_with = "resume")]
    semantics: Option<Semantics>,
    /// MNIST: training images a candidate champion is re-checked on before it replaces the champion
    /// (default: 20,000; 60000 checks on the whole training set).
    #[arg(long, value_name = "N")]
    champion_check: Option<usize>,
    /// Write a checkpoint every N generations (also on Ctrl-C and at the end).
    #[arg(long, value_name = "N")]
    checkpoint_every: Option<u64>,
    /// What evaluates: a hardware GPU if there is one (auto), the GPU, or the CPU. The swing-up runs
    /// on the CPU.
    #[arg(long, value_enum)]
    backend: Option<Backend>,
    /// MNIST: evaluate every child in full instead of as a delta of its parent (the same results, slower;
    /// for comparisons and bisecting).
    #[arg(long)]
    no_delta: bool,
    /// Run directory (default: runs/<time>-seed<seed>).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in DIR from its checkpoint, exactly as if it had never stopped (with its own
    /// settings; only --generations, --checkpoint-every, --backend and --no-delta may change).
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
        None => SearchConfig::preset_for(args.task.unwrap_or_default(), args.preset.unwrap_or(Preset::Paper)),
    };
    c.task = args.task.unwrap_or(c.task);
    refuse_other_task(args, c.task, None)?;
    c.episodes = args.episodes.unwrap_or(c.episodes);
    c.population = args.population.unwrap_or(c.population);
    c.generations = args.generations.unwrap_or(c.generations);
    c.minibatch = args.minibatch.unwrap_or(c.minibatch);
    c.seed = args.seed.unwrap_or(c.seed);
    c.train_limit = args.train_limit.unwrap_or(c.train_limit);
    c.semantics = args.semantics.unwrap_or(c.semantics);
    c.champion_check = args.champion_check.unwrap_or(c.champion_check);
    c.checkpoint_every = args.checkpoint_every.unwrap_or(c.checkpoint_every);
    c.backend = args.backend.unwrap_or(c.backend);
    // A fresh identity, whatever a --config copied from another run says.
    c.run_id = run::new_run_id();
    if args.no_delta {
        c.delta = false;
    }
    c.validate()?;
    Ok(c)
}

/// The training images a run uses, refusing a limit or minibatch the data cannot fill.
fn training_data(data: &DataArgs, cfg: &SearchConfig) -> anyhow::Result<wann::data::Dataset> {
    let mut train = data.load(Split::Train)?;
    if cfg.train_limit > train.len() {
        anyhow::bail!("train_limit {} is more than the {} training images", cfg.train_limit, train.len());
    }
    if cfg.train_limit > 0 {
        train = train.truncated(cfg.train_limit);
    }
    if cfg.minibatch > train.len() {
        anyhow::bail!(
            "a minibatch of {} is more than the {} training images: lower --minibatch (or raise --train-limit)",
            cfg.minibatch,
            train.len()
        );
    }
    Ok(train)
}

/// A search option given on the command line: the task that reads it (`None`: both) and whether a
/// resumed run may change it. One table serves every check below, so a new option is placed once.
struct Given {
    flag: &'static str,
    task: Option<TaskKind>,
    resumable: bool,
}

/// The settings options given. Not --out, --resume or --quiet (where, and how loudly), nor --data: the
/// swing-up reads no data, but the option also comes from WANN_DATA, so giving it cannot be told.
fn given_options(args: &Args) -> Vec<Given> {
    let (mnist, swingup) = (Some(TaskKind::Mnist), Some(TaskKind::Swingup));
    let table = [
        ("--task", None, false, args.task.is_some()),
        ("--episodes", swingup, false, args.episodes.is_some()),
        ("--preset", None, false, args.preset.is_some()),
        ("--config", None, false, args.config.is_some()),
        ("--population", None, false, args.population.is_some()),
        ("--minibatch", mnist, false, args.minibatch.is_some()),
        ("--seed", None, false, args.seed.is_some()),
        ("--train-limit", mnist, false, args.train_limit.is_some()),
        ("--semantics", None, false, args.semantics.is_some()),
        ("--champion-check", mnist, false, args.champion_check.is_some()),
        ("--generations", None, true, args.generations.is_some()),
        ("--checkpoint-every", None, true, args.checkpoint_every.is_some()),
        // The swing-up runs on the CPU whatever --backend says: only asking for the GPU misleads.
        ("--backend gpu", mnist, true, args.backend == Some(Backend::Gpu)),
        ("--no-delta", mnist, true, args.no_delta),
    ];
    table
        .into_iter()
        .filter(|row| row.3)
        .map(|(flag, task, resumable, _)| Given { flag, task, resumable })
        .collect()
}

/// A resumed run keeps the settings it started with: options that would change its results are refused
/// rather than silently ignored.
fn refuse_on_resume(args: &Args, dir: &std::path::Path) -> anyhow::Result<()> {
    let refused: Vec<&str> = given_options(args).iter().filter(|g| !g.resumable).map(|g| g.flag).collect();
    if !refused.is_empty() {
        anyhow::bail!(
            "{} cannot change on --resume: a resumed run keeps its own settings ({}); only --generations, \
             --checkpoint-every, --backend and --no-delta may be given. To search with other settings, start a new run \
             (for example with --config {})",
            refused.join(", "),
            dir.join(run::CONFIG).display(),
            dir.join(run::CONFIG).display()
        );
    }
    Ok(())
}

/// Options that only the other task reads are refused rather than silently ignored. Only the command
/// line is checked: a preset or config file carries every field, the other task's included.
/// `resumed`: the run directory whose task it is, on --resume.
fn refuse_other_task(args: &Args, task: TaskKind, resumed: Option<&std::path::Path>) -> anyhow::Result<()> {
    let refused: Vec<&str> =
        given_options(args).iter().filter(|g| g.task.is_some_and(|t| t != task)).map(|g| g.flag).collect();
    let (only_for, ignored_by, other) = match task {
        TaskKind::Swingup => (
            "MNIST searches",
            "the swing-up (no images, CPU only, every child evaluated in full)",
            "search MNIST with --task mnist",
        ),
        TaskKind::Mnist => {
            ("swing-up searches", "MNIST (judged on images)", "search the swing-up with --task swingup")
        }
    };
    super::refuse_unread(&refused, only_for, ignored_by, |it| match resumed {
        Some(dir) => format!("drop {it} (the run in {} keeps its task)", dir.display()),
        None => format!("drop {it}, or {other}"),
    })
}

/// Applies what a resume may change (more generations, checkpoint spacing), recording it in the run's
/// config.json and checkpoint so that the directory stays self-consistent.
fn extend_on_resume(args: &Args, search: &mut Search, dir: &std::path::Path) -> anyhow::Result<()> {
    let before = search.state.config.clone();
    let config = &mut search.state.config;
    if let Some(n) = args.generations {
        if n < search.state.generation {
            anyhow::bail!(
                "the run in {} has already done {} generations: --generations must be at least that",
                dir.display(),
                search.state.generation
            );
        }
        config.generations = n;
    }
    config.checkpoint_every = args.checkpoint_every.unwrap_or(config.checkpoint_every);
    config.validate()?;
    if *config != before {
        run::write_config(dir, config)?;
        run::save_checkpoint(dir, &search.state)?;
    }
    Ok(())
}

/// The task a run's settings name, with a line on what evaluates and a word on its sample.
fn open_task(data: &DataArgs, cfg: &SearchConfig) -> anyhow::Result<(TaskImpl, String, String)> {
    Ok(match cfg.task {
        TaskKind::Mnist => {
            let train = training_data(data, cfg)?;
            let name = train.name.clone();
            let (evaluator, chosen) = super::open_backend(cfg.backend, Arc::new(train.clone()))?;
            let task = Classification::new(evaluator, Arc::new(train), cfg.minibatch, cfg.seed)
                .with_check(cfg.champion_check);
            (TaskImpl::Mnist(task, name), chosen, format!("minibatch {}", cfg.minibatch))
        }
        TaskKind::Swingup => {
            let task = SwingUp::new(cfg.seed, cfg.episodes)?;
            let chosen = task.describe();
            (TaskImpl::Swingup(task), chosen, format!("{} episodes per weight", cfg.episodes))
        }
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // The lock keeps any other process out of the run directory until this one ends.
    let (mut search, dir, (mut task, chosen, sample), _lock) = match &args.resume {
        Some(dir) => {
            refuse_on_resume(&args, dir)?;
            // Refused before the run is opened (and locked), so that a refusal writes nothing; a
            // config that cannot be read is for `run::open` to explain.
            if let Ok(recorded) = SearchConfig::load(&dir.join(run::CONFIG)) {
                refuse_other_task(&args, recorded.task, Some(dir))?;
            }
            let (mut state, lock) = run::open(dir)?;
            refuse_other_task(&args, state.config.task, Some(dir))?;
            if let Some(b) = args.backend {
                state.config.backend = b;
            }
            // Deltas change how, not what, is computed: they can be switched off on resume.
            if args.no_delta {
                state.config.delta = false;
            }
            let mut opened = open_task(&args.data, &state.config)?;
            if let Some(g) = state.population.first() {
                let task = opened.0.as_dyn();
                let (n_inputs, n_outputs) = (task.n_inputs(), task.n_outputs());
                if (g.n_inputs, g.n_outputs) != (n_inputs, n_outputs) {
                    anyhow::bail!(
                        "the run's networks have {} inputs and {} outputs, but {} needs {n_inputs} and {n_outputs}",
                        g.n_inputs,
                        g.n_outputs,
                        opened.0.name()
                    );
                }
            }
            let mut search = Search::resume(state);
            extend_on_resume(&args, &mut search, dir)?;
            run::truncate_log(dir, search.state.generation)?;
            (search, dir.clone(), opened, lock)
        }
        None => {
            let config = config_from(&args)?;
            // Opened before the run directory is made, so that a refused run leaves nothing behind.
            let opened = open_task(&args.data, &config)?;
            let dir = args.out.clone().unwrap_or_else(|| run::default_dir(config.seed));
            let lock = run::create(&dir, &config)?;
            let (n_inputs, n_outputs) = config.task.shape();
            (Search::new(config, n_inputs, n_outputs)?, dir, opened, lock)
        }
    };
    let cfg = search.state.config.clone();
    let (culled, elites, children) = cfg.selection_counts();
    if !args.quiet {
        eprintln!("{chosen}");
        eprintln!(
            "run directory {}: population {} ({culled} culled, {elites} elites, {children} children per generation), \
             generations {}..{}, {sample}, seed {}, {} semantics",
            dir.display(),
            cfg.population,
            search.state.generation,
            cfg.generations,
            cfg.seed,
            cfg.semantics
        );
    }
    let mut progress: Box<dyn Progress> = if args.quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bar::new(search.state.generation, cfg.generations))
    } else {
        Box::new(Lines::new())
    };
    let outcome = run::execute(&mut search, task.as_dyn(), &dir, &interrupt_flag(), progress.as_mut())?;
    drop(progress);
    match outcome {
        Outcome::Interrupted { generation } => {
            eprintln!(
                "stopped after generation {generation}; everything is saved in {}: continue with `wann search --resume {}`",
                dir.display(),
                dir.display()
            );
            Err(wann::Error::Interrupted.into())
        }
        Outcome::Completed => {
            let champion = search.state.champion.as_ref().expect("a completed run has a champion");
            outln!(
                "champion (generation {}, {} semantics): {} connections, {} hidden nodes, fitness {:.4} on its check \
                 sample; saved as {} and {}",
                champion.generation,
                champion.genome.semantics,
                champion.genome.expressed_connections(),
                champion.genome.hidden.len(),
                champion.fitness,
                dir.join(run::CHAMPION_JSON).display(),
                dir.join(run::CHAMPION_OUT).display()
            );
            match &mut task {
                TaskImpl::Mnist(task, _) => {
                    print_training_accuracy(task, &champion.genome, &cfg.weights)?;
                    super::eval::summarize_champion(&champion.genome, &args.data, cfg.backend, &dir)
                }
                TaskImpl::Swingup(_) => super::swingup::summarize_champion(&champion.genome, &dir),
            }
        }
    }
}

/// The search's task (MNIST with its data set's name); MNIST's is kept by type for the champion's
/// whole-training-set accuracy.
enum TaskImpl {
    Mnist(Classification, String),
    Swingup(SwingUp),
}

impl TaskImpl {
    fn name(&self) -> String {
        match self {
            TaskImpl::Mnist(_, name) => name.clone(),
            TaskImpl::Swingup(_) => "the cart-pole swing-up".into(),
        }
    }
    fn as_dyn(&mut self) -> &mut dyn Task {
        match self {
            TaskImpl::Mnist(t, _) => t,
            TaskImpl::Swingup(t) => t,
        }
    }
}

/// The champion on every training image the search used, at each training weight.
fn print_training_accuracy(
    task: &mut Classification,
    genome: &wann::genome::Genome,
    weights: &[f32],
) -> anyhow::Result<()> {
    let program = wann::program::compile(genome)?;
    let ev = task.whole_set(&Programs::pack([&program]), weights)?;
    let acc: Vec<f64> = (0..weights.len()).map(|w| ev.accuracy(0, w)).collect();
    let per_weight: Vec<String> =
        weights.iter().zip(&acc).map(|(w, a)| format!("{w}: {:.2}%", 100.0 * a)).collect();
    outln!(
        "champion on the whole training set ({} images): mean accuracy {:.2}% over the weights ({})",
        ev.n_examples,
        100.0 * acc.iter().sum::<f64>() / acc.len() as f64,
        per_weight.join(", ")
    );
    Ok(())
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
