//! Adam (Kingma & Ba 2015) with the usual constants, in f64.

pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPSILON: f64 = 1e-8;

pub struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    steps: i32,
}

impl Adam {
    pub fn new(n: usize) -> Adam {
        Adam { m: vec![0.0; n], v: vec![0.0; n], steps: 0 }
    }

    /// One step of size `learning_rate` against `grad`.
    pub fn step(&mut self, params: &mut [f64], grad: &[f64], learning_rate: f64) {
        self.steps = self.steps.saturating_add(1);
        let c1 = 1.0 - BETA1.powi(self.steps);
        let c2 = 1.0 - BETA2.powi(self.steps);
        for (((p, &g), m), v) in params.iter_mut().zip(grad).zip(&mut self.m).zip(&mut self.v) {
            *m = BETA1 * *m + (1.0 - BETA1) * g;
            *v = BETA2 * *v + (1.0 - BETA2) * g * g;
            *p -= learning_rate * (*m / c1) / ((*v / c2).sqrt() + EPSILON);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_parameter_by_the_learning_rate_against_its_gradient() {
        // After one step the bias-corrected moments are g and g^2: the step is lr * g / (|g| + eps).
        let mut p = vec![1.0, 1.0, 1.0];
        Adam::new(3).step(&mut p, &[2.0, -0.5, 0.0], 0.1);
        assert!((p[0] - 0.9).abs() < 1e-7 && (p[1] - 1.1).abs() < 1e-7 && p[2] == 1.0, "{p:?}");
    }

    #[test]
    fn minimises_a_quadratic() {
        let mut p = vec![5.0, -3.0];
        let mut adam = Adam::new(2);
        for _ in 0..2000 {
            let g = [2.0 * (p[0] - 1.0), 2.0 * (p[1] + 2.0)];
            adam.step(&mut p, &g, 0.05);
        }
        assert!((p[0] - 1.0).abs() < 1e-3 && (p[1] + 2.0).abs() < 1e-3, "{p:?}");
    }
}
