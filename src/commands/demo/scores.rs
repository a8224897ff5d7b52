//! Scores every method on a batch of images with `smoothgrad::metrics`. The metrics are fixed
//! here, before any setup was compared:
//!
//! - **energy in the mask** (higher is better): the share of the channel-summed absolute map
//!   inside the target object's mask, [`energy_in_mask`];
//! - **pointing game** (higher is better): whether the map's maximum lies on the target object,
//!   with 1 px of tolerance, [`pointing_game`];
//! - **deletion** (lower is better) and **insertion** (higher is better): the AUC of the target's
//!   softmax probability as the most salient pixels are deleted or restored (RISE's protocol, 32
//!   steps), with the mean curves;
//! - **randomization** (lower is better): the Spearman rank correlation between a method's map
//!   and its map on the same model with freshly re-initialised weights (Adebayo et al. 2018).
//!
//! Added later, after a first choice of the noise level and before the second (the README's
//! "How the noise level was chosen"), to measure what the figures show:
//!
//! - **scatter** (lower is smoother): the normalized total variation of the channel-summed
//!   absolute map, mean |4-neighbour difference| / mean value, [`scatter`].
//!
//! Energy and pointing need the object masks and randomization a model that can be
//! re-initialised, so a user's own model and images (no masks) get deletion, insertion and
//! scatter.

use smoothgrad::metrics::{
    energy_in_mask, pointing_game, reduce_abs_channels, scatter, spearman, Deletion, Insertion,
};
use smoothgrad::Model;
use smoothgrad_autograd::Tensor;

use super::methods::{self, Smoothing, METHODS};
use crate::error::Result;

/// What the scores are computed on.
pub struct Batch<'a> {
    /// Images `[N, C, H, W]`.
    pub images: &'a Tensor,
    /// The class explained for each image.
    pub targets: &'a [usize],
    /// Each image's object mask (`H * W` booleans), when known.
    pub masks: Option<Vec<&'a [bool]>>,
}

/// One method's scores averaged over a batch.
#[derive(Clone, Debug, Default)]
pub struct MethodScores {
    /// Energy in the mask, when masks are known.
    pub energy_in_mask: Option<f64>,
    /// Pointing-game hit rate, when masks are known.
    pub pointing_game: Option<f64>,
    /// Deletion AUC.
    pub deletion_auc: f64,
    /// Insertion AUC.
    pub insertion_auc: f64,
    /// Spearman correlation with the randomized model's map, when one is given.
    pub randomization_spearman: Option<f64>,
    /// Mean [`scatter`] of the channel-summed absolute maps.
    pub scatter: f64,
    /// The mean deletion curve (probability at each of the 33 fractions).
    pub deletion_curve: Vec<f64>,
    /// The mean insertion curve.
    pub insertion_curve: Vec<f64>,
}

/// The channel-summed absolute map of image `i` of an `[N, C, H, W]` attribution batch.
pub fn abs_map(maps: &Tensor, i: usize) -> Vec<f64> {
    let [_, c, h, w] = <[usize; 4]>::try_from(maps.shape()).expect("NCHW maps");
    let len = c * h * w;
    reduce_abs_channels(&maps.data()[i * len..(i + 1) * len], c, h, w)
}

/// Energy in the mask and pointing-game rate of `maps` over the batch's masks.
pub fn localization(maps: &Tensor, masks: &[&[bool]]) -> (f64, f64) {
    let (h, w) = (maps.shape()[2], maps.shape()[3]);
    let (mut energy, mut hits) = (0.0, 0.0);
    for (i, mask) in masks.iter().enumerate() {
        let map = abs_map(maps, i);
        energy += energy_in_mask(&map, mask);
        hits += f64::from(u8::from(pointing_game(&map, mask, h, w, 1.0)));
    }
    let n = masks.len().max(1) as f64;
    (energy / n, hits / n)
}

/// The mean [`scatter`] of the channel-summed absolute maps of an `[N, C, H, W]` batch.
pub fn mean_scatter(maps: &Tensor) -> f64 {
    let (n, h, w) = (maps.shape()[0], maps.shape()[2], maps.shape()[3]);
    let total: f64 = (0..n).map(|i| scatter(&abs_map(maps, i), h, w)).sum();
    total / n.max(1) as f64
}

