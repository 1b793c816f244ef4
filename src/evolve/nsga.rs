//! NSGA-II ranking (`wann_src/nsga_sort.py`): non-dominated fronts, then crowding distance
//! (descending) inside each front. All objectives are maximised. The crowding scale depends on the
//! search's [`Semantics`].

use crate::genome::Semantics;

/// True when `a` is at least as good as `b` everywhere and better somewhere.
fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y) && a.iter().zip(b).any(|(x, y)| x > y)
}

/// Fronts of indices: front 0 is non-dominated, front 1 is non-dominated once front 0 is removed, ...
/// Within a front, indices are in ascending order.
pub fn fronts(objectives: &[Vec<f64>]) -> Vec<Vec<usize>> {
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
