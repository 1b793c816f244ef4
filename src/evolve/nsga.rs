//! NSGA-II ranking (`wann_src/nsga_sort.py`): non-dominated fronts, then crowding distance
//! (descending) inside each front. All objectives are maximised. The crowding scale depends on the
//! search's [`Semantics`].

use crate::genome::Semantics;

/// True when `a` is at least as good as `b` everywhere and better somewhere.
fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y) && a.iter().zip(b).any(|(x, y)| x > y)
}

/// Fronts of indices: front 0 is non-dominated, front 1 is non-dominated once front 0 is removed, ...
/// Within a front, indices are in ascending order. Two objectives (the search's case) take
/// O(n log n); other counts take [`fronts_all_pairs`]. Both give the same fronts for every input.
pub fn fronts(objectives: &[Vec<f64>]) -> Vec<Vec<usize>> {
    if objectives.iter().all(|o| o.len() == 2) {
        fronts_two(objectives)
    } else {
        fronts_all_pairs(objectives)
    }
}

/// Two objectives in O(n log n): visit the points by descending first objective (ties by descending
/// second), so every dominator of a point is visited before it, and put each point in the first front
/// none of whose members dominates it (the 2-D efficient non-dominated sort, binary search over
/// fronts). A point's front is then the length of the longest dominance chain above it, which is also
/// what [`fronts_all_pairs`] peels off.
fn fronts_two(objectives: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let n = objectives.len();
    // A point with a NaN neither dominates nor is dominated (every comparison with NaN is false), so
    // it stays in front 0 and does not affect the others, exactly as in the all-pairs method.
    // `+ 0.0` turns -0.0 into 0.0: `dominates` sees them as equal, `total_cmp` would not.
    let mut points: Vec<(f64, f64, usize)> = objectives
        .iter()
        .enumerate()
        .filter(|(_, o)| !o[0].is_nan() && !o[1].is_nan())
        .map(|(i, o)| (o[0] + 0.0, o[1] + 0.0, i))
        .collect();
    points.sort_unstable_by(|p, q| q.0.total_cmp(&p.0).then(q.1.total_cmp(&p.1)));
    // The latest member of each front. Members of a front visited in this order have non-decreasing
    // second objectives, so the latest one dominates a new point exactly when any member does; and a
    // front without a dominator of the point is followed only by such fronts (dominance is
    // transitive), which makes the binary search valid.
    let mut latest: Vec<(f64, f64)> = Vec::new();
    let mut front_of = vec![0usize; n];
    for &(a, b, i) in &points {
        // `latest` has a >= the point's a, so it dominates when b is larger, or equal with a larger a.
        let f = latest.partition_point(|&(la, lb)| lb > b || (lb == b && la > a));
        if f == latest.len() {
            latest.push((a, b));
        } else {
            latest[f] = (a, b);
        }
        front_of[i] = f;
    }
    let count = if n == 0 { 0 } else { latest.len().max(1) };
    let mut fronts = vec![Vec::new(); count];
    for (i, &f) in front_of.iter().enumerate() {
        fronts[f].push(i);
    }
    fronts
}

/// [`fronts`] by comparing all pairs (Deb's fast non-dominated sort), O(n^2), for any number of
/// objectives. Kept public as the plain method the two-objective path is checked and timed against.
pub fn fronts_all_pairs(objectives: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let n = objectives.len();
    // One flat buffer: the n^2 / 2 comparisons below are the cost of ranking a large population.
    let k = objectives.first().map_or(0, Vec::len);
    let flat: Vec<f64> = objectives.iter().flat_map(|o| o.iter().copied()).collect();
    let at = |i: usize| &flat[i * k..(i + 1) * k];
    let mut dominated_by_count = vec![0usize; n];
    let mut dominates_list: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in (i + 1)..n {
            if dominates(at(i), at(j)) {
                dominates_list[i].push(j);
                dominated_by_count[j] += 1;
            } else if dominates(at(j), at(i)) {
                dominates_list[j].push(i);
                dominated_by_count[i] += 1;
            }
        }
    }
    let mut fronts = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|&i| dominated_by_count[i] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            for &j in &dominates_list[i] {
                dominated_by_count[j] -= 1;
                if dominated_by_count[j] == 0 {
                    next.push(j);
                }
            }
        }
        next.sort_unstable();
        fronts.push(current);
        current = next;
    }
    fronts
}

