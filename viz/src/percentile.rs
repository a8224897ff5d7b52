//! The two statistics behind the capping step: NumPy's percentile (found by selection, not by a full
//! sort) and Captum's cumulative-mass threshold.

use std::cmp::Ordering;

use crate::error::{Result, VizError};

/// NumPy's `np.percentile(values, q)` with its default `method="linear"`, on a copy of `values`.
///
/// See [`percentile_in_place`] for the definition; this version leaves `values` untouched.
pub fn percentile(values: &[f64], q: f64) -> Result<f64> {
    percentile_in_place(&mut values.to_vec(), q)
}

/// NumPy's `np.percentile(values, q)` with `method="linear"`, reordering `values` as scratch space.
///
/// With `v[0] <= ... <= v[n-1]` the sorted values:
///
/// ```text
/// p    = q / 100 * (n - 1)          the "virtual index"
/// i    = floor(p),  t = p - i
/// a    = v[i],      b = v[min(i + 1, n - 1)]
/// P_q  = a + (b - a) * t            if t <  0.5
///        b - (b - a) * (1 - t)      if t >= 0.5   (NumPy's `_lerp`, exact at both ends)
/// ```
///
/// `v[i]` is found with [`slice::select_nth_unstable_by`] (expected O(n)) and `v[i + 1]` as the
/// minimum of the values selection put after it, so no full sort is needed. As in NumPy, the result
/// is NaN if any value is NaN. Errors if `values` is empty or `q` is not in `[0, 100]`.
pub fn percentile_in_place(values: &mut [f64], q: f64) -> Result<f64> {
    check_percentile("percentile", q)?;
    check_not_empty(values)?;
    if values.iter().any(|v| v.is_nan()) {
        return Ok(f64::NAN);
    }
    let n = values.len();
    let position = q / 100.0 * (n - 1) as f64;
    // `position` is in [0, n - 1], so the cast cannot saturate; `min` guards against rounding.
    let i = (position.floor() as usize).min(n - 1);
    let t = position - i as f64;
    let (_, &mut a, above) = values.select_nth_unstable_by(i, f64::total_cmp);
    let b = above.iter().copied().min_by(f64::total_cmp).unwrap_or(a);
    Ok(numpy_lerp(a, b, t))
}

