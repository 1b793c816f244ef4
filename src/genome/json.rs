//! The genome's own file format: versioned JSON.
//!
//! ```json
//! { "format": "wann-genome", "version": 1, "semantics": "neat", "inputs": 256, "outputs": 10,
//!   "hidden": [ { "id": 267, "activation": 5 } ],
//!   "connections": [ { "innovation": 0, "src": 0, "dst": 257, "enabled": true } ] }
//! ```
//! Activations are the reference's ids (1 linear ... 11 square). `semantics` (`neat` or `reference`)
//! says how the genes are expressed; files written before it existed have none and mean `neat`.
//! A trained network (`wann train`) also gives each expressed connection its own `"weight"`;
//! without any, the network is a shared-weight one.

use super::{ConnGene, Genome, HiddenNode, Semantics};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const FORMAT: &str = "wann-genome";
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenomeFile {
    format: String,
    version: u32,
    #[serde(default)]
    semantics: Semantics,
    inputs: u32,
    outputs: u32,
    hidden: Vec<HiddenNode>,
    connections: Vec<ConnRecord>,
}

/// A connection gene as written in the file, with its trained weight if it has one.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnRecord {
    innovation: u64,
    src: u32,
    dst: u32,
    enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weight: Option<f32>,
}

pub fn to_string(genome: &Genome) -> String {
    let file = GenomeFile {
        format: FORMAT.into(),
        version: VERSION,
        semantics: genome.semantics,
        inputs: genome.n_inputs,
        outputs: genome.n_outputs,
        hidden: genome.hidden.clone(),
        connections: genome
            .conns
            .iter()
            .map(|c| ConnRecord {
                innovation: c.innovation,
                src: c.src,
                dst: c.dst,
                enabled: c.enabled,
                weight: genome.trained.as_ref().and_then(|t| t.get(&c.innovation).copied()),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&file).expect("a genome always serialises")
}

/// Parses and validates; `path` is only used to name the file in errors.
pub fn from_str(text: &str, path: &Path) -> Result<Genome> {
    let file: GenomeFile = serde_json::from_str(text)
        .map_err(|e| Error::format(path, format!("not a valid genome file: {}", crate::fsutil::clip(e))))?;
    if file.format != FORMAT {
        let format = crate::fsutil::quote(&file.format);
        return Err(Error::format(path, format!("format is {format}, expected {FORMAT:?}")));
    }
    if file.version != VERSION {
        return Err(Error::format(
            path,
            format!("genome format version {} is not supported (this build reads {VERSION})", file.version),
        ));
    }
    let trained: BTreeMap<u64, f32> =
        file.connections.iter().filter_map(|c| Some((c.innovation, c.weight?))).collect();
    let genome = Genome {
        n_inputs: file.inputs,
        n_outputs: file.outputs,
        hidden: file.hidden,
        conns: file
            .connections
            .iter()
            .map(|c| ConnGene { innovation: c.innovation, src: c.src, dst: c.dst, enabled: c.enabled })
            .collect(),
        trained: (!trained.is_empty()).then_some(trained),
        semantics: file.semantics,
    };
    genome.validate().map_err(|e| Error::format(path, e.to_string()))?;
    Ok(genome)
}

pub fn load(path: &Path) -> Result<Genome> {
    from_str(&crate::fsutil::read_text(path, crate::fsutil::MAX_GENOME_FILE)?, path)
}

pub fn save(genome: &Genome, path: &Path) -> Result<()> {
    crate::fsutil::write_atomic(path, to_string(genome).as_bytes())
}
