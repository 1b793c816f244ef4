//! Data in: the labelled examples a network is evaluated on. MNIST is the first such dataset; anything
//! that fills a [`Dataset`] (inputs as f32 rows, labels as class indices) can be evaluated the same way.

pub mod idx;
pub mod minibatch;
pub mod mnist;
pub mod preprocess;

/// Labelled examples, inputs stored example-major (`len() x dim`).
#[derive(Clone, Debug)]
pub struct Dataset {
    pub name: String,
    pub dim: usize,
    pub classes: usize,
    pub inputs: Vec<f32>,
    pub labels: Vec<u8>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn input(&self, i: usize) -> &[f32] {
        &self.inputs[i * self.dim..(i + 1) * self.dim]
    }

    /// The first `n` examples only (for quick runs and tests).
    pub fn truncated(mut self, n: usize) -> Dataset {
        let n = n.min(self.len());
        self.inputs.truncate(n * self.dim);
        self.labels.truncate(n);
        self
    }

    /// Indices `0..len()`, the whole set.
    pub fn all_indices(&self) -> Vec<u32> {
        (0..self.len() as u32).collect()
    }
}
