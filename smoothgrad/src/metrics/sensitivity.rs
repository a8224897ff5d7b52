//! Max-sensitivity: how much an explanation changes under small input perturbations (Yeh, Hsieh,
//! Suggala, Inouye & Ravikumar 2019, "On the (In)fidelity and Sensitivity of Explanations",
//! NeurIPS).

use rand::Rng;
use smoothgrad_autograd::{Scalar, Tensor};

use crate::streams::{stream, Domain};

/// The max-sensitivity of an explanation function `E` at `x`, estimated by Monte Carlo:
///
/// `SENS_max(E, x, r) = max_{j = 1..n} ||E(x + d_j) - E(x)||_2 / ||E(x)||_2`,
///
/// with each perturbation `d_j` uniform in the L-infinity ball of radius `r` (every element drawn
/// independently from `U(-r, r)`). Yeh et al. define the unnormalized supremum
/// `max_{||d|| <= r} ||E(x + d) - E(x)||`; we divide by `||E(x)||_2`, as Quantus's
/// `MaxSensitivity` does by default (its `norm_numerator` and `norm_denominator` are both the
/// Frobenius norm), so that methods whose maps differ in scale (a gradient and its square, say)
/// can be compared. Lower is better: 0 means the explanation is locally constant. (Quantus's
/// default radius, `lower_bound`, is 0.2 for inputs in `[0, 1]`, with uniform noise in
/// `[-0.2, 0.2]`.)
///
/// `explain` receives tensors of `input`'s shape (`[C, H, W]`, `[1, C, H, W]`, anything) and must
/// return explanations of one fixed shape. Perturbation `j` draws from its own ChaCha8 stream keyed
/// by `(seed, j)`, so the result depends only on the seed. The calls run
/// one after another: `explain` may itself be parallel (SmoothGrad is).
///
/// When `E(x)` is all zeros the ratio is 0 if every perturbed explanation is zero too, and
/// infinity otherwise. With `n_perturbations = 0` it is 0.
///
/// # Panics
/// If `radius` is negative or not finite, or `explain` returns explanations of different sizes.
pub fn max_sensitivity<T: Scalar>(
    mut explain: impl FnMut(&Tensor<T>) -> Tensor<T>,
    input: &Tensor<T>,
    radius: f64,
    n_perturbations: usize,
    seed: u64,
) -> f64 {
    assert!(
        radius >= 0.0 && radius.is_finite(),
        "max_sensitivity: the radius must be a finite number >= 0, found {radius}"
    );
    let reference = explain(input);
    let norm = l2(reference.data().iter().map(|v| v.to_f64_lossless()));
    let mut worst: f64 = 0.0;
    for j in 0..n_perturbations {
        let mut rng = stream(seed, 0, j as u64, Domain::Sensitivity);
        let data: Vec<T> = input
            .data()
            .iter()
            .map(|v| {
                T::from_f64_lossy(v.to_f64_lossless() + radius * (2.0 * rng.gen::<f64>() - 1.0))
            })
            .collect();
        let noisy = Tensor::from_vec(data, input.shape()).expect("same shape as the input");
        let e = explain(&noisy);
        assert_eq!(
            e.numel(),
            reference.numel(),
            "max_sensitivity: explanations changed size, {:?} then {:?}",
            reference.shape(),
            e.shape()
        );
        let diff = l2(e
            .data()
            .iter()
            .zip(reference.data())
            .map(|(&a, &b)| a.to_f64_lossless() - b.to_f64_lossless()));
        let ratio = if diff == 0.0 {
            0.0
        } else if norm == 0.0 {
            f64::INFINITY
        } else {
            diff / norm
        };
        worst = worst.max(ratio);
    }
    worst
}

/// The Euclidean norm, scaled to avoid overflow for large values.
fn l2(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let scale = values.clone().fold(0.0f64, |m, v| m.max(v.abs()));
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    scale
        * values
            .map(|v| (v / scale) * (v / scale))
            .sum::<f64>()
            .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l2_norm() {
        assert_eq!(l2([3.0, -4.0].into_iter()), 5.0);
        assert_eq!(l2([0.0; 3].into_iter()), 0.0);
        assert!((l2([3e200, 4e200].into_iter()) - 5e200).abs() < 1e187);
    }

    #[test]
    fn identity_explanation_is_bounded_by_the_ball() {
        // E(x) = x: the ratio is ||d|| / ||x|| <= r sqrt(n) / ||x||.
        let x = Tensor::<f64>::from_vec(vec![1.0; 16], &[1, 4, 4]).unwrap();
        let s = max_sensitivity(|t| t.clone(), &x, 0.1, 20, 3);
        assert!(s > 0.0 && s <= 0.1 * 4.0 / 4.0, "{s}");
        // The same seed gives the same value; another seed another one.
        assert_eq!(s, max_sensitivity(|t| t.clone(), &x, 0.1, 20, 3));
        assert_ne!(s, max_sensitivity(|t| t.clone(), &x, 0.1, 20, 4));
    }

    #[test]
    fn zero_explanations() {
        let x = Tensor::<f32>::ones(&[4]);
        assert_eq!(max_sensitivity(|t| t.map(|_| 0.0), &x, 0.5, 5, 0), 0.0);
        let jumpy = |t: &Tensor<f32>| t.map(|v| if v == 1.0 { 0.0 } else { 1.0 });
        assert_eq!(max_sensitivity(jumpy, &x, 0.5, 5, 0), f64::INFINITY);
        assert_eq!(max_sensitivity(jumpy, &x, 0.5, 0, 0), 0.0);
    }
}
