use anyhow::Context;
use std::path::{Path, PathBuf};
use wann::genome::Genome;
use wann::report::{dot, pictures, receptive};

/// Pictures of a network that need no data: receptive fields, the network drawing, Graphviz DOT.
#[derive(clap::Args)]
pub struct Args {
    /// The network: JSON, or the reference's `.out`.
    genome: PathBuf,
    /// Write a PNG of each output's receptive field over the 16x16 inputs.
    #[arg(long, value_name = "FILE.png")]
    receptive: Option<PathBuf>,
    /// Write a PNG drawing of the network.
    #[arg(long, value_name = "FILE.png")]
    draw: Option<PathBuf>,
    /// Write the network as a Graphviz DOT file.
    #[arg(long, value_name = "FILE.dot")]
    dot: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.receptive.is_none() && args.draw.is_none() && args.dot.is_none() {
        anyhow::bail!("nothing to draw: give --receptive FILE.png, --draw FILE.png and/or --dot FILE.dot");
    }
    for (path, what) in [(&args.receptive, "--receptive"), (&args.draw, "--draw")] {
        if let Some(p) = path {
            super::eval::check_extension(p, "png", what)?;
        }
    }
    let genome = wann::genome::load(&args.genome, 256, 10)
        .with_context(|| format!("cannot load the network {}", args.genome.display()))?;
    let mut written = Vec::new();
    write_pictures(
        &genome,
        args.receptive.as_deref(),
        args.draw.as_deref(),
        args.dot.as_deref(),
        &mut written,
    )?;
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

/// Writes whichever of the data-free pictures are asked for, recording each path written.
pub fn write_pictures(
    genome: &Genome,
    receptive: Option<&Path>,
    draw: Option<&Path>,
    dot_path: Option<&Path>,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    if let Some(p) = receptive {
        let fields = receptive::receptive_fields(genome)?;
        pictures::save_png(&pictures::receptive_picture(genome.n_inputs, &fields), p)?;
        written.push(p.to_path_buf());
    }
    if let Some(p) = draw {
        pictures::save_png(&pictures::network_picture(genome)?, p)?;
        written.push(p.to_path_buf());
    }
    if let Some(p) = dot_path {
        wann::fsutil::write_atomic(p, dot::to_dot(genome)?.as_bytes())?;
        written.push(p.to_path_buf());
    }
    Ok(())
}
