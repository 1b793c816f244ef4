use anyhow::Context;
use std::path::PathBuf;
use wann::genome::Genome;
use wann::report::{dot, pictures, receptive};

/// Pictures of a network that need no data: receptive fields, the network drawing, Graphviz DOT.
#[derive(clap::Args)]
pub struct Args {
    /// The network: JSON, or the reference's `.out`.
    genome: PathBuf,
    #[command(flatten)]
    pictures: PictureArgs,
}

/// The pictures that need no data, shared by `wann draw` and `wann eval`.
#[derive(clap::Args, Default)]
pub struct PictureArgs {
    /// Write a PNG of each output's receptive field over the 16x16 inputs.
    #[arg(long, value_name = "FILE.png")]
    pub receptive: Option<PathBuf>,
    /// Write a PNG drawing of the network.
    #[arg(long, value_name = "FILE.png")]
    pub draw: Option<PathBuf>,
    /// Write the network as a Graphviz DOT file.
    #[arg(long, value_name = "FILE.dot")]
    pub dot: Option<PathBuf>,
}

impl PictureArgs {
    pub fn is_empty(&self) -> bool {
        self.receptive.is_none() && self.draw.is_none() && self.dot.is_none()
    }

    /// Checks the file names before any work is done.
    pub fn check(&self) -> anyhow::Result<()> {
        for (path, what) in [(&self.receptive, "--receptive"), (&self.draw, "--draw")] {
            if let Some(p) = path {
                super::eval::check_extension(p, "png", what)?;
            }
        }
        Ok(())
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.pictures.is_empty() {
        anyhow::bail!("nothing to draw: give --receptive FILE.png, --draw FILE.png and/or --dot FILE.dot");
    }
    args.pictures.check()?;
    let (i, o) = super::mnist_shape();
    let genome = wann::genome::load(&args.genome, i, o)
        .with_context(|| format!("cannot load the network {}", args.genome.display()))?;
    let mut written = Vec::new();
    write_pictures(&genome, &args.pictures, &mut written)?;
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

/// Writes whichever of the data-free pictures are asked for, recording each path written.
pub fn write_pictures(
    genome: &Genome,
    wanted: &PictureArgs,
    written: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    if let Some(p) = &wanted.receptive {
        let fields = receptive::receptive_fields(genome)?;
        pictures::save_png(&pictures::receptive_picture(genome.n_inputs, &fields)?, p)?;
        written.push(p.to_path_buf());
    }
    if let Some(p) = &wanted.draw {
        pictures::save_png(&pictures::network_picture(genome)?, p)?;
        written.push(p.to_path_buf());
    }
    if let Some(p) = &wanted.dot {
        wann::fsutil::write_atomic(p, dot::to_dot(genome)?.as_bytes())?;
        written.push(p.to_path_buf());
    }
    Ok(())
}
