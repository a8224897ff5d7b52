//! Metrics for comparing attribution methods, on data with known object masks.
//!
//! | metric | function | better | source |
//! |---|---|---|---|
//! | energy in mask | [`energy_in_mask`] | higher | Wang et al. 2020 (Score-CAM) |
//! | pointing game | [`pointing_game`] | hit | Zhang et al. 2016 (Excitation Backprop) |
//! | deletion curve, AUC | [`Deletion`] | lower | Petsiuk et al. 2018 (RISE) |
//! | insertion curve, AUC | [`Insertion`] | higher | Petsiuk et al. 2018 (RISE) |
//! | max-sensitivity | [`max_sensitivity`] | lower | Yeh et al. 2019 |
//! | parameter randomization | [`randomization_spearman`], [`cascading_randomization`] | lower | Adebayo et al. 2018 |
//! | scatter (normalized total variation) | [`scatter`] | lower (smoother) | total variation, Rudin et al. 1992 |
//!
//! The localization, perturbation and scatter metrics score a 2-D map `[H, W]` (row-major). An attribution
//! `[C, H, W]` becomes one by [`reduce_abs_channels`], the sum of absolute values over channels:
//! **the convention used for scoring maps here** (and by the CLI's comparison), since the metrics
//! ask where the evidence is, not which way it points. Scores are `f64`; maps may be `f32` or
//! `f64` (any [`Scalar`]). Rank statistics live in [`rank`].
//!
//! ```
//! use smoothgrad::metrics::{energy_in_mask, pointing_game, reduce_abs_channels};
//!
//! // A 2-channel 2x2 attribution whose mass sits on the top row.
//! let attribution = [3.0f32, 1.0, 0.0, 0.0, -1.0, 1.0, 0.0, 0.0];
//! let map = reduce_abs_channels(&attribution, 2, 2, 2);
//! assert_eq!(map, vec![4.0, 2.0, 0.0, 0.0]);
//! let object = [true, false, false, false];
//! assert!((energy_in_mask(&map, &object) - 4.0 / 6.0).abs() < 1e-12);
//! assert!(pointing_game(&map, &object, 2, 2, 0.0));
//! ```

mod localization;
mod perturbation;
mod randomization;
pub mod rank;
mod sensitivity;
mod smoothness;

pub use localization::{energy_in_mask, pointing_game};
pub use perturbation::{auc, pixel_order, Baseline, Curve, Deletion, Insertion};
pub use randomization::{
    cascading_randomization, randomization_spearman, randomize_layers, randomize_parameters,
};
pub use rank::{pearson, spearman};
pub use sensitivity::max_sensitivity;
pub use smoothgrad_autograd::argmax;
pub use smoothness::scatter;

use smoothgrad_autograd::Scalar;

/// Reduces an attribution `[C, H, W]` (flat, row-major) to a saliency map `[H, W]` by summing
/// absolute values over channels: `m_{hw} = sum_c |a_{chw}|`. This is the convention the metrics
/// use to score maps (a pixel's total evidence, whatever its sign or channel). Computed in `f64`.
///
/// # Panics
/// If `attribution` does not have `c * h * w` values.
pub fn reduce_abs_channels<T: Scalar>(attribution: &[T], c: usize, h: usize, w: usize) -> Vec<f64> {
    let plane = h * w;
    assert_eq!(
        attribution.len(),
        c * plane,
        "reduce_abs_channels: {} values do not make an attribution of {c}x{h}x{w}",
        attribution.len()
    );
    let mut map = vec![0.0; plane];
    for channel in attribution.chunks(plane.max(1)) {
        for (m, &a) in map.iter_mut().zip(channel) {
            *m += a.to_f64_lossless().abs();
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_reduce_by_absolute_sum() {
        assert_eq!(
            reduce_abs_channels(&[1.0f64, -2.0, -3.0, 4.0], 2, 1, 2),
            vec![4.0, 6.0]
        );
        assert_eq!(reduce_abs_channels(&[-1.5f32], 1, 1, 1), vec![1.5]);
    }
}
