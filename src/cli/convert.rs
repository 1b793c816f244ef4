use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Input network: `.out` (the reference's format) or JSON.
    input: PathBuf,
    /// Output network: `.out` or JSON, chosen by the extension.
    output: PathBuf,
    /// Inputs of the task (needed to read a `.out`; MNIST: 256).
    #[arg(long, default_value_t = 256)]
    inputs: u32,
    /// Outputs of the task (needed to read a `.out`; MNIST: 10).
    #[arg(long, default_value_t = 10)]
    outputs: u32,
    /// Keep a `.out` input's cell values as individually trained weights (by default they are
    /// dropped: the reference's shared-weight files carry leftover values).
    #[arg(long)]
    trained: bool,
}

/// Loads a network for MNIST; `trained` reads a `.out` file's cell values as trained weights.
pub fn load_network(path: &Path, trained: bool) -> anyhow::Result<wann::genome::Genome> {
    load(path, 256, 10, trained)
}

fn load(path: &Path, inputs: u32, outputs: u32, trained: bool) -> anyhow::Result<wann::genome::Genome> {
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
    let genome = load(&args.input, args.inputs, args.outputs, args.trained).map_err(|e| {
        if wann::genome::is_out(&args.input) {
            // The counts came from flags (or their MNIST defaults): say which, as the fix is there.
            anyhow::anyhow!("{e:#}\n(read with --inputs {} --outputs {})", args.inputs, args.outputs)
        } else {
            e
        }
    })?;
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
