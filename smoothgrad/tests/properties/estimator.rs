//! The estimate on models whose gradient is known: linear models (the gradient does not depend on
//! the input) and a quadratic (the mean is unbiased and its variance is known exactly).

use super::*;

proptest! {
    #![proptest_config(config(24))]

    /// On `x W^T + b` the gradient is `W[c]` everywhere, so SmoothGrad is `W[c]` for any noise,
    /// sample count and batch size, VarGrad is 0 and SmoothGrad-squared is `W[c]^2`.
    #[test]
    fn linear_model_smoothgrad_is_the_gradient(
        sigma in 0.0f64..5.0,
        relative in any::<bool>(),
        uniform in any::<bool>(),
        samples in 1usize..40,
        batch in 1usize..50,
        seed in any::<u64>(),
        model_seed in 0u64..1000,
    ) {
        let mut r = rng(model_seed);
        let layer = smoothgrad_nn::Linear::<f64>::new(6, 3, true, &mut r);
        let w = layer.weight.clone();
        let model = Sequential::new().with(layer);
        let inputs = Tensor::<f64>::randn_seeded(&[2, 6], model_seed + 1);
        let level = if relative { NoiseLevel::Relative(sigma) } else { NoiseLevel::Absolute(sigma) };
        let distribution = if uniform { NoiseDistribution::Uniform } else { NoiseDistribution::Gaussian };
        let e = SmoothGrad {
            samples,
            batch_size: batch,
            seed,
            noise: Noise { level, distribution, clamp: None },
            ..SmoothGrad::default()
        }
        .explain(&model, &inputs, &Targets::Classes(vec![2, 0]), &Operator::Logit)
        .unwrap();
        for (n, c) in [(0usize, 2usize), (1, 0)] {
            for i in 0..6 {
                let g = w.data()[c * 6 + i];
                let at = n * 6 + i;
                prop_assert!((e.mean.data()[at] - g).abs() <= 1e-12, "mean {} vs {g}", e.mean.data()[at]);
                prop_assert!(e.variance.data()[at].abs() <= 1e-20, "vargrad {}", e.variance.data()[at]);
                prop_assert!(e.std_error.data()[at].abs() <= 1e-10);
                prop_assert!((e.mean_of_squares.data()[at] - g * g).abs() <= 1e-12);
            }
        }
        prop_assert_eq!(e.samples, vec![samples, samples]);
    }
}

// ---------------------------------------------------------------------------------------------
// A quadratic: the gradient is `A x + b`, linear in the noise, so the SmoothGrad mean is unbiased
// for the true gradient at `x` and its variance is known exactly.

#[test]
fn quadratic_mean_is_within_four_standard_errors_of_the_true_gradient() {
    let d = 6;
    for seed in 0..8u64 {
        let (a, b) = random_quadratic(seed, d);
        let model = quadratic(a.clone(), b.clone());
        let inputs = Tensor::<f64>::randn_seeded(&[2, d], 100 + seed);
        let e = SmoothGrad {
            samples: 300,
            seed,
            ..sg(Gradient, 0, NoiseLevel::Absolute(0.7))
        }
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![0, 0]),
            &Operator::Logit,
        )
        .unwrap();
        for n in 0..2 {
            let x = &inputs.data()[n * d..(n + 1) * d];
            for i in 0..d {
                let truth: f64 =
                    (0..d).map(|j| a.data()[i * d + j] * x[j]).sum::<f64>() + b.data()[i];
                let (m, se) = (e.mean.data()[n * d + i], e.std_error.data()[n * d + i]);
                assert!(
                    se > 0.0,
                    "seed {seed}: the noise must make the gradient vary"
                );
                assert!(
                    (m - truth).abs() <= 4.0 * se + 1e-12,
                    "seed {seed} input {n} element {i}: mean {m}, truth {truth}, std error {se}"
                );
            }
        }
    }
}

