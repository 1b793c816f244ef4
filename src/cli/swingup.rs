//! `wann eval --task swingup` and the end-of-search summary of a swing-up champion.

use super::eval::check_extension;
use anyhow::Context;
use std::path::{Path, PathBuf};
use wann::genome::Genome;
use wann::report::Sweep;
use wann::swingup::physics::{start_state, EpisodeSet, N_OBSERVATIONS};
use wann::swingup::report::{self, SwingUpReport, DEFAULT_SWEEP, PAPER};
use wann::swingup::{controller, pictures, rollout};

/// Episodes per condition, as in the paper.
const EPISODES: usize = 100;
/// Added to every zoo parameter, as WANNTool does for the swing-up.
const ZOO_WEIGHT_BIAS: f64 = -1.5;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// Swing-up: episodes per condition (the paper: 100) [default: 100].
    #[arg(long, value_name = "N")]
    pub episodes: Option<usize>,
    /// Swing-up: trained weights for the network in the reference's zoo format
    /// (WANNTool/zoo/*.wann.json), mapped in row-major order onto the expressed connections; they
    /// replace any trained weights the network file carries.
    #[arg(long, value_name = "FILE.json")]
    pub zoo: Option<PathBuf>,
    /// Swing-up: added to every zoo parameter (WANNTool's weight_bias; -1.5 for the swing-up)
    /// [default: -1.5].
    #[arg(long, value_name = "B", allow_hyphen_values = true)]
    pub weight_bias: Option<f64>,
    /// Swing-up: the shared weight of the --animate episode [default: the tuned weight].
    #[arg(long, value_name = "W", allow_hyphen_values = true)]
    pub weight: Option<f64>,
    /// Swing-up: write episode 0 as an animated GIF (cart, pole, track, reward so far).
    #[arg(long, value_name = "FILE.gif")]
    pub animate: Option<PathBuf>,
    /// Swing-up: write the mean return by shared weight over the sweep as a PNG.
    #[arg(long, value_name = "FILE.png")]
    pub curve: Option<PathBuf>,
}

/// A swing-up network; `trained` reads a `.out` file's cell values as trained weights.
pub fn load(path: &Path, trained: bool) -> anyhow::Result<Genome> {
    let g = super::convert::load(path, N_OBSERVATIONS, 1, trained)?;
    if g.n_inputs != N_OBSERVATIONS || g.n_outputs != 1 {
        anyhow::bail!(
            "{}: a swing-up network has {N_OBSERVATIONS} inputs and 1 output, this one {} and {}",
            path.display(),
            g.n_inputs,
            g.n_outputs
        );
    }
    Ok(g)
}

pub fn eval(
    genome_path: &Path,
    seed: u64,
    sweep: Option<Sweep>,
    json: bool,
    trained: bool,
    a: &EvalArgs,
) -> anyhow::Result<()> {
    // These only shape what another option does: alone they would be ignored.
    for (flag, given, needs, needed) in [
        ("--weight", a.weight.is_some(), "--animate FILE.gif", a.animate.is_some()),
        ("--weight-bias", a.weight_bias.is_some(), "--zoo FILE.json", a.zoo.is_some()),
    ] {
        if given && !needed {
            anyhow::bail!("{flag} only applies with {needs}: add that, or drop {flag}");
        }
    }
    if let Some(p) = &a.animate {
        check_extension(p, "gif", "--animate")?;
    }
    if let Some(p) = &a.curve {
        check_extension(p, "png", "--curve")?;
    }
    let episodes = a.episodes.unwrap_or(EPISODES);
    if episodes == 0 {
        anyhow::bail!("--episodes must be at least 1");
    }
    if let Some(w) = a.weight.filter(|w| !w.is_finite()) {
        anyhow::bail!("--weight {w} is not a finite number");
    }
    let weight_bias = a.weight_bias.unwrap_or(ZOO_WEIGHT_BIAS);
    if !weight_bias.is_finite() {
        anyhow::bail!("--weight-bias {weight_bias} is not a finite number");
    }
    let mut genome = load(genome_path, trained)?;
    if let Some(p) = &a.zoo {
        genome = with_zoo(genome, p, weight_bias)?;
    }
    let options = report::Options { episodes, seed, sweep: sweep.unwrap_or(DEFAULT_SWEEP) };
    let rep = report::report(&genome, &options)?;
    let mut written = Vec::new();
    if let Some(p) = &a.curve {
        wann::report::pictures::save_png(&pictures::curve(&rep.curve, rep.tuned_weight, rep.episodes), p)?;
        written.push(p.clone());
    }
    if let Some(p) = &a.animate {
        let w = a.weight.unwrap_or(rep.tuned_weight);
        animate(&genome, w, seed, p)?;
        written.push(p.clone());
    }
    if json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            genome: &'a Path,
            task: &'static str,
            report: &'a SwingUpReport,
            written: &'a [PathBuf],
        }
        let out = Out { genome: genome_path, task: "swingup", report: &rep, written: &written };
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_report(genome_path, &rep);
        for p in &written {
            eprintln!("wrote {}", p.display());
        }
    }
    Ok(())
}

