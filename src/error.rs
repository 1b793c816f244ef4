//! One error type for the library. Every message says what was wrong and, where it can, how to fix it.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A data file (IDX image or label file) that is malformed.
    #[error("{path}: {msg}")]
    Data { path: PathBuf, msg: String },

    /// The dataset could not be found or fetched.
    #[error("{0}")]
    MissingData(String),

    /// A genome that breaks the rules (cycle, dangling connection, unknown activation ...).
    #[error("invalid genome: {0}")]
    Genome(String),

    /// A file in one of our formats (genome JSON, `.out`, checkpoint, config) that cannot be read.
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },

    /// The GPU could not be used (no adapter, device lost, out of memory, shader error ...).
    #[error("GPU: {0}")]
    Gpu(String),

    /// A request that cannot be satisfied as asked (bad option value, mismatched sizes ...).
    #[error("{0}")]
    Invalid(String),

    /// A directory that already holds a search run, which is never overwritten.
    #[error("{} already holds a run", .0.display())]
    RunExists(PathBuf),

    /// A search generation failed after the run's checkpoint in `dir` was saved: the run can go on
    /// from it (on another backend, say).
    #[error("generation {generation} failed (the checkpoint in {} is intact)", dir.display())]
    GenerationFailed {
        generation: u64,
        dir: PathBuf,
        #[source]
        source: Box<Error>,
    },

    /// The user interrupted the work (Ctrl-C); what was done so far is saved.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
    pub fn data(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Data { path: path.into(), msg: msg.into() }
    }
    pub fn format(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Format { path: path.into(), msg: msg.into() }
    }
}
