//! The noise SmoothGrad adds: its level, its distribution, optional clamping, and the
//! counter-based random streams that make results independent of batching and threads.
//!
//! Sample `i` of input `n` draws from a ChaCha8 stream whose 256-bit key is `(seed, n, i, 0)`:
//! every sample's noise is fixed by the seed alone, whichever batch or thread computes it.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use smoothgrad_autograd::Scalar;

use crate::error::{ExplainError, Result};
use crate::streams::{self, Domain};

/// The noise's standard deviation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NoiseLevel {
    /// `sigma = level * (max(x) - min(x))` per input: PAIR `saliency`'s `stdev_spread` (0.15 by
    /// default, the paper's 10-20% of the input range).
    Relative(f64),
    /// A fixed `sigma`, as Captum's `stdevs` and Xplique's `noise`.
    Absolute(f64),
}

/// The shape of the noise distribution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoiseDistribution {
    /// `N(0, sigma^2)`, as in the paper.
    #[default]
    Gaussian,
    /// `U(-sigma sqrt 3, sigma sqrt 3)`: uniform with the same standard deviation `sigma`.
    Uniform,
}

/// How each noisy copy `x + e` is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Noise {
    /// The standard deviation, absolute or relative to the input's range.
    pub level: NoiseLevel,
    /// Gaussian or uniform.
    pub distribution: NoiseDistribution,
    /// Clamp noisy inputs to a valid domain `[lo, hi]` (e.g. `[0, 1]` for images), if set.
    pub clamp: Option<(f64, f64)>,
}

impl Default for Noise {
    /// Gaussian noise with `sigma = 0.15 (max - min)`, no clamping.
    fn default() -> Self {
        Noise {
            level: NoiseLevel::Relative(0.15),
            distribution: NoiseDistribution::Gaussian,
            clamp: None,
        }
    }
}

impl Noise {
    /// Checks that the level is finite and non-negative and the clamp range is ordered.
    pub(crate) fn validate(&self) -> Result<()> {
        let (kind, v) = match self.level {
            NoiseLevel::Relative(v) => ("relative", v),
            NoiseLevel::Absolute(v) => ("absolute", v),
        };
        if !v.is_finite() || v < 0.0 {
            return Err(ExplainError::parameter(
                "noise.level",
                format!("noise level must be a finite number >= 0, found {v} ({kind})"),
            ));
        }
        if let Some((lo, hi)) = self.clamp {
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return Err(ExplainError::parameter(
                    "noise.clamp",
                    format!("noise clamp range must have lo <= hi, found [{lo}, {hi}]"),
                ));
            }
        }
        Ok(())
    }

    /// The standard deviation for one input.
    pub fn sigma<T: Scalar>(&self, input: &[T]) -> f64 {
        match self.level {
            NoiseLevel::Absolute(s) => s,
            NoiseLevel::Relative(r) => {
                let (lo, hi) =
                    input
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                            let x = x.to_f64_lossless();
                            (lo.min(x), hi.max(x))
                        });
                if hi >= lo {
                    r * (hi - lo)
                } else {
                    0.0
                }
            }
        }
    }

    /// Appends the noisy copy `x + e` for sample `i` of input `n` to `out`.
    pub fn extend_noisy<T: Scalar>(
        &self,
        x: &[T],
        sigma: f64,
        seed: u64,
        n: usize,
        i: usize,
        out: &mut Vec<T>,
    ) {
        self.extend_noisy_keyed(x, sigma, seed, n as u64, i, out);
    }

    /// Appends the noisy copy `x + e` for sample `i` of the input whose stream key is `key`
    /// (its position `n` for [`Noise::extend_noisy`]; a caller's stable identity of the input
    /// with [`crate::SmoothGrad::explain_keyed`]): the stream `(seed, key, i, 0)`.
    pub fn extend_noisy_keyed<T: Scalar>(
        &self,
        x: &[T],
        sigma: f64,
        seed: u64,
        key: u64,
        i: usize,
        out: &mut Vec<T>,
    ) {
        let mut rng = streams::stream(seed, key, i as u64, Domain::Noise);
        let half_width = sigma * 3f64.sqrt();
        out.extend(x.iter().map(|&xi| {
            let e = match self.distribution {
                NoiseDistribution::Gaussian => sigma * rng.sample::<f64, _>(StandardNormal),
                NoiseDistribution::Uniform => half_width * (2.0 * rng.gen::<f64>() - 1.0),
            };
            let mut v = xi.to_f64_lossless() + e;
            if let Some((lo, hi)) = self.clamp {
                v = v.clamp(lo, hi);
            }
            T::from_f64_lossy(v)
        }));
    }
}

/// The ChaCha8 stream of sample `i` of input `n`, keyed by `(seed, n, i, 0)`.
pub fn stream(seed: u64, n: usize, i: usize) -> ChaCha8Rng {
    streams::stream(seed, n as u64, i as u64, Domain::Noise)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sigma_uses_the_range() {
        let n = Noise::default();
        assert!((n.sigma(&[0.0f32, 2.0, 1.0]) - 0.3).abs() < 1e-12);
        assert_eq!(n.sigma(&[5.0f32; 4]), 0.0);
    }

    #[test]
    fn streams_depend_on_every_key_part() {
        let draw = |s, n, i| stream(s, n, i).gen::<u64>();
        assert_eq!(draw(1, 2, 3), draw(1, 2, 3));
        assert_ne!(draw(1, 2, 3), draw(1, 2, 4));
        assert_ne!(draw(1, 2, 3), draw(1, 3, 3));
        assert_ne!(draw(1, 2, 3), draw(2, 2, 3));
    }

    #[test]
    fn noise_streams_are_the_noise_domain() {
        // (seed, n, i, 0): the key every seeded result depends on (its bytes: crate::streams).
        let expected: u64 = streams::stream(7, 2, 3, Domain::Noise).gen();
        assert_eq!(stream(7, 2, 3).gen::<u64>(), expected);
    }

    #[test]
    fn uniform_noise_has_the_requested_spread_and_clamping_holds() {
        let noise = Noise {
            level: NoiseLevel::Absolute(0.5),
            distribution: NoiseDistribution::Uniform,
            clamp: Some((0.0, 1.0)),
        };
        let mut out = Vec::new();
        noise.extend_noisy(&[0.5f64; 10_000], 0.5, 0, 0, 0, &mut out);
        assert!(out.iter().all(|&v| (0.0..=1.0).contains(&v)));
        let free = Noise {
            clamp: None,
            ..noise
        };
        let mut out = Vec::new();
        free.extend_noisy(&[0.0f64; 20_000], 0.5, 0, 0, 0, &mut out);
        let var = out.iter().map(|v| v * v).sum::<f64>() / out.len() as f64;
        assert!((var - 0.25).abs() < 0.01, "variance {var}");
        assert!(out.iter().all(|v| v.abs() <= 0.5 * 3f64.sqrt()));
    }
}
