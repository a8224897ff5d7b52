//! Step 3 of the pipeline: cap outliers.
//!
//! Gradient maps are heavy-tailed: a handful of pixels can be ten times larger than the rest, and
//! a plain min-max normalization would then paint everything else black. Capping clips the map to
//! an interval `[lo, hi]` computed from the map itself, before normalization.

use crate::error::{Result, VizError};
use crate::percentile::{check_percentile, cumulative_sum_threshold, percentile_in_place};

/// How the capping interval `[lo, hi]` is computed from the values `x` of one map (or of the whole
/// batch, see [`crate::Scope`]). `P_q` is NumPy's linear percentile ([`crate::percentile()`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Capping {
    /// No capping: `[-inf, inf]`.
    #[default]
    None,
    /// One-sided: `[-inf, P_percentile(x)]`. PAIR's `VisualizeImageGrayscale` uses 99.
    Upper {
        /// The percentile in `[0, 100]` above which values are clipped.
        percentile: f64,
    },
    /// Two-sided: `[P_lower(x), P_upper(x)]`, with `lower <= upper`.
    Both {
        /// The percentile in `[0, 100]` below which values are clipped.
        lower: f64,
        /// The percentile in `[0, 100]` above which values are clipped.
        upper: f64,
    },
    /// Symmetric, for signed maps: `[-t, t]` with `t = P_percentile(|x|)`.
    Symmetric {
        /// The percentile of the magnitudes in `[0, 100]`.
        percentile: f64,
    },
    /// Captum's `outlier_perc`: `[-t, t]` with
    /// `t = cumulative_sum_threshold(|x|, 100 - outlier_perc)`
    /// ([`crate::cumulative_sum_threshold`]): the largest values that together hold
    /// `outlier_perc` percent of the total mass are capped.
    CaptumOutlier {
        /// The percentage of attribution mass, in `[0, 100]`, treated as outliers (Captum's default
        /// is 2).
        outlier_perc: f64,
    },
}

impl Capping {
    /// The interval `[lo, hi]` for `values` (see each variant). Errors on an out-of-range
    /// percentile, `lower > upper`, or empty `values`.
    pub fn bounds(&self, values: &[f64]) -> Result<(f64, f64)> {
        match *self {
            Capping::None => Ok((f64::NEG_INFINITY, f64::INFINITY)),
            Capping::Upper { percentile } => Ok((
                f64::NEG_INFINITY,
                percentile_in_place(&mut values.to_vec(), percentile)?,
            )),
            Capping::Both { lower, upper } => {
                check_percentile("lower", lower)?;
                check_percentile("upper", upper)?;
                if lower > upper {
                    return Err(VizError::InvalidParameter {
                        name: "lower",
                        expected: "a percentile no larger than `upper`",
                        found: format!("{lower} > {upper}"),
                    });
                }
                let mut scratch = values.to_vec();
                let lo = percentile_in_place(&mut scratch, lower)?;
                let hi = percentile_in_place(&mut scratch, upper)?;
                Ok((lo, hi))
            }
            Capping::Symmetric { percentile } => {
                let mut magnitudes: Vec<f64> = values.iter().map(|v| v.abs()).collect();
                let t = percentile_in_place(&mut magnitudes, percentile)?;
                Ok((-t, t))
            }
            Capping::CaptumOutlier { outlier_perc } => {
                check_percentile("outlier_perc", outlier_perc)?;
                let magnitudes: Vec<f64> = values.iter().map(|v| v.abs()).collect();
                let t = cumulative_sum_threshold(&magnitudes, 100.0 - outlier_perc)?;
                Ok((-t, t))
            }
        }
    }

    /// Clips `values` in place to [`Capping::bounds`]: `x -> min(max(x, lo), hi)`.
    /// NaN values (and NaN bounds) leave values unchanged rather than panicking.
    pub fn apply(&self, values: &mut [f64]) -> Result<()> {
        if *self == Capping::None {
            return Ok(());
        }
        let (lo, hi) = self.bounds(values)?;
        for v in values.iter_mut() {
            if *v > hi {
                *v = hi;
            } else if *v < lo {
                *v = lo;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capped(capping: Capping, values: &[f64]) -> Vec<f64> {
        let mut v = values.to_vec();
        capping.apply(&mut v).unwrap();
        v
    }

    #[test]
    fn none_leaves_values_alone() {
        assert_eq!(capped(Capping::None, &[-5.0, 1e30]), [-5.0, 1e30]);
    }

    #[test]
    fn upper_clips_above_the_percentile() {
        // sorted 0 1 2 3 10; P_75: p = 3 -> 3. P_90: p = 3.6 -> 3 + 0.6 * 7 = 7.2.
        let v = [10.0, 0.0, 2.0, 1.0, 3.0];
        assert_eq!(
            capped(Capping::Upper { percentile: 75.0 }, &v),
            [3.0, 0.0, 2.0, 1.0, 3.0]
        );
        let c = capped(Capping::Upper { percentile: 90.0 }, &v);
        assert!((c[0] - 7.2).abs() < 1e-12, "{c:?}");
        assert_eq!(c[1..], [0.0, 2.0, 1.0, 3.0]);
    }

    #[test]
    fn both_clips_on_each_side() {
        // P_25 = 1 (p = 1), P_75 = 3 (p = 3)
        let v = [10.0, 0.0, 2.0, 1.0, 3.0];
        let c = capped(
            Capping::Both {
                lower: 25.0,
                upper: 75.0,
            },
            &v,
        );
        assert_eq!(c, [3.0, 1.0, 2.0, 1.0, 3.0]);
        let bad = Capping::Both {
            lower: 80.0,
            upper: 20.0,
        };
        assert!(bad.bounds(&v).is_err());
    }

    #[test]
    fn symmetric_uses_the_percentile_of_magnitudes() {
        // |x| sorted 1 2 3 4 8; P_75 = 4 (p = 3)
        let v = [-8.0, 1.0, -2.0, 3.0, 4.0];
        let c = capped(Capping::Symmetric { percentile: 75.0 }, &v);
        assert_eq!(c, [-4.0, 1.0, -2.0, 3.0, 4.0]);
    }

    #[test]
    fn captum_outlier_uses_cumulative_mass_of_magnitudes() {
        // |x| sorted 1 2 3 4 (total 10), cumulative 1 3 6 10. outlier_perc 50: target 5 -> t = 3.
        let v = [-4.0, 1.0, 3.0, -2.0];
        let c = capped(Capping::CaptumOutlier { outlier_perc: 50.0 }, &v);
        assert_eq!(c, [-3.0, 1.0, 3.0, -2.0]);
        let bad = Capping::CaptumOutlier { outlier_perc: -1.0 };
        assert!(bad.bounds(&v).is_err());
    }

    #[test]
    fn out_of_range_percentiles_and_empty_maps_are_errors() {
        assert!(Capping::Upper { percentile: 101.0 }.bounds(&[1.0]).is_err());
        assert!(Capping::Symmetric { percentile: 50.0 }.bounds(&[]).is_err());
    }
}
