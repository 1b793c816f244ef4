//! Which genes a genome expresses as connections, and how the search ranks: two readings of the method.
//!
//! - [`Semantics::Neat`]: a connection runs exactly when its gene is enabled (the paper's text and
//!   NEAT's convention); crowding distances are scaled by `1 / (max - min)`.
//! - [`Semantics::Reference`]: what the paper's code computed. A disabled gene whose source and
//!   destination are both hidden nodes still runs, with the shared weight like every other connection
//!   (the reference marks disabled genes in its weight matrix and then sets every nonzero entry of the
//!   hidden-to-hidden block to one, which catches those marks too); disabled genes touching the bias,
//!   an input or an output stay off. Crowding distances are scaled by `|1/max - min|`, as its code
//!   evaluates its normalisation.
//!
//! Everything that expresses a genome goes through [`Genome::expresses`](super::Genome::expresses),
//! so the two readings differ in that one place (plus the ranking's scale).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Semantics {
    /// As the reference code ran: disabled hidden->hidden genes stay active; its crowding scale.
    Reference,
    /// As the paper's text reads: only enabled genes are connections; the standard crowding scale.
    #[default]
    Neat,
}

impl Semantics {
    pub fn name(self) -> &'static str {
        match self {
            Semantics::Reference => "reference",
            Semantics::Neat => "neat",
        }
    }
}

impl std::fmt::Display for Semantics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
