use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Input network: `.out` (the reference's format) or JSON.
    input: PathBuf,
    /// Output network: `.out` or JSON, chosen by the extension.
    output: PathBuf,
    /// Inputs of the task (needed to read a `.out`; MNIST: 256).
    #[arg(long, default_value_t = 256, conflicts_with = "task")]
    inputs: u32,
    /// Outputs of the task (needed to read a `.out`; MNIST: 10).
    #[arg(long, default_value_t = 10, conflicts_with = "task")]
    outputs: u32,
    /// The task's network shape instead of --inputs and --outputs (swingup: 5 and 1).
    #[arg(long, value_enum)]
    task: Option<wann::evolve::config::TaskKind>,
    /// Swing-up: give the network the trained weights of the reference's zoo file
    /// (WANNTool/zoo/*.wann.json), mapped in row-major order onto the expressed connections.
    #[arg(long, value_name = "FILE.json", conflicts_with = "trained")]
    zoo: Option<PathBuf>,
    /// Added to every zoo parameter (WANNTool's weight_bias; -1.5 for the swing-up).
    #[arg(long, value_name = "B", default_value_t = -1.5, allow_hyphen_values = true, requires = "zoo")]
    weight_bias: f64,
    /// Keep a `.out` input's cell values as individually trained weights (by default they are
    /// dropped: the reference's shared-weight files carry leftover values).
    #[arg(long)]
    trained: bool,
}

/// Loads a network for MNIST; `trained` reads a `.out` file's cell values as trained weights.
pub fn load_network(path: &Path, trained: bool) -> anyhow::Result<wann::genome::Genome> {
    let (i, o) = super::mnist_shape();
    load(path, i, o, trained)
}

pub fn load(path: &Path, inputs: u32, outputs: u32, trained: bool) -> anyhow::Result<wann::genome::Genome> {
    use anyhow::Context;
    if trained && !wann::genome::is_out(path) {
        anyhow::bail!(
            "--trained is for `.out` files; {} is JSON, which carries its trained weights (if any) itself",
            path.display()
        );
    }
    let genome = if trained {
        wann::genome::load_trained(path, inputs, outputs)
    } else {
        wann::genome::load(path, inputs, outputs)
    };
    genome.with_context(|| format!("cannot load the network {}", path.display()))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (inputs, outputs) = args.task.map_or((args.inputs, args.outputs), |t| t.shape());
    let mut genome = load(&args.input, inputs, outputs, args.trained).map_err(|e| {
        if wann::genome::is_out(&args.input) {
            // The counts came from flags (or their MNIST defaults): say which, as the fix is there.
            anyhow::anyhow!("{e:#}\n(read with --inputs {inputs} --outputs {outputs})")
        } else {
            e
        }
    })?;
    if let Some(zoo) = &args.zoo {
        if !args.weight_bias.is_finite() {
            anyhow::bail!("--weight-bias {} is not a finite number", args.weight_bias);
        }
        genome = super::swingup::with_zoo(genome, zoo, args.weight_bias)?;
    }
    wann::genome::save(&genome, &args.output)?;
    let trained = genome.trained.as_ref().map_or(String::new(), |t| format!(", {} trained weights", t.len()));
    eprintln!(
        "wrote {} ({} hidden nodes, {} connections from {} genes, {} semantics{trained})",
        args.output.display(),
        genome.hidden.len(),
        genome.expressed_connections(),
        genome.conns.len(),
        genome.semantics
    );
    Ok(())
}
