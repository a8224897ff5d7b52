//! Step 2 of the pipeline: reduce the channels of a `C x H x W` map to one `H x W` map.
//!
//! A saliency map has one value per input value, so an RGB input gives three values per pixel.
//! A figure shows one value per pixel; this step picks how the channels are combined.

/// How the `C` values of one pixel become one value. `x_1 .. x_C` are the pixel's channel values
/// after the sign step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// `x_1 + ... + x_C`: PAIR's `np.sum(..., axis=2)` and Captum's reduction.
    #[default]
    Sum,
    /// `(x_1 + ... + x_C) / C`.
    Mean,
    /// `max_c x_c`: the seeds' tutorial recipe (after `abs`).
    Max,
    /// The `x_c` with the largest magnitude `|x_c|`, sign kept (the first such channel on ties).
    /// Equal to [`Reduction::Max`] on non-negative maps.
    MaxAbs,
    /// `sqrt(x_1^2 + ... + x_C^2)`: the Euclidean norm of the pixel's attribution vector.
    L2,
}

impl Reduction {
    /// Reduces one pixel's channel values. Sums are accumulated in `f64`, left to right.
    /// NaN propagates (as in NumPy). Returns NaN for an empty iterator.
    pub fn reduce(self, values: impl IntoIterator<Item = f64>) -> f64 {
        let mut values = values.into_iter();
        let Some(first) = values.next() else {
            return f64::NAN;
        };
        match self {
            Reduction::Sum => values.fold(first, |acc, v| acc + v),
            Reduction::Mean => {
                let (sum, count) = values.fold((first, 1usize), |(s, n), v| (s + v, n + 1));
                sum / count as f64
            }
            Reduction::Max => values.fold(first, |best, v| {
                if best.is_nan() || v.is_nan() {
                    f64::NAN
                } else {
                    best.max(v)
                }
            }),
            Reduction::MaxAbs => values.fold(first, |best, v| {
                if best.is_nan() || v.is_nan() {
                    f64::NAN
                } else if v.abs() > best.abs() {
                    v
                } else {
                    best
                }
            }),
            Reduction::L2 => values.fold(first * first, |acc, v| acc + v * v).sqrt(),
        }
    }
}

/// Reduces one image of `channels x (H * W)` values (CHW order) to `H * W` values.
///
/// Output pixel `p` is `reduction.reduce([image[p], image[HW + p], ..., image[(C-1) HW + p]])`.
/// `image.len()` must be a multiple of `channels` (the pipeline guarantees it).
pub fn reduce_channels(image: &[f64], channels: usize, reduction: Reduction) -> Vec<f64> {
    let plane = image.len() / channels.max(1);
    (0..plane)
        .map(|p| reduction.reduce((0..channels).map(|c| image[c * plane + p])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two channels of a 1 x 3 image: pixel values (1, -4), (-2, 2), (3, 0).
    const IMAGE: [f64; 6] = [1.0, -2.0, 3.0, -4.0, 2.0, 0.0];

    #[test]
    fn each_reduction_on_hand_computed_values() {
        let r = |red| reduce_channels(&IMAGE, 2, red);
        assert_eq!(r(Reduction::Sum), [-3.0, 0.0, 3.0]);
        assert_eq!(r(Reduction::Mean), [-1.5, 0.0, 1.5]);
        assert_eq!(r(Reduction::Max), [1.0, 2.0, 3.0]);
        // Ties (|-2| = |2|) keep the first channel.
        assert_eq!(r(Reduction::MaxAbs), [-4.0, -2.0, 3.0]);
        assert_eq!(r(Reduction::L2), [17f64.sqrt(), 8f64.sqrt(), 3.0]);
    }

    #[test]
    fn one_channel_is_returned_unchanged_except_by_l2() {
        let plane = [-1.0, 2.0];
        for red in [
            Reduction::Sum,
            Reduction::Mean,
            Reduction::Max,
            Reduction::MaxAbs,
        ] {
            assert_eq!(reduce_channels(&plane, 1, red), plane, "{red:?}");
        }
        assert_eq!(reduce_channels(&plane, 1, Reduction::L2), [1.0, 2.0]);
    }

    #[test]
    fn nan_propagates_and_empty_input_gives_nan() {
        for red in [
            Reduction::Sum,
            Reduction::Mean,
            Reduction::Max,
            Reduction::MaxAbs,
            Reduction::L2,
        ] {
            assert!(red.reduce([1.0, f64::NAN, 2.0]).is_nan(), "{red:?}");
            assert!(red.reduce([f64::NAN, 2.0]).is_nan(), "{red:?}");
            assert!(red.reduce([]).is_nan(), "{red:?}");
        }
    }
}
