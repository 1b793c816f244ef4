//! Plain statistics over predictions: accuracy, mean and spread, confusion matrix, per-class accuracy.

use serde::Serialize;

/// Mean and spread of a sample. `std` is the population standard deviation (divides by `n`, as
/// NumPy's default `np.std`), which is what the paper's "mean ± std" over weight draws reads as.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MeanStd {
    pub n: usize,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

/// Mean, population std, min and max of `xs`; `None` for an empty sample (never NaN).
pub fn mean_std(xs: &[f64]) -> Option<MeanStd> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    Some(MeanStd {
        n: xs.len(),
        mean,
        std: var.max(0.0).sqrt(),
        min: xs.iter().copied().fold(f64::INFINITY, f64::min),
        max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// Fraction of `predicted` equal to `labels` (compared pairwise); 0 for no examples.
pub fn accuracy(predicted: &[u8], labels: &[u8]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    correct(predicted, labels) as f64 / labels.len() as f64
}

pub fn correct(predicted: &[u8], labels: &[u8]) -> usize {
    predicted.iter().zip(labels).filter(|(p, l)| p == l).count()
}

/// `counts[true class][predicted class]` over `classes` classes; pairs with a class outside
/// `0..classes` are left out.
pub fn confusion(predicted: &[u8], labels: &[u8], classes: usize) -> Vec<Vec<u32>> {
    let mut m = vec![vec![0u32; classes]; classes];
    for (&p, &l) in predicted.iter().zip(labels) {
        if let Some(cell) = m.get_mut(l as usize).and_then(|row| row.get_mut(p as usize)) {
            *cell += 1;
        }
    }
    m
}

/// Accuracy within each true class (recall): the diagonal over the row sum; `None` for a class
/// without examples.
pub fn per_class_accuracy(confusion: &[Vec<u32>]) -> Vec<Option<f64>> {
    confusion
        .iter()
        .enumerate()
        .map(|(c, row)| {
            let total: u32 = row.iter().sum();
            (total > 0).then(|| row.get(c).copied().unwrap_or(0) as f64 / total as f64)
        })
        .collect()
}

/// Per-class accuracy straight from predictions and labels.
pub fn per_class_accuracy_of(predicted: &[u8], labels: &[u8], classes: usize) -> Vec<Option<f64>> {
    per_class_accuracy(&confusion(predicted, labels, classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_population_std() {
        let s = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.mean, 5.0);
        assert_eq!(s.std, 2.0);
        assert_eq!((s.min, s.max, s.n), (2.0, 9.0, 8));
        assert!(mean_std(&[]).is_none());
        assert_eq!(mean_std(&[0.3]).unwrap().std, 0.0);
    }

    #[test]
    fn confusion_and_per_class() {
        let labels = [0, 0, 1, 1, 1, 2];
        let pred = [0, 1, 1, 1, 0, 0];
        let m = confusion(&pred, &labels, 4);
        assert_eq!(m[0], vec![1, 1, 0, 0]);
        assert_eq!(m[1], vec![1, 2, 0, 0]);
        assert_eq!(m[2], vec![1, 0, 0, 0]);
        let acc = per_class_accuracy(&m);
        assert_eq!(acc[0], Some(0.5));
        assert_eq!(acc[1], Some(2.0 / 3.0));
        assert_eq!(acc[2], Some(0.0));
        assert_eq!(acc[3], None, "a class without examples has no accuracy, not NaN");
        assert_eq!(accuracy(&pred, &labels), 0.5);
        assert_eq!(accuracy(&[], &[]), 0.0);
    }
}
