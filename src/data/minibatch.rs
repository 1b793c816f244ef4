//! Minibatches: a seeded draw without replacement, reproducible from (seed, generation) alone, so that
//! a resumed run draws exactly what an uninterrupted one would.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// `n` distinct indices from `0..total` (all of them, in order, if `n >= total`).
pub fn draw(seed: u64, generation: u64, total: usize, n: usize) -> Vec<u32> {
    if n >= total {
        return (0..total as u32).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // One independent stream per generation; stream 0 is left to other users of the seed.
    rng.set_stream(generation.wrapping_add(1));
    rand::seq::index::sample(&mut rng, total, n).into_iter().map(|i| i as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_distinct_and_in_range() {
        let a = draw(7, 3, 60_000, 1000);
        assert_eq!(a, draw(7, 3, 60_000, 1000));
        assert_ne!(a, draw(7, 4, 60_000, 1000));
        assert_ne!(a, draw(8, 3, 60_000, 1000));
        let mut s = a.clone();
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), 1000);
        assert!(a.iter().all(|&i| i < 60_000));
        assert_eq!(draw(1, 0, 5, 10), vec![0, 1, 2, 3, 4]);
    }
}
