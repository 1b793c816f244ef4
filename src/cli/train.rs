use super::DataArgs;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use wann::data::mnist::Split;
use wann::eval::backend::Backend;
use wann::report::{Sweep, PAPER};
use wann::train::{self, EpochStats, Event, Outcome};

#[derive(clap::Args)]
pub struct Args {
    /// The network: JSON, or the reference's `.out` (read as a shared-weight network). Trained weights
    /// it may already have are not used: training starts from the best shared weight.
    network: PathBuf,
    /// Where to write the trained network: JSON with a weight on every expressed connection (or `.out`,
    /// whose cells keep only three significant digits).
    #[arg(long, value_name = "TRAINED.json")]
    out: PathBuf,
    /// Passes over the training images.
    #[arg(long, default_value_t = train::Options::default().epochs)]
    epochs: usize,
    /// Adam's initial step size; it decays along a cosine to zero over the run.
    #[arg(long, default_value_t = train::Options::default().learning_rate)]
    learning_rate: f64,
    /// Training images per step.
    #[arg(long, default_value_t = train::Options::default().batch_size)]
    batch_size: usize,
    /// Seed of the shuffles: the same seed gives the same weights, whatever the number of threads.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Training images held out from the end of the training set; the epoch best on them is kept
    /// (0: keep the last epoch).
    #[arg(long, value_name = "N", default_value_t = train::Options::default().validation)]
    validation: usize,
    /// Use only the first N training images (validation included).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// The shared-weight grid whose best value (on the training images) starts every weight.
    #[arg(long, value_name = "START:STOP:STEP", allow_hyphen_values = true, default_value = "-2:2:0.1")]
    sweep: Sweep,
    /// What trains: auto or cpu, both the CPU (training has no GPU path yet; gpu is an error).
    #[arg(long, value_enum, default_value_t = Backend::Auto, hide_possible_values = true)]
    backend: Backend,
    /// Threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Print a JSON summary (options, every epoch, test accuracy) instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.backend == Backend::Gpu {
        anyhow::bail!("training runs on the CPU only for now: use --backend cpu (or leave --backend out)");
    }
    let (i, o) = super::mnist_shape();
    let genome = wann::genome::load(&args.network, i, o)
        .with_context(|| format!("cannot load the network {}", args.network.display()))?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        anyhow::ensure!(
            dir.is_dir(),
            "--out {}: the folder {} does not exist",
            args.out.display(),
            dir.display()
        );
    }
    let mut data = args.data.load(Split::Train)?;
    if let Some(n) = args.limit {
        data = data.truncated(n);
    }
    let options = train::Options {
        epochs: args.epochs,
        learning_rate: args.learning_rate,
        batch_size: args.batch_size,
        seed: args.seed,
        validation: args.validation,
        sweep: args.sweep,
        threads: args.threads,
    };
    let mut bar = Progress::new(args.json, options.epochs);
    let outcome = train::train(&genome, Arc::new(data), &options, &mut |e| bar.event(e))?;
    drop(bar);
    wann::genome::save(&outcome.genome, &args.out)?;

    let test = args.data.load(Split::Test)?;
    let all = test.all_indices();
    let trained = train::evaluate(&outcome.genome, &test, &all)?;
    let shared = {
        // The starting point on the test set: every weight at the shared weight.
        let mut g = outcome.genome.clone();
        g.trained.iter_mut().flatten().for_each(|(_, w)| *w = outcome.shared_weight);
        train::evaluate(&g, &test, &all)?
    };
    let n = test.len() as f64;
    if args.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            network: &'a Path,
            out: &'a Path,
            options: &'a train::Options,
            outcome: &'a Outcome,
            test_examples: usize,
            test_accuracy: f64,
            test_mean_cross_entropy: f64,
            test_accuracy_at_shared_weight: f64,
        }
        let out = Out {
            network: &args.network,
            out: &args.out,
            options: &options,
            outcome: &outcome,
            test_examples: test.len(),
            test_accuracy: trained.correct as f64 / n,
            test_mean_cross_entropy: trained.ce_sum / n,
            test_accuracy_at_shared_weight: shared.correct as f64 / n,
        };
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!(
            "kept epoch {} of {}: {} trained connections; wrote {}",
            outcome.best_epoch,
            options.epochs,
            outcome.trained_connections,
            args.out.display()
        );
        outln!(
            "MNIST test, {} images: {:.2}% with trained weights (paper: {:.1}%), {:.2}% at the shared weight {:.1} \
             they started from; {:.1} s training",
            test.len(),
            100.0 * trained.correct as f64 / n,
            100.0 * PAPER.trained,
            100.0 * shared.correct as f64 / n,
            outcome.shared_weight,
            outcome.seconds
        );
    }
    Ok(())
}

fn epoch_line(s: &EpochStats) -> String {
    let val = match (s.validation_loss, s.validation_accuracy) {
        (Some(l), Some(a)) => format!("validation loss {l:.4} accuracy {:.2}%", 100.0 * a),
        _ => "no validation".into(),
    };
    let skipped = if s.skipped_batches > 0 {
        format!(", {} batches skipped", s.skipped_batches)
    } else {
        String::new()
    };
    format!(
        "epoch {:>3}: train loss {:.4} accuracy {:.2}%, {val} ({:.1} s{skipped})",
        s.epoch,
        s.train_loss,
        100.0 * s.train_accuracy,
        s.seconds
    )
}

/// A progress bar on a terminal, a line per epoch otherwise, nothing with --json.
struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    epochs: usize,
    started: Instant,
}

impl Progress {
    fn new(quiet: bool, epochs: usize) -> Progress {
        Progress { bar: None, quiet, epochs, started: Instant::now() }
    }

    fn event(&mut self, e: Event) {
        if self.quiet {
            return;
        }
        match e {
            Event::Started { shared_weight, batches_per_epoch, start } => {
                eprintln!(
                    "start: every weight at the best shared weight {shared_weight:.1} (train accuracy {:.2}%)",
                    100.0 * start.train_accuracy
                );
                eprintln!("{}", epoch_line(start));
                if std::io::stderr().is_terminal() {
                    let bar = ProgressBar::new((self.epochs * batches_per_epoch) as u64);
                    bar.set_style(
                        ProgressStyle::with_template("[{bar:30}] {msg} | eta {eta}")
                            .expect("valid template")
                            .progress_chars("=> "),
                    );
                    self.bar = Some(bar);
                }
            }
            Event::Batch { epoch, batch, batches, train_loss, train_accuracy } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                    if batch % 16 == 0 || batch == batches {
                        bar.set_message(format!(
                            "epoch {epoch}/{} batch {batch}/{batches} loss {train_loss:.4} train {:.2}%",
                            self.epochs,
                            100.0 * train_accuracy
                        ));
                    }
                }
            }
            Event::Epoch(s) => match &self.bar {
                Some(bar) => bar.println(epoch_line(s)),
                None => eprintln!("{}", epoch_line(s)),
            },
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if !self.quiet {
            eprintln!("training took {:.1} s", self.started.elapsed().as_secs_f64());
        }
    }
}