/// NumPy's `_lerp(a, b, t)`: linear interpolation computed from the nearer end, so that `t = 1`
/// gives exactly `b`.
fn numpy_lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Captum's `_cumulative_sum_threshold(values, percentile)`: the smallest value whose cumulative
/// mass, summing from the smallest value up, reaches `percentile` percent of the total.
///
/// ```text
/// s        = sort(values)                      ascending
/// c[k]     = s[0] + ... + s[k]                 cumulative sums (f64, left to right)
/// k*       = first k with c[k] >= c[n-1] * 0.01 * percentile
/// result   = s[k*]
/// ```
///
/// Captum calls it with `|x|` and `percentile = 100 - outlier_perc`, so the largest values holding
/// `outlier_perc` percent of the total attribution mass end up above the threshold. A full sort is
/// used because the cumulative sums need the sorted order. NumPy accumulates `float32` input in
/// `float32`; this function accumulates in `f64`, which can pick a different element only when a
/// cumulative sum lies within rounding error of the target.
///
/// The values must be non-negative (they are magnitudes). The result is NaN if any value is NaN.
/// Errors if `values` is empty, holds a negative value, or `percentile` is not in `[0, 100]`.
pub fn cumulative_sum_threshold(values: &[f64], percentile: f64) -> Result<f64> {
    check_percentile("percentile", percentile)?;
    check_not_empty(values)?;
    if values.iter().any(|v| v.is_nan()) {
        return Ok(f64::NAN);
    }
    if let Some(v) = values.iter().find(|&&v| v < 0.0) {
        return Err(VizError::InvalidParameter {
            name: "values",
            expected: "non-negative magnitudes",
            found: format!("the value {v}"),
        });
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let cumulative: Vec<f64> = sorted
        .iter()
        .scan(0.0, |sum, &v| {
            *sum += v;
            Some(*sum)
        })
        .collect();
    let total = cumulative[cumulative.len() - 1];
    let target = total * 0.01 * percentile;
    // The last cumulative sum is the total, which is >= the target for a percentile <= 100.
    let k = cumulative
        .iter()
        .position(|&c| c.partial_cmp(&target) != Some(Ordering::Less))
        .unwrap_or(cumulative.len() - 1);
    Ok(sorted[k])
}

/// Errors unless `q` is a number in `[0, 100]`.
pub(crate) fn check_percentile(name: &'static str, q: f64) -> Result<()> {
    if (0.0..=100.0).contains(&q) {
        Ok(())
    } else {
        Err(VizError::InvalidParameter {
            name,
            expected: "a number in [0, 100]",
            found: q.to_string(),
        })
    }
}

fn check_not_empty(values: &[f64]) -> Result<()> {
    if values.is_empty() {
        Err(VizError::InvalidParameter {
            name: "values",
            expected: "at least one value",
            found: "an empty slice".into(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition with a full sort, written the plain way, as the reference.
    fn percentile_by_sorting(values: &[f64], q: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let p = q / 100.0 * (v.len() - 1) as f64;
        let i = p.floor() as usize;
        let t = p - i as f64;
        let b = v[(i + 1).min(v.len() - 1)];
        if t >= 0.5 {
            b - (b - v[i]) * (1.0 - t)
        } else {
            v[i] + (b - v[i]) * t
        }
    }

    #[test]
    fn hand_computed_percentiles() {
        let v = [3.0, 1.0, 4.0, 1.0, 5.0];
        // sorted: 1 1 3 4 5
        assert_eq!(percentile(&v, 0.0).unwrap(), 1.0);
        assert_eq!(percentile(&v, 100.0).unwrap(), 5.0);
        assert_eq!(percentile(&v, 50.0).unwrap(), 3.0);
        // p = 0.99 * 4 = 3.96: 4 + 0.96 * (5 - 4) = 4.96
        assert!((percentile(&v, 99.0).unwrap() - 4.96).abs() < 1e-12);
        // p = 0.25 * 4 = 1: exactly v[1]
        assert_eq!(percentile(&v, 25.0).unwrap(), 1.0);
        // p = 0.3 * 4 = 1.2: 1 + 0.2 * (3 - 1) = 1.4
        assert!((percentile(&v, 30.0).unwrap() - 1.4).abs() < 1e-12);
        assert_eq!(percentile(&[7.0], 42.0).unwrap(), 7.0);
    }

    #[test]
    fn interpolates_from_the_nearer_end_like_numpy() {
        // np.percentile([0.1, 0.7], 70) == 0.5199999999999999 (b - (b - a) * 0.3), whereas the
        // one-sided formula a + (b - a) * 0.7 gives 0.52.
        assert_eq!(percentile(&[0.7, 0.1], 70.0).unwrap(), 0.5199999999999999);
        assert_eq!(percentile(&[0.7, 0.1], 60.0).unwrap(), 0.45999999999999996);
    }

    #[test]
    fn bad_arguments_are_errors_and_nan_gives_nan() {
        assert!(percentile(&[], 50.0).is_err());
        assert!(percentile(&[1.0], 100.5).is_err());
        assert!(percentile(&[1.0], -1.0).is_err());
        assert!(percentile(&[1.0], f64::NAN).is_err());
        assert!(percentile(&[1.0, f64::NAN], 50.0).unwrap().is_nan());
        assert!(cumulative_sum_threshold(&[], 98.0).is_err());
        assert!(cumulative_sum_threshold(&[1.0, -1.0], 98.0).is_err());
        assert!(cumulative_sum_threshold(&[1.0], 101.0).is_err());
        assert!(cumulative_sum_threshold(&[f64::NAN, 1.0], 98.0)
            .unwrap()
            .is_nan());
    }

    #[test]
    fn hand_computed_cumulative_thresholds() {
        // sorted 1 2 3 4 (total 10), cumulative 1 3 6 10.
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(cumulative_sum_threshold(&v, 98.0).unwrap(), 4.0); // 10 >= 9.8
        assert_eq!(cumulative_sum_threshold(&v, 60.0).unwrap(), 3.0); // 6 >= 6 (equality counts)
        assert_eq!(cumulative_sum_threshold(&v, 59.0).unwrap(), 3.0); // 6 >= 5.9
        assert_eq!(cumulative_sum_threshold(&v, 29.0).unwrap(), 2.0); // 3 >= 2.9
        assert_eq!(cumulative_sum_threshold(&v, 0.0).unwrap(), 1.0);
        // All zeros: the first element already reaches the target 0.
        assert_eq!(cumulative_sum_threshold(&[0.0; 3], 98.0).unwrap(), 0.0);
    }

    proptest! {
        #[test]
        fn selection_equals_full_sort(
            values in prop::collection::vec(-1e3f64..1e3, 1..200),
            q in 0.0f64..=100.0,
        ) {
            let got = percentile(&values, q).unwrap();
            let want = percentile_by_sorting(&values, q);
            prop_assert_eq!(got, want);
        }

        #[test]
        fn selection_equals_full_sort_with_many_ties(
            values in prop::collection::vec(0u8..4, 1..50),
            q in prop::sample::select(vec![0.0, 1.0, 25.0, 50.0, 90.0, 99.0, 100.0]),
        ) {
            let values: Vec<f64> = values.into_iter().map(f64::from).collect();
            prop_assert_eq!(percentile(&values, q).unwrap(), percentile_by_sorting(&values, q));
        }
    }
}