/// Every method's scores on `batch` from its `maps` (the [`methods::attributions`] of the
/// batch, in [`METHODS`] order), without the randomization check.
pub fn evaluate(
    model: &dyn Model,
    batch: &Batch<'_>,
    maps: &[Tensor],
) -> Result<Vec<MethodScores>> {
    let (deletion, insertion) = (Deletion::default(), Insertion::default());
    let n = batch.targets.len();
    let mut all = Vec::with_capacity(METHODS.len());
    for m in maps {
        let mut s = MethodScores {
            scatter: mean_scatter(m),
            ..MethodScores::default()
        };
        if let Some(masks) = &batch.masks {
            let (energy, pointing) = localization(m, masks);
            s.energy_in_mask = Some(energy);
            s.pointing_game = Some(pointing);
        }
        for (i, &target) in batch.targets.iter().enumerate() {
            let map = abs_map(m, i);
            let image = batch.images.select_rows([i]);
            let d = deletion.curve(model, &image, &map, target)?;
            let ins = insertion.curve(model, &image, &map, target)?;
            s.deletion_auc += d.auc / n as f64;
            s.insertion_auc += ins.auc / n as f64;
            add_scaled(&mut s.deletion_curve, &d.scores, 1.0 / n as f64);
            add_scaled(&mut s.insertion_curve, &ins.scores, 1.0 / n as f64);
        }
        all.push(s);
    }
    Ok(all)
}

/// Each method's mean Spearman correlation (in [`METHODS`] order) between its maps on `model`
/// and on `random`, a re-initialised copy.
pub fn randomization(
    model: &dyn Model,
    random: &dyn Model,
    batch: &Batch<'_>,
    smoothing: Smoothing,
) -> Result<Vec<f64>> {
    let maps = methods::attributions(model, batch.images, batch.targets, smoothing)?;
    let random_maps = methods::attributions(random, batch.images, batch.targets, smoothing)?;
    let n = batch.targets.len();
    Ok(maps
        .iter()
        .zip(&random_maps)
        .map(|(m, r)| {
            (0..n)
                .map(|i| spearman(&abs_map(m, i), &abs_map(r, i)))
                .sum::<f64>()
                / n as f64
        })
        .collect())
}

/// `acc += scale * values`, growing `acc` to `values`' length first.
fn add_scaled(acc: &mut Vec<f64>, values: &[f64], scale: f64) {
    if acc.len() < values.len() {
        acc.resize(values.len(), 0.0);
    }
    for (a, v) in acc.iter_mut().zip(values) {
        *a += scale * v;
    }
}

/// Mean and sample standard deviation (`n - 1` in the denominator; 0 for one value).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n.max(1.0);
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_is_the_sample_spread() {
        assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 2f64.sqrt()));
        assert_eq!(mean_std(&[0.5]), (0.5, 0.0));
    }

    #[test]
    fn localization_scores_a_map_on_the_object() {
        // One 1-channel 2x2 map whose mass is 3/4 on the masked pixel, which is also its peak.
        let maps = Tensor::from_vec(vec![3.0, 1.0, 0.0, 0.0], &[1, 1, 2, 2]).unwrap();
        let mask = [true, false, false, false];
        assert_eq!(localization(&maps, &[&mask]), (0.75, 1.0));
        let miss = [false, false, false, true];
        // Pixel 3 is 1.41 px from the peak at pixel 0: outside the 1 px tolerance.
        assert_eq!(localization(&maps, &[&miss]), (0.0, 0.0));
    }

    #[test]
    fn mean_scatter_averages_the_images_absolute_maps() {
        // Image 0: a 2-channel 2x2 map that sums to the constant |.| map [2, 2, 2, 2] (scatter
        // 0); image 1: the 0/1 checkerboard (scatter 2), sign ignored.
        let data = vec![
            1.0, -2.0, 1.0, 0.0, -1.0, 0.0, 1.0, 2.0, // image 0
            1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, // image 1
        ];
        let maps = Tensor::from_vec(data, &[2, 2, 2, 2]).unwrap();
        assert!((mean_scatter(&maps) - 1.0).abs() < 1e-12);
    }
}
