//! Step 4 of the pipeline: bring the (capped) map to a fixed interval for display.
//!
//! A degenerate denominator never produces NaN: it gives zeros. That is every constant map for
//! min-max, and the all-zero map for the scaling normalizations (a non-zero constant `c` is not
//! degenerate there: `c / |c|` is well defined, and Captum and PAIR return it).

use crate::error::Result;
use crate::percentile::percentile_in_place;

/// How the values `x` of one map (or of the whole batch, see [`crate::Scope`]) are rescaled.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Normalization {
    /// Leave the values as they are.
    None,
    /// Min-max to `[0, 1]`: `(x - min x) / (max x - min x)`; zeros if `max x == min x`.
    /// After [`crate::Capping::Upper`] this is PAIR's `VisualizeImageGrayscale` formula, since the
    /// capped maximum is the percentile and values above it become exactly 1.
    #[default]
    MinMax,
    /// Symmetric to `[-1, 1]` for signed maps: `x / max |x|`, so 0 stays 0; zeros if
    /// `max |x| == 0`. On a non-negative map the result is in `[0, 1]`. After
    /// [`crate::Capping::CaptumOutlier`] (threshold `t`) this is Captum's
    /// `np.clip(x / t, -1, 1)`, since the capped maximum magnitude is `t`.
    Symmetric,
    /// PAIR's `VisualizeImageDiverging`, reproduced exactly, clip bounds included:
    ///
    /// ```text
    /// span = |P_percentile(x)|,   vmin = -span,   vmax = span
    /// out  = clip((x - vmin) / (vmax - vmin), -1, 1)     zeros if span == 0
    /// ```
    ///
    /// Zero maps to 0.5 and the percentile to 1; values below `-3 span` clip to -1. The percentile
    /// plays the role of the capping step, so pair it with [`crate::Capping::None`].
    PairDiverging {
        /// The percentile in `[0, 100]` that sets the span (PAIR's default is 99).
        percentile: f64,
    },
}

impl Normalization {
    /// Rescales `values` in place (see each variant's formula). NaN values stay NaN and are
    /// ignored when finding the minimum and maximum. Errors only on a bad percentile or, for
    /// [`Normalization::PairDiverging`], empty `values`.
    pub fn apply(&self, values: &mut [f64]) -> Result<()> {
        match *self {
            Normalization::None => {}
            Normalization::MinMax => {
                let (min, max) = min_max(values);
                let range = max - min;
                scale(values, |x| (x - min) / range, range > 0.0);
            }
            Normalization::Symmetric => {
                let m = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                scale(values, |x| x / m, m > 0.0);
            }
            Normalization::PairDiverging { percentile } => {
                let span = percentile_in_place(&mut values.to_vec(), percentile)?.abs();
                let (vmin, vmax) = (-span, span);
                scale(
                    values,
                    |x| clip((x - vmin) / (vmax - vmin), -1.0, 1.0),
                    span > 0.0,
                );
            }
        }
        Ok(())
    }

    /// The interval the output is guaranteed to lie in, given whether the input map is
    /// non-negative; `None` for [`Normalization::None`].
    pub fn output_range(&self, non_negative_input: bool) -> Option<(f32, f32)> {
        match self {
            Normalization::None => None,
            Normalization::MinMax => Some((0.0, 1.0)),
            Normalization::Symmetric if non_negative_input => Some((0.0, 1.0)),
            Normalization::Symmetric | Normalization::PairDiverging { .. } => Some((-1.0, 1.0)),
        }
    }
}

/// The smallest and largest non-NaN values (`(inf, -inf)` if there are none).
pub(crate) fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// Applies `f` to every non-NaN value if `usable` (a positive, non-NaN denominator), and sets
/// every non-NaN value to zero otherwise (a constant map).
fn scale(values: &mut [f64], f: impl Fn(f64) -> f64, usable: bool) {
    for v in values.iter_mut().filter(|v| !v.is_nan()) {
        *v = if usable { f(*v) } else { 0.0 };
    }
}

/// NumPy's `np.clip(x, lo, hi)` for `lo <= hi`, without `f64::clamp`'s panic on NaN bounds.
fn clip(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(n: Normalization, values: &[f64]) -> Vec<f64> {
        let mut v = values.to_vec();
        n.apply(&mut v).unwrap();
        v
    }

    #[test]
    fn min_max_on_hand_computed_values() {
        assert_eq!(
            normalized(Normalization::MinMax, &[2.0, 4.0, 3.0, 6.0]),
            [0.0, 0.5, 0.25, 1.0]
        );
        assert_eq!(normalized(Normalization::MinMax, &[-1.0, 1.0]), [0.0, 1.0]);
    }

    #[test]
    fn symmetric_on_hand_computed_values() {
        assert_eq!(
            normalized(Normalization::Symmetric, &[-4.0, 2.0, 0.0, 1.0]),
            [-1.0, 0.5, 0.0, 0.25]
        );
    }

    #[test]
    fn pair_diverging_on_hand_computed_values() {
        // P_100 = 2 -> span 2: (x + 2) / 4, clipped to [-1, 1].
        let n = Normalization::PairDiverging { percentile: 100.0 };
        assert_eq!(
            normalized(n, &[-10.0, -6.0, -2.0, 0.0, 2.0]),
            [-1.0, -1.0, 0.0, 0.5, 1.0]
        );
        // P_50 of (-3, -2, -1) is -2 -> span 2 (the absolute value).
        let n = Normalization::PairDiverging { percentile: 50.0 };
        assert_eq!(normalized(n, &[-3.0, -2.0, -1.0]), [-0.25, 0.0, 0.25]);
        assert!(Normalization::PairDiverging { percentile: 200.0 }
            .apply(&mut [1.0])
            .is_err());
    }

    #[test]
    fn constant_maps_normalize_to_zeros_never_nan() {
        let all = [
            Normalization::MinMax,
            Normalization::Symmetric,
            Normalization::PairDiverging { percentile: 99.0 },
        ];
        for n in all {
            assert_eq!(normalized(n, &[0.0; 4]), [0.0; 4], "{n:?}");
        }
        assert_eq!(normalized(Normalization::MinMax, &[3.5; 3]), [0.0; 3]);
        assert_eq!(normalized(Normalization::None, &[3.5; 3]), [3.5; 3]);
    }

    #[test]
    fn nan_values_stay_nan_and_do_not_poison_the_rest() {
        let v = normalized(Normalization::MinMax, &[f64::NAN, 1.0, 3.0]);
        assert!(v[0].is_nan());
        assert_eq!(v[1..], [0.0, 1.0]);
    }

    #[test]
    fn output_ranges() {
        assert_eq!(Normalization::MinMax.output_range(false), Some((0.0, 1.0)));
        assert_eq!(
            Normalization::Symmetric.output_range(true),
            Some((0.0, 1.0))
        );
        assert_eq!(
            Normalization::Symmetric.output_range(false),
            Some((-1.0, 1.0))
        );
        assert_eq!(Normalization::None.output_range(true), None);
    }
}
