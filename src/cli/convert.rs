use std::path::PathBuf;

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
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let genome = wann::genome::load(&args.input, args.inputs, args.outputs)?;
    wann::genome::save(&genome, &args.output)?;
    eprintln!(
        "wrote {} ({} hidden nodes, {} connections from {} genes, {} semantics)",
        args.output.display(),
        genome.hidden.len(),
        genome.expressed_connections(),
        genome.conns.len(),
        genome.semantics
    );
    Ok(())
}
