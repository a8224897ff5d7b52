//! How speckled a saliency map is: the scatter (normalized total variation) of a 2-D map.

use smoothgrad_autograd::Scalar;

/// The *scatter* of a saliency map `[H, W]` (row-major): its normalized total variation, the
/// mean absolute difference between 4-neighbours divided by the mean absolute value,
///
/// `scatter = [ (1/|E|) sum_{(p,q) in E} | |m_p| - |m_q| | ] / [ (1/(H W)) sum_p |m_p| ]`,
///
/// where `E` holds every horizontally or vertically adjacent pair of pixels once
/// (`|E| = H (W - 1) + (H - 1) W`). It measures scattered pixel noise: a map whose value jumps
/// from pixel to pixel scores high, a map that varies smoothly scores low, whatever its overall
/// scale (the ratio is dimensionless and unchanged when the map is multiplied by a constant).
/// **Lower is smoother.**
///
/// Analytic values: a constant map scores 0; a 0/1 checkerboard 2 (every neighbour differs by 1,
/// the mean is 1/2); a ramp `m_{rc} = c` on an `n x n` grid `1 / (n - 1)`; a single spike inside
/// an `n x n` grid `2n / (n - 1)`; a disc of radius `r` on a zero background about `1 / r`.
/// For independent pixel noise of mean `mu` and standard deviation `s` (Gaussian) it is about
/// `(2 / sqrt(pi)) s / mu`. The map's sign is ignored (`|m|`): maps scored here are usually
/// channel-summed absolute values already ([`super::reduce_abs_channels`]), and a sign
/// flip between neighbours of equal magnitude does not count as scatter.
///
/// A map with no neighbouring pixels (fewer than two pixels) or no mass (all zeros) scores 0.
/// NaN values count as 0, as in [`super::energy_in_mask`].
///
/// # Panics
/// If the map does not have `height * width` values.
pub fn scatter<M: Scalar>(map: &[M], height: usize, width: usize) -> f64 {
    assert_eq!(
        map.len(),
        height * width,
        "scatter: expected a map of {height}x{width} = {} values, found {}",
        height * width,
        map.len()
    );
    let value = |p: usize| {
        let v = map[p].to_f64_lossless().abs();
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let pairs = height * width.saturating_sub(1) + height.saturating_sub(1) * width;
    let mass: f64 = (0..map.len()).map(value).sum();
    if pairs == 0 || !(mass > 0.0 && mass.is_finite()) {
        return 0.0;
    }
    let mut variation = 0.0;
    for r in 0..height {
        for c in 0..width {
            let p = r * width + c;
            if c + 1 < width {
                variation += (value(p) - value(p + 1)).abs();
            }
            if r + 1 < height {
                variation += (value(p) - value(p + width)).abs();
            }
        }
    }
    (variation / pairs as f64) / (mass / map.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn a_constant_map_has_no_scatter() {
        assert_eq!(scatter(&[0.7f32; 35], 5, 7), 0.0);
        // A sign flip between equal magnitudes is not scatter.
        let signs: Vec<f64> = (0..16)
            .map(|i| if i % 2 == 0 { 2.0 } else { -2.0 })
            .collect();
        assert_eq!(scatter(&signs, 4, 4), 0.0);
    }

    #[test]
    fn a_checkerboard_scores_two_at_any_size_and_scale() {
        for (h, w) in [(2, 2), (4, 4), (3, 8), (9, 5)] {
            let board: Vec<f64> = (0..h * w)
                .map(|p| ((p / w + p % w) % 2) as f64 * 3.5)
                .collect();
            let mean = board.iter().sum::<f64>() / (h * w) as f64;
            // Every neighbour differs by 3.5; on an odd grid the mean is not exactly half of it.
            assert!(close(scatter(&board, h, w), 3.5 / mean), "{h}x{w}");
        }
        let board: Vec<f64> = (0..64).map(|p| ((p / 8 + p % 8) % 2) as f64).collect();
        assert!(close(scatter(&board, 8, 8), 2.0));
    }

    #[test]
    fn a_smooth_ramp_scores_one_over_n_minus_one() {
        for n in [2usize, 5, 64] {
            let ramp: Vec<f64> = (0..n * n).map(|p| (p % n) as f64).collect();
            assert!(close(scatter(&ramp, n, n), 1.0 / (n as f64 - 1.0)), "{n}");
        }
        // Transposed, the same; the finer the grid, the smoother the ramp.
        let ramp: Vec<f64> = (0..25).map(|p| (p / 5) as f64).collect();
        assert!(close(scatter(&ramp, 5, 5), 0.25));
    }

    #[test]
    fn a_spike_scores_two_n_over_n_minus_one_and_noise_scores_higher_than_its_blur() {
        let n = 9;
        let mut spike = vec![0.0f64; n * n];
        spike[4 * n + 4] = 5.0;
        assert!(close(
            scatter(&spike, n, n),
            2.0 * n as f64 / (n as f64 - 1.0)
        ));
        // Pseudo-random values and their 3x3 box blur: the blur is smoother.
        let noise: Vec<f64> = (0..n * n)
            .map(|p| ((p * 7919 + 13) % 101) as f64 / 101.0)
            .collect();
        let blur: Vec<f64> = (0..n * n)
            .map(|p| {
                let (r, c) = ((p / n) as isize, (p % n) as isize);
                let mut sum = 0.0;
                let mut count = 0.0;
                for dr in -1..=1 {
                    for dc in -1..=1 {
                        let (rr, cc) = (r + dr, c + dc);
                        if (0..n as isize).contains(&rr) && (0..n as isize).contains(&cc) {
                            sum += noise[(rr as usize) * n + cc as usize];
                            count += 1.0;
                        }
                    }
                }
                sum / count
            })
            .collect();
        assert!(scatter(&blur, n, n) < 0.5 * scatter(&noise, n, n));
    }

    #[test]
    fn degenerate_maps_score_zero_and_nan_counts_as_zero() {
        assert_eq!(scatter(&[4.0f32], 1, 1), 0.0);
        assert_eq!(scatter::<f64>(&[], 0, 0), 0.0);
        assert_eq!(scatter(&[0.0f64; 6], 2, 3), 0.0);
        // [1, NaN] reads as [1, 0]: one pair differing by 1, mean 1/2.
        assert!(close(scatter(&[1.0, f64::NAN], 1, 2), 2.0));
    }

    #[test]
    #[should_panic(expected = "scatter: expected a map of 2x2 = 4 values, found 3")]
    fn a_map_of_the_wrong_size_panics() {
        scatter(&[1.0f64; 3], 2, 2);
    }
}
