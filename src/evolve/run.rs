//! The run directory around a search: resolved config, per-generation CSV log, champion (JSON and
//! `.out`), and a gzipped checkpoint written atomically every few generations, on Ctrl-C, on an
//! evaluation error and at the end. `resume` continues exactly where the checkpoint left off.

use super::config::SearchConfig;
use super::search::{Champion, GenerationStats, Search, SearchState};
use super::task::Task;
use crate::error::{Error, Result};
use crate::fsutil::{write_atomic, DirLock};
use crate::genome::{Activation, ConnGene, Genome, HiddenNode, Semantics};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub const CHECKPOINT: &str = "checkpoint.json.gz";
pub const CONFIG: &str = "config.json";
pub const LOG: &str = "log.csv";
pub const CHAMPION_JSON: &str = "champion.json";
pub const CHAMPION_OUT: &str = "champion.out";
/// What finishing a run adds (the test-set report, pictures and learning curves; see [`finish`]).
pub const REPORT_FILES: [&str; 6] =
    ["report.json", "heatmap.png", "receptive.png", "network.png", "network.dot", "curves.png"];

/// Largest checkpoint read, compressed and expanded (the paper's run needs well under a tenth).
const MAX_CHECKPOINT: u64 = 1 << 30;
const MAX_CHECKPOINT_JSON: u64 = 4 << 30;
/// Largest log read back on resume (4096 generations take under a megabyte).
const MAX_LOG: u64 = 256 << 20;

const CHECKPOINT_FORMAT: &str = "wann-checkpoint";
const CHECKPOINT_VERSION: u32 = 1;

pub const LOG_HEADER: &str =
    "generation,best_mean_fitness,median_mean_fitness,best_max_fitness,champion_fitness,\
champion_connections,champion_nodes,median_connections,median_nodes,objectives,compile_seconds,eval_seconds,\
evolve_seconds,seconds,edge_evals_per_second,champion_check_seconds";

/// A genome as stored in checkpoints: genes as number tuples, several times smaller than the
/// genome file format (a population of 960 holds about 2.5 million genes).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompactGenome {
    inputs: u32,
    outputs: u32,
    hidden: Vec<(u32, u32)>,
    conns: Vec<(u64, u32, u32, u8)>,
}

impl From<&Genome> for CompactGenome {
    fn from(g: &Genome) -> Self {
        CompactGenome {
            inputs: g.n_inputs,
            outputs: g.n_outputs,
            hidden: g.hidden.iter().map(|h| (h.id, h.activation.id())).collect(),
            conns: g.conns.iter().map(|c| (c.innovation, c.src, c.dst, c.enabled as u8)).collect(),
        }
    }
}