/// `g_i = a_i (x_i + e_i) + b_i` (diagonal `A`), so the SmoothGrad mean of `S` samples has
/// variance `a_i^2 sigma^2 / S` exactly. Across `R` seeds the empirical variance (pooled over
/// elements after dividing by `a_i^2 sigma^2`) must be `1/S` at `S` and `1/(4S)` at `4S`: a ratio of
/// 4. With `R * D = 960` pooled degrees of freedom each variance is known to about 4.6% (one
/// standard deviation), so the ratio's bounds `[3.2, 5.0]` are about 4.5 standard deviations wide.
#[test]
fn variance_of_the_estimate_falls_as_one_over_n() {
    let (d, seeds, s, sigma) = (8usize, 120u64, 8usize, 0.5f64);
    let diag: Vec<f64> = (0..d).map(|i| 0.5 + 0.25 * i as f64).collect();
    let a = Tensor::from_fn(&[d, d], |k| if k / d == k % d { diag[k / d] } else { 0.0 });
    let model = quadratic(a, Tensor::from_fn(&[1, d], |i| i as f64 - 3.0));
    let inputs = Tensor::<f64>::randn_seeded(&[1, d], 7);
    let pooled = |samples: usize| -> (f64, f64) {
        let means: Vec<Tensor<f64>> = (0..seeds)
            .map(|seed| {
                let e = SmoothGrad {
                    samples,
                    seed,
                    batch_size: 64,
                    ..sg(Gradient, 0, NoiseLevel::Absolute(sigma))
                }
                .explain(
                    &model,
                    &inputs,
                    &Targets::Classes(vec![0]),
                    &Operator::Logit,
                )
                .unwrap();
                e.mean
            })
            .collect();
        let mut total = 0.0;
        for i in 0..d {
            let mu = means.iter().map(|m| m.data()[i]).sum::<f64>() / seeds as f64;
            let var = means
                .iter()
                .map(|m| (m.data()[i] - mu).powi(2))
                .sum::<f64>()
                / (seeds - 1) as f64;
            total += var / (diag[i] * sigma).powi(2);
        }
        let normalized = total / d as f64;
        (normalized, normalized * samples as f64)
    };
    let (v1, scaled1) = pooled(s);
    let (v4, scaled4) = pooled(4 * s);
    let ratio = v1 / v4;
    assert!(
        (3.2..=5.0).contains(&ratio),
        "variance ratio {ratio} (expected ~4)"
    );
    // Against the exact variance too: S * var / (a^2 sigma^2) = 1.
    for (scaled, n) in [(scaled1, s), (scaled4, 4 * s)] {
        assert!(
            (0.8..=1.2).contains(&scaled),
            "S * variance / theory = {scaled} at S = {n}"
        );
    }
}

/// The reported standard error is `sqrt(variance / S)`, and on average it halves when `S`
/// quadruples.
#[test]
fn reported_std_error_scales_as_one_over_sqrt_n() {
    let d = 6;
    let (a, b) = random_quadratic(42, d);
    let model = quadratic(a, b);
    let inputs = Tensor::<f64>::randn_seeded(&[2, d], 43);
    let mut avg = [0.0f64; 2];
    for seed in 0..40u64 {
        for (k, samples) in [25usize, 100].into_iter().enumerate() {
            let e = SmoothGrad {
                samples,
                seed,
                ..sg(Gradient, 0, NoiseLevel::Absolute(0.4))
            }
            .explain(
                &model,
                &inputs,
                &Targets::Classes(vec![0, 0]),
                &Operator::Logit,
            )
            .unwrap();
            for (se, var) in e.std_error.data().iter().zip(e.variance.data()) {
                let expect = (var / samples as f64).sqrt();
                assert!(
                    (se - expect).abs() <= 1e-14 * expect.max(1e-300),
                    "std error {se} vs sqrt(var/S) {expect}"
                );
            }
            avg[k] += e.std_error.data().iter().sum::<f64>();
        }
    }
    let ratio = avg[0] / avg[1];
    assert!(
        (1.85..=2.15).contains(&ratio),
        "std error ratio between S = 25 and S = 100: {ratio} (expected ~2)"
    );
}