/// Crowding distance of each member of one front (same order as `front`), standard scaling: boundary
/// points get infinity, inner points the sum over objectives of the normalised gap between their
/// neighbours, `(next - prev) / (max - min)`.
pub fn crowding_distance(objectives: &[Vec<f64>], front: &[usize]) -> Vec<f64> {
    crowding_distance_with(objectives, front, Semantics::Neat)
}

/// Crowding distance under `semantics`. `Neat` is [`crowding_distance`]. `Reference` is the
/// reference's computation: per objective, the gap to both neighbours (infinite at the ends of the
/// sorted front) multiplied, when `max > min`, by `|1/max - min|` rather than `1 / (max - min)`. With
/// that scale the ends can come out as `inf * 0 = NaN`; [`rank_with`] puts NaN last in its front, as
/// the reference's sort does.
pub fn crowding_distance_with(objectives: &[Vec<f64>], front: &[usize], semantics: Semantics) -> Vec<f64> {
    let m = front.len();
    if m <= 2 && semantics == Semantics::Neat {
        return vec![f64::INFINITY; m];
    }
    let mut dist = vec![0.0f64; m];
    if m == 0 {
        return dist;
    }
    for k in 0..objectives[front[0]].len() {
        match semantics {
            Semantics::Neat => add_crowding(objectives, front, k, &mut dist),
            Semantics::Reference => add_crowding_reference(objectives, front, k, &mut dist),
        }
    }
    dist
}

/// Front members sorted by objective `k` (ties by position in the front).
fn sorted_by(objectives: &[Vec<f64>], front: &[usize], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..front.len()).collect();
    order.sort_by(|&a, &b| objectives[front[a]][k].total_cmp(&objectives[front[b]][k]).then(a.cmp(&b)));
    order
}

/// Adds objective `k`'s share of the crowding distance to `dist`.
fn add_crowding(objectives: &[Vec<f64>], front: &[usize], k: usize, dist: &mut [f64]) {
    let m = front.len();
    let value = |a: usize| objectives[front[a]][k];
    let order = sorted_by(objectives, front, k);
    dist[order[0]] = f64::INFINITY;
    dist[order[m - 1]] = f64::INFINITY;
    let span = value(order[m - 1]) - value(order[0]);
    if span > 0.0 {
        for w in 1..m - 1 {
            dist[order[w]] += (value(order[w + 1]) - value(order[w - 1])) / span;
        }
    }
}

/// Adds objective `k`'s share the reference's way, IEEE arithmetic included (`inf * 0` is NaN).
fn add_crowding_reference(objectives: &[Vec<f64>], front: &[usize], k: usize, dist: &mut [f64]) {
    let m = front.len();
    let order = sorted_by(objectives, front, k);
    let sorted: Vec<f64> = order.iter().map(|&a| objectives[front[a]][k]).collect();
    let (min, max) = (sorted[0], sorted[m - 1]);
    let scale = if max - min > 0.0 { Some((1.0 / max - min).abs()) } else { None };
    for (w, &a) in order.iter().enumerate() {
        let prev = if w == 0 { f64::INFINITY } else { sorted[w] - sorted[w - 1] };
        let next = if w == m - 1 { f64::INFINITY } else { sorted[w + 1] - sorted[w] };
        let crowd = prev + next;
        dist[a] += scale.map_or(crowd, |s| crowd * s);
    }
}

/// Rank of every individual (0 = best) with the standard crowding scale: see [`rank_with`].
pub fn rank(objectives: &[Vec<f64>]) -> Vec<usize> {
    rank_with(objectives, Semantics::Neat)
}

