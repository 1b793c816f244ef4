//! Families for [`Evaluator::evaluate_with_parents`](super::Evaluator::evaluate_with_parents): a
//! program evaluated in full and the children bred from it, each child planned as a [`Delta`] of
//! its parent. Every evaluator that computes deltas plans them here, so they agree on which
//! children are computed and which are exact copies of their parent.

use crate::error::{Error, Result};
use crate::program::delta::{Delta, ParentIndex};
use crate::program::Programs;
use rayon::prelude::*;

/// A program evaluated in full and the programs evaluated as its deltas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Family {
    pub parent: usize,
    pub children: Vec<usize>,
}

/// Families in parent order, children in index order; a program without a parent is a parent.
/// A child's parent must be a program of the same call that has no parent itself.
pub fn families(parents: &[Option<usize>], n: usize) -> Result<Vec<Family>> {
    if parents.len() != n {
        return Err(Error::Invalid(format!("{} parent entries for {n} programs", parents.len())));
    }
    let mut family_of = vec![usize::MAX; n];
    let mut out = Vec::new();
    for (i, p) in parents.iter().enumerate() {
        if p.is_none() {
            family_of[i] = out.len();
            out.push(Family { parent: i, children: Vec::new() });
        }
    }
    for (i, p) in parents.iter().enumerate() {
        if let Some(p) = *p {
            if p >= n || parents[p].is_some() {
                return Err(Error::Invalid(format!(
                    "program {i}'s parent {p} is not a program of this call evaluated in full"
                )));
            }
            out[family_of[p]].children.push(i);
        }
    }
    Ok(out)
}

/// How one family's children are evaluated.
#[derive(Clone, Debug, Default)]
pub struct FamilyPlan {
    /// Children computed as deltas, in index order, and their deltas (`deltas[k]` is `computed[k]`'s).
    pub computed: Vec<usize>,
    pub deltas: Vec<Delta>,
    /// Children with nothing to compute whose outputs are the parent's own: their results are
    /// exactly the parent's.
    pub copies: Vec<usize>,
}

impl FamilyPlan {
    /// The plans of all `families`, on all cores: children are planned one by one (a family with
    /// many children is not one long task), each against its parent's index, made once.
    pub fn all(programs: &Programs, families: &[Family]) -> Vec<FamilyPlan> {
        let n_out = programs.n_outputs as usize;
        let indexes: Vec<ParentIndex> =
            families.par_iter().map(|f| ParentIndex::new(programs.view(f.parent))).collect();
        let pairs: Vec<(usize, usize)> = families
            .iter()
            .enumerate()
            .flat_map(|(f, fam)| fam.children.iter().map(move |&c| (f, c)))
            .collect();
        let deltas: Vec<Delta> = pairs
            .par_iter()
            .map(|&(f, c)| {
                let parent = programs.view(families[f].parent);
                Delta::plan_indexed(parent, &indexes[f], programs.view(c), n_out)
            })
            .collect();
        let mut plans: Vec<FamilyPlan> = families.iter().map(|_| FamilyPlan::default()).collect();
        for ((f, c), d) in pairs.into_iter().zip(deltas) {
            let first_output = (programs.ops_of(families[f].parent).len() - n_out) as u32;
            let same_outputs = d.outputs.iter().copied().eq(first_output..first_output + n_out as u32);
            let plan = &mut plans[f];
            if d.ops.is_empty() && same_outputs {
                plan.copies.push(c);
            } else {
                plan.computed.push(c);
                plan.deltas.push(d);
            }
        }
        plans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_group_children_under_parents_and_refuse_bad_parents() {
        let f = families(&[None, Some(0), None, Some(0), Some(2)], 5).unwrap();
        assert_eq!(
            f,
            vec![Family { parent: 0, children: vec![1, 3] }, Family { parent: 2, children: vec![4] }]
        );
        // A parent that has a parent, one out of range, a wrong length.
        assert!(families(&[None, Some(0), Some(1)], 3).unwrap_err().to_string().contains("parent 1"));
        assert!(families(&[None, Some(5)], 2).is_err());
        assert!(families(&[None], 2).unwrap_err().to_string().contains("1 parent entries for 2"));
    }
}
