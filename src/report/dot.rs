//! Graphviz DOT export of a network: left to right, inputs named by pixel (`r3c12`), hidden nodes
//! filled with their activation's colour (the same palette as the network picture), outputs named by
//! class. Only expressed connections are drawn (under `neat`, the enabled ones); inputs without any
//! are left out.

use super::graph::Topology;
use super::pictures::{activation_colour, grid_shape};
use crate::error::Result;
use crate::genome::{Activation, Genome};
use std::fmt::Write;

/// The node's name by its id alone (the genome is valid, so every id past the outputs is a hidden
/// node): no search through the genome, so that the export stays linear in its size.
fn node_name(genome: &Genome, id: u32) -> String {
    if id == 0 {
        "bias".into()
    } else if id <= genome.n_inputs {
        let (_, cols) = grid_shape(genome.n_inputs);
        let p = id - 1;
        format!("r{}c{}", p / cols, p % cols)
    } else if id < genome.fixed_node_count() {
        format!("out{}", id - genome.first_output_id())
    } else {
        format!("h{id}")
    }
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The network as a DOT graph.
pub fn to_dot(genome: &Genome) -> Result<String> {
    let topo = Topology::new(genome)?;
    let mut s = String::new();
    let enabled: Vec<_> = genome.expressed_conns().collect();
    let _ = writeln!(
        s,
        "// WANN network: {} hidden nodes in {} layers, {} connections ({} genes, {} semantics).",
        genome.hidden.len(),
        topo.hidden_layers,
        enabled.len(),
        genome.conns.len(),
        genome.semantics
    );
    let _ = writeln!(s, "digraph wann {{");
    let _ = writeln!(s, "  rankdir=LR; ranksep=1.2; nodesep=0.05;");
    let _ =
        writeln!(s, "  node [shape=circle, style=filled, fontname=\"Helvetica\", fontsize=9, width=0.3];");
    let _ = writeln!(s, "  edge [arrowsize=0.3, color=\"#55555560\"];");
    let mut used_inputs: Vec<u32> = enabled.iter().map(|c| c.src).filter(|&s| s <= genome.n_inputs).collect();
    used_inputs.sort_unstable();
    used_inputs.dedup();
    let _ = writeln!(s, "  subgraph inputs {{ rank=same;");
    for &id in &used_inputs {
        let (shape, colour) = if id == 0 { ("box", "#bbbbbb") } else { ("square", "#c6dbef") };
        let _ = writeln!(s, "    {} [shape={shape}, fillcolor=\"{colour}\"];", node_name(genome, id));
    }
    let _ = writeln!(s, "  }}");
    let activation: std::collections::HashMap<u32, Activation> =
        genome.hidden.iter().map(|h| (h.id, h.activation)).collect();
    for &id in &topo.hidden_order {
        let a = activation[&id];
        let _ = writeln!(
            s,
            "  {} [label=\"{}\\n{}\", fillcolor=\"{}\", tooltip=\"layer {}\"];",
            node_name(genome, id),
            id,
            a.name(),
            hex(activation_colour(a)),
            topo.layer[&id]
        );
    }
    let _ = writeln!(s, "  subgraph outputs {{ rank=same;");
    for (k, id) in genome.output_ids().enumerate() {
        let _ = writeln!(
            s,
            "    {} [label=\"{k}\", shape=doublecircle, fillcolor=white];",
            node_name(genome, id)
        );
    }
    let _ = writeln!(s, "  }}");
    for c in &enabled {
        let _ = writeln!(s, "  {} -> {};", node_name(genome, c.src), node_name(genome, c.dst));
    }
    let _ = writeln!(s, "}}");
    Ok(s)
}