/// Rank of every individual (0 = best): fronts in order, by descending crowding distance (under
/// `semantics`) inside a front, NaN distances last, ties by index.
pub fn rank_with(objectives: &[Vec<f64>], semantics: Semantics) -> Vec<usize> {
    let mut order = Vec::with_capacity(objectives.len());
    for front in fronts(objectives) {
        let dist = crowding_distance_with(objectives, &front, semantics);
        let key = |d: f64| if d.is_nan() { f64::NEG_INFINITY } else { d };
        let mut members: Vec<usize> = (0..front.len()).collect();
        members.sort_by(|&a, &b| key(dist[b]).total_cmp(&key(dist[a])).then(front[a].cmp(&front[b])));
        order.extend(members.into_iter().map(|k| front[k]));
    }
    let mut rank = vec![0; objectives.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const INF: f64 = f64::INFINITY;
    const NAN: f64 = f64::NAN;

    /// The fast path's fronts, checked against the all-pairs method before being returned.
    fn both(objs: &[Vec<f64>]) -> Vec<Vec<usize>> {
        let fast = fronts(objs);
        assert_eq!(fast, fronts_all_pairs(objs), "objectives {objs:?}");
        fast
    }

    #[test]
    fn two_objective_edge_cases_by_hand() {
        let p = |v: &[(f64, f64)]| v.iter().map(|&(a, b)| vec![a, b]).collect::<Vec<_>>();
        assert!(both(&[]).is_empty());
        assert_eq!(both(&p(&[(0.5, 0.5)])), vec![vec![0]]);
        // Duplicates share a front.
        assert_eq!(both(&p(&[(0.0, 0.0), (1.0, 1.0), (0.0, 0.0), (1.0, 1.0)])), vec![vec![1, 3], vec![0, 2]]);
        // Equal first objectives: the larger second dominates.
        assert_eq!(both(&p(&[(1.0, 0.0), (1.0, 2.0), (1.0, 1.0)])), vec![vec![1], vec![2], vec![0]]);
        // Equal second objectives: the larger first dominates.
        assert_eq!(both(&p(&[(0.0, 1.0), (2.0, 1.0), (1.0, 1.0)])), vec![vec![1], vec![2], vec![0]]);
        // -0.0 equals 0.0 for dominance.
        assert_eq!(both(&p(&[(-0.0, 1.0), (0.0, 1.0)])), vec![vec![0, 1]]);
        assert_eq!(both(&p(&[(0.0, -0.0), (-0.0, 0.0), (0.0, -1.0)])), vec![vec![0, 1], vec![2]]);
        // Infinities compare as numbers; (inf, inf) dominates everything but itself.
        let infs = p(&[(INF, -INF), (-INF, INF), (INF, INF), (0.0, 0.0), (INF, INF), (-INF, -INF)]);
        assert_eq!(both(&infs), vec![vec![2, 4], vec![0, 1, 3], vec![5]]);
        // A NaN anywhere makes a point incomparable with every other: it stays in front 0.
        let nans = p(&[(NAN, 5.0), (1.0, NAN), (0.0, 0.0), (1.0, 1.0), (NAN, NAN), (-INF, -INF)]);
        assert_eq!(both(&nans), vec![vec![0, 1, 3, 4], vec![2], vec![5]]);
        assert_eq!(both(&p(&[(NAN, NAN), (NAN, 0.0)])), vec![vec![0, 1]]);
    }

    #[test]
    fn other_objective_counts_compare_all_pairs() {
        let objs = vec![vec![1.0, 1.0, 1.0], vec![0.0, 0.0, 0.0], vec![2.0, 0.0, 0.0], vec![0.0, 0.0, 0.0]];
        assert_eq!(fronts(&objs), vec![vec![0, 2], vec![1, 3]]);
        let one = vec![vec![1.0], vec![3.0], vec![1.0], vec![NAN]];
        assert_eq!(fronts(&one), vec![vec![1, 3], vec![0, 2]]);
    }

    #[test]
    fn two_objective_fronts_equal_all_pairs_on_random_populations() {
        // Small value sets make ties, duplicates and long chains common; the search's own objectives
        // (mean fitness, then max fitness or 1/connections) are coarse in the same way.
        let sets: [&[f64]; 6] = [
            &[0.0, 0.5, 1.0],
            &[-INF, -1.0, -0.0, 0.0, 1.0, INF],
            &[NAN, 0.0, 1.0, 2.0, INF],
            &[0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.0 / 3.0, 0.1, 0.2],
            &[NAN],
            &[],
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (s, set) in sets.iter().enumerate() {
            for (n, repeats) in [(0, 1), (1, 20), (2, 200), (3, 300), (4, 300), (7, 300), (50, 200), (960, 5)]
            {
                for _ in 0..repeats {
                    let value = |rng: &mut ChaCha8Rng| {
                        if set.is_empty() {
                            rng.random::<f64>()
                        } else {
                            set[rng.random_range(0..set.len())]
                        }
                    };
                    let objs: Vec<Vec<f64>> =
                        (0..n).map(|_| vec![value(&mut rng), value(&mut rng)]).collect();
                    let f = both(&objs);
                    // Every index exactly once: a partition of the population.
                    let mut all: Vec<usize> = f.concat();
                    all.sort_unstable();
                    assert_eq!(all, (0..n).collect::<Vec<_>>(), "value set {s}");
                }
            }
        }
    }
}