impl CompactGenome {
    /// The genome, read under the run's semantics (genomes in a checkpoint share the config's).
    fn into_genome(self, semantics: Semantics) -> std::result::Result<Genome, String> {
        let hidden = self
            .hidden
            .into_iter()
            .map(|(id, a)| Activation::try_from(a).map(|activation| HiddenNode { id, activation }))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let conns = self
            .conns
            .into_iter()
            .map(|(innovation, src, dst, e)| ConnGene { innovation, src, dst, enabled: e != 0 })
            .collect();
        let g = Genome {
            n_inputs: self.inputs,
            n_outputs: self.outputs,
            hidden,
            conns,
            semantics,
            trained: None,
        };
        g.validate().map_err(|e| e.to_string())?;
        Ok(g)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointFile {
    format: String,
    version: u32,
    config: SearchConfig,
    generation: u64,
    population: Vec<CompactGenome>,
    rng: rand_chacha::ChaCha8Rng,
    counters: super::mutation::Counters,
    champion: Option<(CompactGenome, f64, u64)>,
}

pub fn save_checkpoint(dir: &Path, state: &SearchState) -> Result<()> {
    let file = CheckpointFile {
        format: CHECKPOINT_FORMAT.into(),
        version: CHECKPOINT_VERSION,
        config: state.config.clone(),
        generation: state.generation,
        population: state.population.iter().map(CompactGenome::from).collect(),
        rng: state.rng.clone(),
        counters: state.counters,
        champion: state.champion.as_ref().map(|c| (CompactGenome::from(&c.genome), c.fitness, c.generation)),
    };
    let json =
        serde_json::to_vec(&file).map_err(|e| Error::Invalid(format!("cannot encode checkpoint: {e}")))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json).and_then(|_| gz.flush()).map_err(|e| Error::io(dir.join(CHECKPOINT), e))?;
    let bytes = gz.finish().map_err(|e| Error::io(dir.join(CHECKPOINT), e))?;
    write_atomic(&dir.join(CHECKPOINT), &bytes)
}

fn no_checkpoint(path: &Path) -> Error {
    Error::format(path, "no checkpoint here: is this a run directory made by `wann search`?")
}

pub fn load_checkpoint(dir: &Path) -> Result<SearchState> {
    let path = dir.join(CHECKPOINT);
    if !path.exists() {
        return Err(no_checkpoint(&path));
    }
    let bytes = crate::fsutil::read_file(&path, MAX_CHECKPOINT)?;
    parse_checkpoint(&bytes, &path)
}

/// Decodes and checks a checkpoint file's bytes; `path` only names the file in errors.
pub fn parse_checkpoint(bytes: &[u8], path: &Path) -> Result<SearchState> {
    let corrupt = |m: String| Error::format(path, format!("corrupt checkpoint: {m}"));
    let json = crate::fsutil::read_limited(flate2::read::GzDecoder::new(bytes), MAX_CHECKPOINT_JSON, path)
        .map_err(|e| match e {
            Error::Io { source, .. } => corrupt(source.to_string()),
            e => e,
        })?;
    let file: CheckpointFile = serde_json::from_slice(&json).map_err(|e| corrupt(crate::fsutil::clip(e)))?;
    if file.format != CHECKPOINT_FORMAT || file.version != CHECKPOINT_VERSION {
        return Err(corrupt(format!(
            "format {} version {}, expected {CHECKPOINT_FORMAT:?} version {CHECKPOINT_VERSION}",
            crate::fsutil::quote(&file.format),
            file.version
        )));
    }
    file.config.validate().map_err(|e| corrupt(e.to_string()))?;
    if file.population.len() != file.config.population {
        return Err(corrupt(format!(
            "{} genomes, the config says {}",
            file.population.len(),
            file.config.population
        )));
    }
    // A checkpoint written before semantics existed has a config without it: `neat`, as it ran.
    let semantics = file.config.semantics;
    let population = file
        .population
        .into_iter()
        .enumerate()
        .map(|(i, g)| g.into_genome(semantics).map_err(|e| corrupt(format!("genome {i}: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    // Every genome of a run has the task's inputs and outputs; the search packs them together.
    let shape = |g: &Genome| (g.n_inputs, g.n_outputs);
    let first = population.first().map(shape);
    let champion_shape = file.champion.as_ref().map(|(g, _, _)| (g.inputs, g.outputs));
    let odd = population.iter().map(shape).chain(champion_shape).find(|&s| Some(s) != first);
    if let (Some((i, o)), Some((fi, fo))) = (odd, first) {
        return Err(corrupt(format!(
            "genomes with {fi} inputs and {fo} outputs next to one with {i} inputs and {o} outputs"
        )));
    }
    // New genes and nodes are numbered from the counters: behind the genomes, they would reuse ids;
    // at the end of their range, they would wrap around.
    let needed = super::mutation::Counters::after(&population);
    let c = file.counters;
    if c.next_innovation < needed.next_innovation || c.next_node_id < needed.next_node_id {
        return Err(corrupt(format!(
            "the counters (next innovation {}, next node id {}) are behind the genomes (which use up to {} and {})",
            c.next_innovation, c.next_node_id, needed.next_innovation, needed.next_node_id
        )));
    }
    if c.next_innovation > u64::MAX / 2 || c.next_node_id > u32::MAX / 2 {
        return Err(corrupt("the counters are at the end of their range".into()));
    }
    let champion = match file.champion {
        Some((g, fitness, generation)) => Some(Champion {
            genome: g.into_genome(semantics).map_err(|e| corrupt(format!("champion: {e}")))?,
            fitness,
            generation,
        }),
        None => None,
    };
    Ok(SearchState {
        config: file.config,
        generation: file.generation,
        population,
        rng: file.rng,
        counters: file.counters,
        champion,
    })
}

/// A fresh run identity (time, process and clock nanoseconds): unique enough to tell two runs apart,
/// and drawn from nothing the search's random numbers depend on.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now();
    let nanos = now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{}-{:x}-{nanos:08x}", crate::fsutil::utc_stamp(now), std::process::id())
}

/// Sets up a new run directory and locks it for this process (the lock lasts as long as the returned
/// value). Refuses a directory that already holds a run, and any file a run would write there, so
/// that nothing of the user's is ever overwritten.
pub fn create(dir: &Path, config: &SearchConfig) -> Result<DirLock> {
    if dir.join(CHECKPOINT).exists() {
        return Err(Error::RunExists(dir.to_path_buf()));
    }
    let refuse_ours = || {
        let ours = [CHECKPOINT, CONFIG, LOG, CHAMPION_JSON, CHAMPION_OUT].into_iter().chain(REPORT_FILES);
        let present: Vec<&str> = ours.filter(|f| dir.join(f).exists()).collect();
        if present.is_empty() {
            return Ok(());
        }
        Err(Error::Invalid(format!(
            "{} already holds {}, which a new run would overwrite: pick another run directory (or move them away)",
            dir.display(),
            present.join(", ")
        )))
    };
    // Checked before the lock (so that a user's folder is left as it was) and again once it is held
    // (another process may have started a run there in between).
    refuse_ours()?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let lock = DirLock::acquire(dir)?;
    refuse_ours()?;
    write_config(dir, config)?;
    write_atomic(&dir.join(LOG), format!("{LOG_HEADER}\n").as_bytes())?;
    Ok(lock)
}

/// Rewrites the run's config.json (a resume that extends the run changes its generations).
pub fn write_config(dir: &Path, config: &SearchConfig) -> Result<()> {
    let json = serde_json::to_string_pretty(config).expect("configs serialise");
    write_atomic(&dir.join(CONFIG), json.as_bytes())
}

/// Locks a run directory and loads its checkpoint for a resume, refusing a checkpoint that belongs to
/// another run (its run id differs from the one in the directory's config.json).
pub fn open(dir: &Path) -> Result<(SearchState, DirLock)> {
    if !dir.is_dir() {
        return Err(Error::format(dir, "not a directory: give the run directory made by `wann search`"));
    }
    if !dir.join(CHECKPOINT).exists() {
        // Said before taking the lock, which would leave a lock file in a folder that is no run.
        return Err(no_checkpoint(&dir.join(CHECKPOINT)));
    }
    let lock = DirLock::acquire(dir)?;
    let state = load_checkpoint(dir)?;
    let config_path = dir.join(CONFIG);
    let recorded = SearchConfig::load(&config_path)?;
    if recorded.run_id != state.config.run_id {
        return Err(Error::format(
            dir.join(CHECKPOINT),
            format!(
                "this checkpoint belongs to another run (run id {}, while {} says {}): a run continues only \
                 from its own checkpoint",
                crate::fsutil::quote(&state.config.run_id),
                config_path.display(),
                crate::fsutil::quote(&recorded.run_id)
            ),
        ));
    }
    Ok((state, lock))
}

/// Drops log rows of generations at or after `generation` (written after the checkpoint that a
/// resume restarts from), so that the resumed log reads as if the run had never stopped.
pub fn truncate_log(dir: &Path, generation: u64) -> Result<()> {
    let path = dir.join(LOG);
    let text =
        if path.exists() { crate::fsutil::read_text(&path, MAX_LOG)? } else { format!("{LOG_HEADER}\n") };
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let keep = i == 0
            || line.split(',').next().and_then(|g| g.parse::<u64>().ok()).is_some_and(|g| g < generation);
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    write_atomic(&path, out.as_bytes())
}

fn append_log(dir: &Path, s: &GenerationStats, seconds: f64) -> Result<()> {
    let path = dir.join(LOG);
    let line = format!(
        "{},{:.6},{:.6},{:.6},{:.6},{},{},{},{},{},{:.4},{:.4},{:.4},{:.4},{:.4e},{:.4}\n",
        s.generation,
        s.best_mean,
        s.median_mean,
        s.best_max,
        s.champion_fitness,
        s.champion_connections,
        s.champion_nodes,
        s.median_connections,
        s.median_nodes,
        s.objectives.label(),
        s.compile_seconds,
        s.eval_seconds,
        s.evolve_seconds,
        seconds,
        s.edge_evaluations as f64 / s.eval_seconds.max(1e-9),
        s.champion_check_seconds,
    );
    let mut f =
        std::fs::OpenOptions::new().append(true).create(true).open(&path).map_err(|e| Error::io(&path, e))?;
    f.write_all(line.as_bytes()).map_err(|e| Error::io(&path, e))
}

pub fn write_champion(dir: &Path, champion: &Champion) -> Result<()> {
    crate::genome::json::save(&champion.genome, &dir.join(CHAMPION_JSON))?;
    crate::genome::out_format::save(&champion.genome, &dir.join(CHAMPION_OUT))
}

/// Told about each generation (progress bar, periodic lines, nothing).
pub trait Progress {
    fn generation(&mut self, stats: &GenerationStats, seconds: f64, total: u64);
    fn message(&mut self, msg: &str);
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// Ctrl-C: the checkpoint holds everything up to `generation`.
    Interrupted {
        generation: u64,
    },
}

/// Runs the remaining generations, writing log rows, champion files and checkpoints as it goes.
/// On an evaluation error the checkpoint is written first, then the error comes back saying so.
pub fn execute(
    search: &mut Search,
    task: &mut dyn Task,
    dir: &Path,
    interrupt: &AtomicBool,
    progress: &mut dyn Progress,
) -> Result<Outcome> {
    let every = search.state.config.checkpoint_every;
    let total = search.state.config.generations;
    let mut saver = BackgroundSaver::default();
    while !search.is_done() {
        if interrupt.load(Ordering::SeqCst) {
            saver.save_now(dir, &search.state)?;
            return Ok(Outcome::Interrupted { generation: search.state.generation });
        }
        let t = Instant::now();
        let stats = match search.step(task) {
            Ok(s) => s,
            Err(e) => {
                saver.save_now(dir, &search.state)?;
                return Err(Error::GenerationFailed {
                    generation: search.state.generation,
                    dir: dir.to_path_buf(),
                    source: Box::new(e),
                });
            }
        };
        if stats.new_champion {
            if let Some(c) = &search.state.champion {
                write_champion(dir, c)?;
            }
        }
        let seconds = t.elapsed().as_secs_f64();
        append_log(dir, &stats, seconds)?;
        if search.is_done() {
            saver.save_now(dir, &search.state)?;
        } else if search.state.generation.is_multiple_of(every) {
            saver.save(dir, search.state.clone())?;
        }
        progress.generation(&stats, seconds, total);
    }
    Ok(Outcome::Completed)
}

/// Writes periodic checkpoints on a thread of their own, so that the search does not wait for the
/// encoding and the disk. One is in flight at most: the next save, and every synchronous save, waits
/// for it first (so files land in order), and its error surfaces there.
#[derive(Default)]
struct BackgroundSaver {
    pending: Option<std::thread::JoinHandle<Result<()>>>,
}

impl BackgroundSaver {
    /// Saves `state` (a snapshot the search no longer touches) in the background.
    fn save(&mut self, dir: &Path, state: SearchState) -> Result<()> {
        self.wait()?;
        let dir = dir.to_path_buf();
        self.pending = Some(std::thread::spawn(move || save_checkpoint(&dir, &state)));
        Ok(())
    }

    /// Saves `state` now, after the save in flight: a newer checkpoint that supersedes it, so an
    /// error of that older save no longer matters (this one's own error does).
    fn save_now(&mut self, dir: &Path, state: &SearchState) -> Result<()> {
        let _ = self.wait();
        save_checkpoint(dir, state)
    }

    /// Waits for the save in flight, if any, and returns its result.
    fn wait(&mut self) -> Result<()> {
        match self.pending.take() {
            Some(h) => {
                h.join().unwrap_or_else(|_| Err(Error::Invalid("the checkpoint writer failed".into())))
            }
            None => Ok(()),
        }
    }
}

impl Drop for BackgroundSaver {
    /// Leaves no checkpoint half-done behind an early return (its error was already superseded).
    fn drop(&mut self) {
        let _ = self.wait();
    }
}

/// Default run directory name: `runs/<UTC time>-seed<seed>`, e.g. `runs/2026-11-30T05-24-10Z-seed0`.
pub fn default_dir(seed: u64) -> PathBuf {
    let stamp = crate::fsutil::utc_stamp(std::time::SystemTime::now());
    PathBuf::from("runs").join(format!("{stamp}-seed{seed}"))
}

/// Finishes a classification run's directory: the champion's report on `labels` (the examples the
/// evaluator was built with) as `report.json`, its pictures (heat map, receptive fields, network
/// drawing, Graphviz DOT) and the run's learning curves (`curves.png`). Returns the report.
pub fn finish(
    dir: &Path,
    genome: &Genome,
    evaluator: &mut dyn crate::eval::Evaluator,
    labels: &[u8],
) -> Result<crate::report::Report> {
    use crate::report::{self, curves, dot, pictures, receptive};
    let rep = report::report(evaluator, genome, labels, &report::Options::default())?;
    let json = serde_json::to_string_pretty(&rep)
        .map_err(|e| Error::Invalid(format!("cannot encode the report: {e}")))?;
    write_atomic(&dir.join(REPORT_FILES[0]), json.as_bytes())?;
    pictures::save_png(&pictures::heatmap(&rep.per_digit_sweep), &dir.join(REPORT_FILES[1]))?;
    let fields = receptive::receptive_fields(genome)?;
    pictures::save_png(&pictures::receptive_picture(genome.n_inputs, &fields)?, &dir.join(REPORT_FILES[2]))?;
    pictures::save_png(&pictures::network_picture(genome)?, &dir.join(REPORT_FILES[3]))?;
    write_atomic(&dir.join(REPORT_FILES[4]), dot::to_dot(genome)?.as_bytes())?;
    let log = curves::RunLog::load(dir)?;
    pictures::save_png(&curves::curves_picture(&[log])?, &dir.join(REPORT_FILES[5]))?;
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_background_checkpoint_is_the_snapshot_it_was_given() {
        let dir = tempfile::tempdir().unwrap();
        let config = SearchConfig { population: 4, ..Default::default() };
        let mut search = Search::new(config, 3, 2).unwrap();
        let snapshot = search.state.clone();
        let mut saver = BackgroundSaver::default();
        saver.save(dir.path(), search.state.clone()).unwrap();
        // The search moves on while the checkpoint is written.
        search.state.generation = 9;
        search.state.population.truncate(1);
        saver.wait().unwrap();
        assert_eq!(load_checkpoint(dir.path()).unwrap(), snapshot);
        // A failed write comes back from `wait`, once.
        std::fs::remove_file(dir.path().join(CHECKPOINT)).unwrap();
        std::fs::create_dir_all(dir.path().join(CHECKPOINT).join("in-the-way")).unwrap();
        saver.save(dir.path(), snapshot).unwrap();
        assert!(saver.wait().unwrap_err().to_string().contains(CHECKPOINT));
        assert!(saver.wait().is_ok());
    }
}
