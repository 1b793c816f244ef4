//! The reference's network files (`.out`, `exportNet`/`importNet` in `wann_src/ind.py`): a CSV of N rows
//! and N+1 columns in `%1.2e`. Columns 0..N are the connection matrix in execution order (bias, inputs,
//! hidden in topological order, outputs), row = source, column = destination: `0` none, `nan` disabled,
//! anything else enabled. The last column is each node's activation id.
//!
//! The matrix is the network as expressed: under reference semantics a disabled hidden->hidden gene
//! is written as an active `1`, as the reference's own files show it. Reading a file therefore needs
//! no semantics: every cell means what it says, and the genome comes back as `neat`.
//!
//! The reference keeps each connection's weight in its cell. A shared-weight network is written with
//! 1 in every enabled cell, a trained one with its trained weights (to the format's three significant
//! digits). Reading keeps the cell values as trained weights only when asked: the reference's
//! shared-weight champions carry leftover values in their cells that mean nothing there.
//!
//! The file carries no innovation numbers: on import they are assigned in row-major order. Input and
//! output counts are not in the file either; the caller passes the task's.

use super::{Activation, ConnGene, Genome, HiddenNode};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// numpy's `%1.2e`: `1.00e+00`, `-5.00e-01`, `1.10e+01`, `nan`.
fn format_e2(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    let s = format!("{x:.2e}"); // Rust writes `1.10e1` / `5.00e-1`
    let (mantissa, exp) = s.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// Most nodes a `.out` file is written for: the format is a dense N x N text matrix (9 bytes a cell),
/// so 8192 nodes already make a 600 MB file. The paper's champion has under 700.
pub const MAX_NODES: usize = 8192;

pub fn to_string(genome: &Genome) -> Result<String> {
    let n = genome.node_count();
    if n > MAX_NODES {
        return Err(Error::Invalid(format!(
            "the network has {n} nodes; the .out format writes an N x N matrix and is limited to {MAX_NODES} \
             nodes: save it as JSON instead"
        )));
    }
    let hidden_order = genome.execution_order()?;
    let order: Vec<u32> = (0..=genome.n_inputs).chain(hidden_order).chain(genome.output_ids()).collect();
    let position: HashMap<u32, usize> = order.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let activation: HashMap<u32, Activation> = genome.hidden.iter().map(|h| (h.id, h.activation)).collect();
    let mut matrix = vec![0.0f64; n * n];
    let trained = |c: &ConnGene| genome.trained.as_ref().and_then(|t| t.get(&c.innovation)).copied();
    for c in &genome.conns {
        matrix[position[&c.src] * n + position[&c.dst]] = match (genome.expresses(c), trained(c)) {
            (false, _) => f64::NAN,
            (true, None) => 1.0,
            // A zero cell would mean "no connection": an exactly zero weight is written as the
            // smallest positive f32, which acts the same.
            (true, Some(0.0)) => f32::from_bits(1) as f64,
            (true, Some(w)) => w as f64,
        };
    }
    let mut out = String::new();
    for (row, &id) in order.iter().enumerate() {
        let cells = matrix[row * n..(row + 1) * n].iter().map(|&v| format_e2(v));
        let act = activation.get(&id).copied().unwrap_or(Activation::Linear).id() as f64;
        out.push_str(&cells.chain(std::iter::once(format_e2(act))).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    Ok(out)
}

/// Parses and validates a `.out` text for a task with `n_inputs` inputs and `n_outputs` outputs, as a
/// shared-weight network (the cell values other than 0 and nan are ignored).
pub fn from_str(text: &str, n_inputs: u32, n_outputs: u32, path: &Path) -> Result<Genome> {
    parse(text, n_inputs, n_outputs, false, path)
}

/// As [`from_str`], keeping the enabled cells' values as the network's trained weights.
pub fn from_str_trained(text: &str, n_inputs: u32, n_outputs: u32, path: &Path) -> Result<Genome> {
    parse(text, n_inputs, n_outputs, true, path)
}

fn parse(text: &str, n_inputs: u32, n_outputs: u32, keep_weights: bool, path: &Path) -> Result<Genome> {
    let err = |msg: String| Error::format(path, msg);
    super::check_shape(n_inputs, n_outputs).map_err(|e| err(e.to_string()))?;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (line_no, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let row = line
            .split(',')
            .map(|cell| {
                cell.trim().parse::<f64>().map_err(|_| {
                    err(format!(
                        "line {}: {} is not a number",
                        line_no + 1,
                        crate::fsutil::quote(cell.trim())
                    ))
                })
            })
            .collect::<Result<Vec<f64>>>()?;
        rows.push(row);
    }
    let n = rows.len();
    let fixed = 1 + n_inputs as usize + n_outputs as usize;
    if n < fixed {
        return Err(err(format!(
            "{n} nodes, but a network with {n_inputs} inputs and {n_outputs} outputs has at least {fixed} \
             (bias + inputs + outputs); give the input and output counts of the task it was made for"
        )));
    }
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != n + 1) {
        return Err(err(format!(
            "line {}: {} columns, expected {} (an N x N matrix plus the activation column)",
            i + 1,
            r.len(),
            n + 1
        )));
    }
    let n_hidden = n - fixed;
    let first_hidden_row = 1 + n_inputs as usize;
    // Row -> node id: bias and inputs keep their ids, hidden rows get ids after the outputs, output
    // rows (the last n_outputs) get the output ids.
    let id_of = |row: usize| -> u32 {
        if row < first_hidden_row {
            row as u32
        } else if row < first_hidden_row + n_hidden {
            fixed as u32 + (row - first_hidden_row) as u32
        } else {
            (row - n_hidden) as u32
        }
    };
    let mut genome = Genome::empty(n_inputs, n_outputs);
    for (row, cells) in rows.iter().enumerate() {
        let act = cells[n];
        let act_id = act as u32;
        let valid = act.fract() == 0.0 && (0.0..=11.0).contains(&act);
        let is_hidden = (first_hidden_row..first_hidden_row + n_hidden).contains(&row);
        if is_hidden {
            let activation = (valid && act_id >= 1).then(|| Activation::from_id(act_id)).flatten();
            let activation = activation.ok_or_else(|| {
                err(format!("line {}: unknown activation id {act} (valid ids are 1 to 11)", row + 1))
            })?;
            genome.hidden.push(HiddenNode { id: id_of(row), activation });
        } else if row >= first_hidden_row + n_hidden && act != 1.0 {
            return Err(err(format!(
                "line {}: output node has activation {act}; outputs are linear (id 1) in this method",
                row + 1
            )));
        } else if !valid {
            return Err(err(format!("line {}: activation column {act} is not an id from 0 to 11", row + 1)));
        }
    }
    let mut innovation = 0u64;
    let mut trained = std::collections::BTreeMap::new();
    for (src_row, cells) in rows.iter().enumerate() {
        for (dst_row, &v) in cells[..n].iter().enumerate() {
            if v != 0.0 {
                if keep_weights && !v.is_nan() {
                    if !(v as f32).is_finite() {
                        return Err(err(format!(
                            "line {}, column {}: weight {v} is not a finite f32",
                            src_row + 1,
                            dst_row + 1
                        )));
                    }
                    trained.insert(innovation, v as f32);
                }
                genome.conns.push(ConnGene {
                    innovation,
                    src: id_of(src_row),
                    dst: id_of(dst_row),
                    enabled: !v.is_nan(),
                });
                innovation += 1;
            }
        }
    }
    if keep_weights && !trained.is_empty() {
        genome.trained = Some(trained);
    }
    genome.validate().map_err(|e| err(e.to_string()))?;
    Ok(genome)
}

pub fn load(path: &Path, n_inputs: u32, n_outputs: u32) -> Result<Genome> {
    from_str(&crate::fsutil::read_text(path, crate::fsutil::MAX_GENOME_FILE)?, n_inputs, n_outputs, path)
}

/// Reads a `.out` file keeping its cell values as trained weights.
pub fn load_trained(path: &Path, n_inputs: u32, n_outputs: u32) -> Result<Genome> {
    from_str_trained(&crate::fsutil::read_to_string(path)?, n_inputs, n_outputs, path)
}

pub fn save(genome: &Genome, path: &Path) -> Result<()> {
    crate::fsutil::write_atomic(path, to_string(genome)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_e2_format() {
        assert_eq!(format_e2(0.0), "0.00e+00");
        assert_eq!(format_e2(1.0), "1.00e+00");
        assert_eq!(format_e2(11.0), "1.10e+01");
        assert_eq!(format_e2(-0.5), "-5.00e-01");
        assert_eq!(format_e2(f64::NAN), "nan");
    }
}
