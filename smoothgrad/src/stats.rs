//! Streaming statistics over samples: Welford's algorithm per element, in `f64`, fed in sample
//! order so the result does not depend on how samples were batched or which thread made them.
//!
//! After `n` samples `x_1..x_n`: `mean_n = mean_{n-1} + (x_n - mean_{n-1}) / n` and
//! `M2_n = M2_{n-1} + (x_n - mean_{n-1}) (x_n - mean_n)`, so the variance `M2 / (n - 1)` never
//! suffers the cancellation of `sum x^2 - n mean^2`. Each update is one pass over contiguous
//! slices, which the compiler vectorizes.

use smoothgrad_autograd::Scalar;

/// Running mean and sum of squared deviations of a vector-valued sample.
#[derive(Clone, Debug)]
pub(crate) struct Welford {
    n: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Welford {
    pub(crate) fn new(len: usize) -> Self {
        Welford {
            n: 0,
            mean: vec![0.0; len],
            m2: vec![0.0; len],
        }
    }

    /// Adds one sample.
    pub(crate) fn push<T: Scalar>(&mut self, x: &[T]) {
        assert_eq!(x.len(), self.mean.len(), "welford: sample length differs");
        self.n += 1;
        let inv = 1.0 / self.n as f64;
        for ((m, s), &xi) in self.mean.iter_mut().zip(&mut self.m2).zip(x) {
            let xi = xi.to_f64_lossless();
            let d = xi - *m;
            *m += d * inv;
            *s += d * (xi - *m);
        }
    }

    /// The number of samples so far.
    pub(crate) fn count(&self) -> usize {
        self.n
    }

    /// The unbiased variance of each element (0 with fewer than 2 samples).
    fn variance(&self, i: usize) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2[i] / (self.n - 1) as f64
        }
    }

    /// `||standard error||_2 / ||mean||_2`: how precisely the mean is known, relative to its size
    /// (infinite while the mean is zero).
    pub(crate) fn relative_std_error(&self) -> f64 {
        let se2: f64 = (0..self.mean.len())
            .map(|i| self.variance(i) / self.n as f64)
            .sum();
        let m2: f64 = self.mean.iter().map(|m| m * m).sum();
        if m2 == 0.0 {
            if se2 == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            (se2 / m2).sqrt()
        }
    }

    /// `(mean, mean of squares, unbiased variance, standard error)` as vectors of `T`.
    pub(crate) fn finish<T: Scalar>(&self) -> [Vec<T>; 4] {
        let n = self.n.max(1) as f64;
        let len = self.mean.len();
        let mut out: [Vec<T>; 4] = std::array::from_fn(|_| Vec::with_capacity(len));
        for i in 0..len {
            let (m, var) = (self.mean[i], self.variance(i));
            // mean of squares = biased variance + mean^2 = M2 / n + mean^2.
            let ms = self.m2[i] / n + m * m;
            out[0].push(T::from_f64_lossy(m));
            out[1].push(T::from_f64_lossy(ms));
            out[2].push(T::from_f64_lossy(var));
            out[3].push(T::from_f64_lossy((var / n).sqrt()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_two_pass_formulas() {
        let samples = [[1.0f64, 10.0], [2.0, 10.0], [4.0, 10.0], [7.0, 10.0]];
        let mut w = Welford::new(2);
        for s in &samples {
            w.push(s);
        }
        let [mean, ms, var, se] = w.finish::<f64>();
        assert_eq!(mean, vec![3.5, 10.0]);
        assert!((ms[0] - (1.0 + 4.0 + 16.0 + 49.0) / 4.0).abs() < 1e-12);
        // sum (x - 3.5)^2 = 6.25 + 2.25 + 0.25 + 12.25 = 21, unbiased 7.
        assert!((var[0] - 7.0).abs() < 1e-12);
        assert_eq!(var[1], 0.0);
        assert!((se[0] - (7.0f64 / 4.0).sqrt()).abs() < 1e-12);
        assert_eq!(w.count(), 4);
    }

    #[test]
    fn one_sample_has_zero_variance() {
        let mut w = Welford::new(1);
        w.push(&[3.0f32]);
        let [mean, ms, var, se] = w.finish::<f32>();
        assert_eq!((mean[0], ms[0], var[0], se[0]), (3.0, 9.0, 0.0, 0.0));
    }
}
