//! Ensemble voting: every weight value is one voter, each example goes to the class with most votes.
//!
//! **Tie rule:** when several classes share the most votes, the lowest class index among them wins
//! (what `np.argmax(np.bincount(votes))` does). The rule needs only the predicted classes, so the
//! whole report stays one `predict` call without raw outputs; [`Vote::ties`] says how often it was
//! needed.

use crate::error::{Error, Result};
use serde::Serialize;

/// The documented tie rule, as text for reports.
pub const TIE_RULE: &str = "most votes wins; a tie goes to the lowest class index among the tied classes";

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Vote {
    /// The winning class per example.
    pub classes: Vec<u8>,
    /// Examples where two or more classes shared the most votes.
    pub ties: usize,
}

/// Majority vote over `voters` (each a predicted class per example, all the same length).
pub fn vote(voters: &[&[u8]]) -> Result<Vote> {
    let Some(first) = voters.first() else {
        return Err(Error::Invalid("an ensemble needs at least one weight value to vote".into()));
    };
    let n = first.len();
    if let Some(bad) = voters.iter().find(|v| v.len() != n) {
        return Err(Error::Invalid(format!(
            "voters disagree on the number of examples ({} and {})",
            n,
            bad.len()
        )));
    }
    let mut classes = Vec::with_capacity(n);
    let mut ties = 0;
    let mut counts = [0u32; 256];
    for e in 0..n {
        counts.fill(0);
        for v in voters {
            counts[v[e] as usize] += 1;
        }
        let (mut best, mut best_count, mut tied) = (0usize, 0u32, false);
        for (c, &k) in counts.iter().enumerate() {
            if k > best_count {
                (best, best_count, tied) = (c, k, false);
            } else if k == best_count && k > 0 {
                tied = true;
            }
        }
        classes.push(best as u8);
        ties += tied as usize;
    }
    Ok(Vote { classes, ties })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_and_lowest_index_ties() {
        let a = [3, 1, 2, 7, 9];
        let b = [3, 1, 5, 2, 8];
        let c = [4, 0, 5, 2, 7];
        let d = [4, 0, 2, 7, 6];
        let e = [4, 1, 9, 7, 5];
        let v = vote(&[&a, &b, &c, &d, &e]).unwrap();
        // 3,3,4,4,4 -> 4; 1,1,0,0,1 -> 1; 2,5,5,2,9 -> tie 2/5 -> 2; 7,2,2,7,7 -> 7; all differ -> 5.
        assert_eq!(v.classes, vec![4, 1, 2, 7, 5]);
        assert_eq!(v.ties, 2);
    }

    #[test]
    fn single_voter_and_errors() {
        let v = vote(&[&[0, 9, 3]]).unwrap();
        assert_eq!(v.classes, vec![0, 9, 3]);
        assert_eq!(v.ties, 0);
        assert!(vote(&[]).is_err());
        assert!(vote(&[&[1, 2], &[1]]).is_err());
    }
}
