//! Localization against a ground-truth object mask: the energy inside the mask and the pointing
//! game. Both take a 2-D saliency map `[H, W]` (row-major) and a boolean mask of the same size.

use smoothgrad_autograd::{argmax, Scalar};

/// The fraction of the map's positive mass that falls inside the mask:
///
/// `energy = sum_{p in mask} max(m_p, 0) / sum_p max(m_p, 0)`,
///
/// the "energy-based pointing game" of Score-CAM (Wang et al. 2020, "Score-CAM: Score-Weighted
/// Visual Explanations for Convolutional Neural Networks", section 4.2). It lies in `[0, 1]`;
/// higher is better, and a map spread uniformly scores the mask's area fraction.
///
/// Negative values count as 0 (the positive part), so apply the sign convention first: maps
/// scored here are usually non-negative already ([`super::reduce_abs_channels`]). A map with no
/// positive mass (all zeros, say a dead gradient) scores **0**: it puts no energy in the object.
/// NaN values count as 0.
///
/// # Panics
/// If the map and the mask differ in length.
pub fn energy_in_mask<M: Scalar>(map: &[M], mask: &[bool]) -> f64 {
    assert_eq!(
        map.len(),
        mask.len(),
        "energy_in_mask: the map has {} values but the mask {}",
        map.len(),
        mask.len()
    );
    let (mut inside, mut total) = (0.0, 0.0);
    for (&m, &in_mask) in map.iter().zip(mask) {
        // f64::max returns the other operand for NaN, so NaN counts as 0.
        let v = m.to_f64_lossless().max(0.0);
        total += v;
        if in_mask {
            inside += v;
        }
    }
    if total > 0.0 && total.is_finite() {
        inside / total
    } else {
        0.0
    }
}

/// The pointing game (Zhang et al. 2016, "Top-down Neural Attention by Excitation Backprop";
/// ECCV 2016 / IJCV 2018): a hit when the map's maximum lies within `tolerance_px` pixels
/// (Euclidean distance between pixel centres) of a mask pixel.
///
/// The maximum is the first in row-major order on ties ([`argmax`]). Zhang et al. use
/// a 15-pixel tolerance on 224-pixel images; on 32x32 images 0 (the maximum must be on the
/// object) or 1 (one pixel of slack for the object's border) are the sensible choices. The
/// accuracy over a dataset is `hits / (hits + misses)`; images without an object should be
/// skipped, as Zhang et al. do, since an empty mask is always a miss, as is a map holding a NaN
/// (a broken map has no peak to point with; [`argmax`] finds its first NaN). Note that a constant
/// map "points" at pixel 0.
///
/// # Panics
/// If the map or the mask does not have `height * width` values, or `tolerance_px` is negative or
/// NaN.
pub fn pointing_game<M: Scalar>(
    map: &[M],
    mask: &[bool],
    height: usize,
    width: usize,
    tolerance_px: f64,
) -> bool {
    let n = height * width;
    assert!(
        map.len() == n && mask.len() == n,
        "pointing_game: expected a map and a mask of {height}x{width} = {n} values, found {} and {}",
        map.len(),
        mask.len()
    );
    assert!(
        tolerance_px >= 0.0,
        "pointing_game: tolerance must be >= 0 pixels, found {tolerance_px}"
    );
    let Some(peak) = argmax(map).filter(|&p| !map[p].is_nan()) else {
        return false;
    };
    let (r0, c0) = (peak / width, peak % width);
    // Pixels within the tolerance lie in the square of half-side floor(tolerance).
    let reach = tolerance_px.floor().min(n as f64) as usize;
    let t2 = tolerance_px * tolerance_px;
    let rows = r0.saturating_sub(reach)..=(r0 + reach).min(height - 1);
    rows.into_iter().any(|r| {
        let cols = c0.saturating_sub(reach)..=(c0 + reach).min(width - 1);
        cols.into_iter().any(|c| {
            let (dr, dc) = (r.abs_diff(r0) as f64, c.abs_diff(c0) as f64);
            mask[r * width + c] && dr * dr + dc * dc <= t2
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_the_first_maximum_and_a_nan_map_misses() {
        let mask = [false, true, false, true];
        assert!(pointing_game(&[1.0, 3.0, 2.0, 3.0], &mask, 2, 2, 0.0));
        assert!(!pointing_game(&[3.0, 1.0, 2.0, 3.0], &mask, 2, 2, 0.0));
        assert!(!pointing_game(&[0.0, 3.0, f64::NAN, 1.0], &mask, 2, 2, 0.0));
        assert!(!pointing_game(&[f32::NAN; 4], &[true; 4], 2, 2, 5.0));
        assert!(!pointing_game::<f32>(&[], &[], 0, 0, 1.0));
    }

    #[test]
    fn diagonal_neighbours_need_a_tolerance_of_sqrt_2() {
        // Peak at (1, 1); the only mask pixel is (0, 0), at distance sqrt(2).
        let map = [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let mut mask = [false; 9];
        mask[0] = true;
        assert!(!pointing_game(&map, &mask, 3, 3, 1.0));
        assert!(!pointing_game(&map, &mask, 3, 3, 1.41));
        assert!(pointing_game(&map, &mask, 3, 3, 1.415));
        assert!(pointing_game(&map, &mask, 3, 3, 100.0));
    }

    #[test]
    fn energy_ignores_negative_values_and_nan() {
        let map = [2.0, -5.0, f64::NAN, 2.0];
        let mask = [true, true, true, false];
        assert_eq!(energy_in_mask(&map, &mask), 0.5);
    }
}
