use anyhow::Context;
use std::path::PathBuf;
use wann::report::curves::{curves_picture, RunLog};
use wann::report::pictures;

/// Learning curves of one or more search runs on one picture.
#[derive(clap::Args)]
pub struct Args {
    /// Run directories (or their log.csv files); several runs are drawn in different colours.
    #[arg(required = true, value_name = "RUN_DIR")]
    runs: Vec<PathBuf>,
    /// Where to write the PNG (default: curves.png inside the run directory when there is one run,
    /// else curves.png here).
    #[arg(long, short, value_name = "FILE.png")]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let out = match (&args.out, args.runs.as_slice()) {
        (Some(p), _) => p.clone(),
        (None, [one]) if one.is_dir() => one.join("curves.png"),
        (None, _) => PathBuf::from("curves.png"),
    };
    super::eval::check_extension(&out, "png", "--out")?;
    let logs = args
        .runs
        .iter()
        .map(|r| RunLog::load(r).with_context(|| format!("cannot plot {}", r.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    pictures::save_png(&curves_picture(&logs)?, &out)?;
    outln!("wrote {}", out.display());
    Ok(())
}
