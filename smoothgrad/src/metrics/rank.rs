//! Rank statistics: average ranks, Pearson's and Spearman's correlation coefficients.
//!
//! These follow `scipy.stats.rankdata(method="average")`, `scipy.stats.pearsonr` and
//! `scipy.stats.spearmanr`, with one deliberate difference: when either input is constant (zero
//! variance, including inputs of fewer than two values) the correlation is **0**, where SciPy
//! returns NaN with a warning. A saliency map that is constant (a dead gradient, say) carries no
//! ranking, so "no correlation" is the useful answer for averaging over a dataset, and NaN would
//! poison every mean it enters.

use std::cmp::Ordering;

/// The ranks of `values`, 1-based, with tied values given the average of the ranks they span
/// (`scipy.stats.rankdata(values, method="average")`): `ranks(&[10.0, 20.0, 20.0, 5.0])` is
/// `[2.0, 3.5, 3.5, 1.0]`.
///
/// Values are ordered by [`f64::total_cmp`], so the result is deterministic for any input; a NaN
/// ranks above every number (inputs are meant to be finite).
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut out = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len()
            && values[order[end]].total_cmp(&values[order[start]]) == Ordering::Equal
        {
            end += 1;
        }
        // Positions start..end (0-based) hold ranks start+1..=end; their mean is (start+1+end)/2.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            out[i] = rank;
        }
        start = end;
    }
    out
}

/// Pearson's correlation coefficient,
/// `r = sum (a_i - mean a)(b_i - mean b) / sqrt(sum (a_i - mean a)^2 sum (b_i - mean b)^2)`,
/// in `[-1, 1]`.
///
/// Returns 0 (SciPy: NaN) when either input has zero variance or fewer than two values.
///
/// # Panics
/// If the inputs differ in length.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(
        a.len(),
        b.len(),
        "pearson: inputs differ in length ({} and {})",
        a.len(),
        b.len()
    );
    if a.len() < 2 {
        return 0.0;
    }
    let n = a.len() as f64;
    let mean_a = a.iter().sum::<f64>() / n;
    let mean_b = b.iter().sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x - mean_a, y - mean_b);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa == 0.0 || sbb == 0.0 || !(saa.is_finite() && sbb.is_finite()) {
        return 0.0;
    }
    (sab / (saa.sqrt() * sbb.sqrt())).clamp(-1.0, 1.0)
}

/// Spearman's rank correlation coefficient: Pearson's `r` of the average ranks ([`ranks`]) of `a`
/// and `b`, as `scipy.stats.spearmanr` (Spearman 1904). Ties get average ranks, so
/// `spearman(&[1, 2, 2, 3], &[1, 3, 2, 4]) = 0.9486832980505138`. Any strictly increasing transform
/// of either input leaves it unchanged; a reversed order gives -1.
///
/// Returns 0 (SciPy: NaN) when either input is constant or has fewer than two values.
///
/// # Panics
/// If the inputs differ in length.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(
        a.len(),
        b.len(),
        "spearman: inputs differ in length ({} and {})",
        a.len(),
        b.len()
    );
    pearson(&ranks(a), &ranks(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_ranks_match_scipy() {
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 5.0]), vec![2.0, 3.5, 3.5, 1.0]);
        assert_eq!(ranks(&[1.0, 1.0, 1.0]), vec![2.0, 2.0, 2.0]);
        assert_eq!(ranks(&[3.0, -1.0, 2.0]), vec![3.0, 1.0, 2.0]);
        assert!(ranks(&[]).is_empty());
        // scipy.stats.rankdata([0, 2, 3, 2]) = [1. , 2.5, 4. , 2.5]
        assert_eq!(ranks(&[0.0, 2.0, 3.0, 2.0]), vec![1.0, 2.5, 4.0, 2.5]);
    }

    #[test]
    fn pearson_hand_case_and_degenerate_inputs() {
        // Deviations [-1.5, -0.5, 0.5, 1.5] and [-1.75, 0.25, 1.25, 0.25]: r = 3.5 / sqrt(5 * 4.75).
        let r = pearson(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 5.0, 4.0]);
        assert!((r - 3.5 / 23.75f64.sqrt()).abs() < 1e-15, "{r}");
        assert!((r - 0.718_184_846_459_607_9).abs() < 1e-12, "{r}");
        assert_eq!(pearson(&[1.0, 2.0], &[3.0, 3.0]), 0.0);
        assert_eq!(pearson(&[1.0], &[2.0]), 0.0);
        assert_eq!(pearson(&[], &[]), 0.0);
    }

    #[test]
    fn spearman_with_ties_matches_scipy() {
        let rho = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!((rho - 0.948_683_298_050_513_8).abs() < 1e-12, "{rho}");
    }

    #[test]
    #[should_panic(expected = "differ in length")]
    fn mismatched_lengths_panic() {
        spearman(&[1.0, 2.0], &[1.0]);
    }
}
