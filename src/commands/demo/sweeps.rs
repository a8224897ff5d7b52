//! The measured sweeps behind the plots: localization and scatter against the noise level, and
//! the Monte-Carlo standard error of the SmoothGrad mean against the sample count `N`.

use smoothgrad::{Gradient, Model, Operator, Targets};
use smoothgrad_autograd::Tensor;

use super::methods::{self, Smoothing};
use super::scores::{localization, mean_scatter};
use crate::error::Result;

/// Relative noise levels of the localization sweep (0 is the plain gradient).
pub const METRIC_LEVELS: [f64; 8] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5];

/// Sample counts of the standard-error measurement.
pub const SE_COUNTS: [usize; 7] = [1, 2, 5, 10, 20, 50, 100];

/// SmoothGrad's scores at one noise level, averaged over the images.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoisePoint {
    /// Energy in the mask.
    pub energy: f64,
    /// Pointing-game hit rate.
    pub pointing: f64,
    /// Scatter (normalized total variation) of the absolute maps.
    pub scatter: f64,
}

/// One score of a [`NoisePoint`]: its key in `noise_metrics.json` and its getter.
pub type NoiseMetric = (&'static str, fn(&NoisePoint) -> f64);

impl NoisePoint {
    /// `(key in noise_metrics.json, getter)` of each score.
    pub const METRICS: [NoiseMetric; 3] = [
        ("energy_in_mask", |p| p.energy),
        ("pointing_game", |p| p.pointing),
        ("scatter", |p| p.scatter),
    ];

    /// The scores of `maps` `[N, C, H, W]` against the images' `masks`.
    pub fn of(maps: &Tensor, masks: &[&[bool]]) -> Self {
        let (energy, pointing) = localization(maps, masks);
        NoisePoint {
            energy,
            pointing,
            scatter: mean_scatter(maps),
        }
    }
}

/// Energy in the mask, pointing rate and scatter of SmoothGrad at each of [`METRIC_LEVELS`]
/// (otherwise as `smoothing`). `known` holds maps already computed with the same images and settings at
/// some levels (the gradient at 0, the demo's own SmoothGrad at its level); they are scored
/// instead of being computed again, which gives the same maps.
pub fn localization_vs_noise(
    model: &dyn Model,
    images: &Tensor,
    targets: &[usize],
    masks: &[&[bool]],
    smoothing: Smoothing,
    known: &[(f64, &Tensor)],
) -> Result<Vec<NoisePoint>> {
    let find = |level: f64| known.iter().find(|k| k.0 == level).map(|k| k.1);
    let missing: Vec<f64> = METRIC_LEVELS
        .into_iter()
        .filter(|&l| find(l).is_none())
        .collect();
    let mut computed =
        methods::noise_sweep(model, images, targets, &missing, smoothing)?.into_iter();
    METRIC_LEVELS
        .iter()
        .map(|&level| {
            Ok(match find(level) {
                Some(map) => NoisePoint::of(map, masks),
                None => NoisePoint::of(&computed.next().expect("one map per missing level"), masks),
            })
        })
        .collect()
}

/// The standard error of the SmoothGrad mean at one `N`.
#[derive(Clone, Copy, Debug)]
pub struct StdError {
    /// The sample count.
    pub samples: usize,
    /// Measured: the spread of the SmoothGrad mean over `repeats` independent noise seeds,
    /// `sqrt(mean_pixels var_seeds(SG_N))`, relative to the map's RMS value.
    pub measured: f64,
    /// Estimated by the engine from one run's sample variance, `sqrt(mean_pixels s^2 / N)`,
    /// averaged over the repeats, on the same relative scale.
    pub estimated: f64,
}

/// The standard error of SmoothGrad at each of [`SE_COUNTS`] up to `max_samples` on `images`
/// (at `smoothing`'s noise level), measured over `repeats` (>= 2) independent noise seeds
/// derived from `smoothing.seed`. Both are divided by the RMS value of the map with the most
/// samples, so they read as a relative error.
pub fn std_error_vs_samples(
    model: &dyn Model,
    images: &Tensor,
    targets: &[usize],
    repeats: usize,
    max_samples: usize,
    smoothing: Smoothing,
) -> Result<Vec<StdError>> {
    let t = Targets::Classes(targets.to_vec());
    let mut rows = Vec::new();
    let mut scale = 0.0;
    let counts: Vec<usize> = SE_COUNTS
        .into_iter()
        .filter(|&n| n <= max_samples)
        .collect();
    for &n in counts.iter().rev() {
        let runs = (0..repeats as u64)
            .map(|r| {
                let sg = Smoothing {
                    seed: smoothing.seed.wrapping_mul(1000).wrapping_add(r),
                    samples: n,
                    ..smoothing
                };
                Ok(sg
                    .of(Gradient)
                    .explain(model, images, &t, &Operator::Logit)?)
            })
            .collect::<Result<Vec<_>>>()?;
        let len = runs[0].mean.numel();
        let mut var_sum = 0.0;
        let mut est_sum = 0.0;
        let mut sq_sum = 0.0;
        for p in 0..len {
            let values: Vec<f64> = runs.iter().map(|e| f64::from(e.mean.data()[p])).collect();
            let mean = values.iter().sum::<f64>() / repeats as f64;
            var_sum +=
                values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (repeats as f64 - 1.0);
            sq_sum += mean * mean;
            est_sum += runs
                .iter()
                .map(|e| f64::from(e.std_error.data()[p]).powi(2))
                .sum::<f64>()
                / repeats as f64;
        }
        if rows.is_empty() {
            scale = (sq_sum / len as f64).sqrt().max(f64::MIN_POSITIVE);
        }
        rows.push(StdError {
            samples: n,
            measured: (var_sum / len as f64).sqrt() / scale,
            estimated: (est_sum / len as f64).sqrt() / scale,
        });
    }
    rows.reverse();
    Ok(rows)
}

/// The least-squares slope of `log y` against `log x` (-0.5 for `y ~ 1/sqrt(x)`).
pub fn log_log_slope(points: &[(f64, f64)]) -> f64 {
    let logs: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (x.ln(), y.ln())).collect();
    let n = logs.len() as f64;
    let (mx, my) = (
        logs.iter().map(|p| p.0).sum::<f64>() / n,
        logs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = logs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let var: f64 = logs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    cov / var
}

#[cfg(test)]
mod tests {
    use super::*;
    use smoothgrad_nn::Sequential;

    #[test]
    fn reused_maps_score_as_the_recomputed_ones() {
        let model: Sequential = Sequential::from_spec_seeded(
            "conv2d(3,4,3,padding=1), relu, flatten, linear(256,3)",
            5,
        )
        .unwrap();
        let data: Vec<f32> = (0..2 * 3 * 64)
            .map(|i| ((i * 37) % 101) as f32 / 101.0)
            .collect();
        let images = Tensor::from_vec(data, &[2, 3, 8, 8]).unwrap();
        let mask: Vec<bool> = (0..64).map(|p| p % 8 < 4).collect();
        let masks = [mask.as_slice(), mask.as_slice()];
        let s = Smoothing {
            seed: 3,
            samples: 4,
            noise: 0.15,
        };
        let targets = [0, 2];
        let fresh = localization_vs_noise(&model, &images, &targets, &masks, s, &[]).unwrap();
        let maps = methods::attributions(&model, &images, &targets, s).unwrap();
        let reused = localization_vs_noise(
            &model,
            &images,
            &targets,
            &masks,
            s,
            &[(0.0, &maps[0]), (0.15, &maps[1])],
        )
        .unwrap();
        assert_eq!(fresh.len(), METRIC_LEVELS.len());
        assert_eq!(fresh[3], reused[3]);
        assert!(
            (fresh[0].energy - reused[0].energy).abs() < 1e-6,
            "{fresh:?} {reused:?}"
        );
        assert!((fresh[0].scatter - reused[0].scatter).abs() < 1e-4);
        assert_eq!(fresh[1..], reused[1..]);
        // The noise matters: the levels do not all score alike, and averaging smooths.
        assert!(
            fresh
                .iter()
                .any(|f| (f.energy - fresh[0].energy).abs() > 1e-4),
            "{fresh:?}"
        );
        assert!(fresh[4].scatter < fresh[0].scatter, "{fresh:?}");
    }

    #[test]
    fn slope_of_a_power_law() {
        let points: Vec<(f64, f64)> = SE_COUNTS
            .iter()
            .map(|&n| (n as f64, 3.0 / (n as f64).sqrt()))
            .collect();
        assert!((log_log_slope(&points) + 0.5).abs() < 1e-12);
    }
}