/// The network with the reference's zoo weights from `path` as its trained weights.
pub fn with_zoo(genome: Genome, path: &Path, bias: f64) -> anyhow::Result<Genome> {
    controller::with_zoo_weights(genome, path, bias)
        .with_context(|| format!("cannot use the trained weights {}", path.display()))
}

/// Episode 0 of the evaluation episodes at shared weight `w`, as a GIF.
fn animate(genome: &Genome, w: f64, seed: u64, path: &Path) -> anyhow::Result<f64> {
    let net = controller::Controller::from_genome(genome, None)?;
    let start = start_state(seed, EpisodeSet::Evaluation, 0);
    let mut steps = Vec::new();
    let total = rollout::run_episode(&net, w, start, |s| steps.push(*s));
    let caption = format!("SWING-UP  W = {w:.2}  SEED {seed}  EPISODE 0");
    pictures::save_episode_gif(&start, &steps, &caption, path)?;
    Ok(total)
}

fn print_report(genome: &Path, r: &SwingUpReport) {
    outln!(
        "{}: {} connections, {} hidden nodes; cart-pole swing-up, {} episodes (seed {}), {:.1} s",
        genome.display(),
        r.connections,
        r.hidden_nodes,
        r.episodes,
        r.seed,
        r.evaluation_seconds
    );
    outln!();
    let ms = |m: &wann::report::stats::MeanStd| format!("{:.0} ± {:.0}", m.mean, m.std);
    let paper = |p: (f64, f64)| format!("{:.0} ± {:.0}", p.0, p.1);
    let rows = [
        (
            "random individual weights, U(-2,2) per episode".to_string(),
            ms(&r.random_individual),
            paper(PAPER.random_individual),
        ),
        (
            "random shared weight, U(-2,2) per episode".into(),
            ms(&r.random_shared),
            paper(PAPER.random_shared),
        ),
        (
            format!(
                "tuned shared weight (best of {} in {}): w = {:.2}",
                r.curve.len(),
                r.sweep,
                r.tuned_weight
            ),
            ms(&r.tuned_shared),
            paper(PAPER.tuned_shared),
        ),
        (
            "tuned individual weights (the network's trained weights)".into(),
            r.trained.as_ref().map_or("-".into(), ms),
            paper(PAPER.tuned_individual),
        ),
    ];
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    outln!("{:<w0$}  {:>10}  {:>12}", "condition (mean ± std of the return)", "ours", "paper (WANN)");
    for (a, b, c) in &rows {
        outln!("{a:<w0$}  {b:>10}  {c:>12}");
    }
}

/// The report printed at the end of a swing-up search; report.json and curve.png go into the run
/// directory.
pub fn summarize_champion(genome: &Genome, dir: &Path) -> anyhow::Result<()> {
    let options = report::Options { episodes: 100, seed: 0, sweep: DEFAULT_SWEEP };
    let rep = report::report(genome, &options)?;
    outln!("champion on 100 fresh swing-up episodes:");
    print_report(&dir.join(wann::evolve::run::CHAMPION_JSON), &rep);
    wann::fsutil::write_atomic(&dir.join("report.json"), serde_json::to_string_pretty(&rep)?.as_bytes())?;
    wann::report::pictures::save_png(
        &pictures::curve(&rep.curve, rep.tuned_weight, rep.episodes),
        &dir.join("curve.png"),
    )?;
    eprintln!("wrote report.json and curve.png in {}", dir.display());
    Ok(())
}
