//! SmoothGrad-squared and VarGrad, and the one-pass statistics against a hand-built reference.

use super::*;

proptest! {
    #![proptest_config(config(24))]

    /// `mean_of_squares >= mean^2`, `variance = (mean_of_squares - mean^2) S / (S - 1)`,
    /// `std_error = sqrt(variance / S)`, on a ReLU MLP, for every element.
    ///
    /// The identity is checked to 1e-9 relative to the variance, plus a few ulps of the mean of
    /// squares: `mean_of_squares - mean^2` cancels catastrophically when the variance is tiny next
    /// to `mean^2`, so no implementation can meet a purely relative bound there.
    #[test]
    fn smoothgrad_squared_and_vargrad_identities(
        samples in 1usize..30,
        sigma in 0.0f64..1.5,
        seed in any::<u64>(),
        model_seed in 0u64..100,
        gxi in any::<bool>(),
    ) {
        let model = relu_mlp::<f64>(model_seed, 4, 6, 3);
        let inputs = Tensor::<f64>::randn_seeded(&[3, 4], model_seed + 7);
        let targets = Targets::Multiple(vec![vec![0, 1], vec![2, 2], vec![1, 0]]);
        let e = if gxi {
            SmoothGrad { seed, ..sg(GradientXInput, samples, NoiseLevel::Absolute(sigma)) }
                .explain(&model, &inputs, &targets, &Operator::Logit)
        } else {
            SmoothGrad { seed, ..sg(Gradient, samples, NoiseLevel::Absolute(sigma)) }
                .explain(&model, &inputs, &targets, &Operator::Logit)
        }
        .unwrap();
        let s = samples as f64;
        for i in 0..e.mean.numel() {
            let (m, ms, var, se) = (e.mean.data()[i], e.mean_of_squares.data()[i], e.variance.data()[i], e.std_error.data()[i]);
            prop_assert!(ms >= m * m - 4.0 * f64::EPSILON * ms, "SG^2 {ms} < mean^2 {}", m * m);
            prop_assert!(var >= 0.0);
            if samples == 1 {
                prop_assert_eq!(var, 0.0);
                prop_assert_eq!(se, 0.0);
                prop_assert!((ms - m * m).abs() <= 4.0 * f64::EPSILON * ms);
            } else {
                let from_sq = (ms - m * m) * s / (s - 1.0);
                prop_assert!((var - from_sq).abs() <= 1e-9 * var + 8.0 * f64::EPSILON * ms * s / (s - 1.0),
                    "vargrad {var} vs (SG^2 - SG mean^2) S/(S-1) = {from_sq}");
                prop_assert!((se - (var / s).sqrt()).abs() <= 1e-15 * se.max(1e-300) + 1e-300);
            }
        }
    }
}

/// The one-pass statistics equal the textbook two-pass formulas over the very same noisy samples,
/// rebuilt here from the public noise streams (`Noise::extend_noisy`) and hand-built tapes: the
/// whole pipeline (noise, clamping, batching, per-sample gradients, statistics) against a
/// reference, for Gaussian and uniform noise, absolute and relative levels, with clamping.
#[test]
fn matches_a_hand_built_reference() {
    let model = relu_mlp::<f64>(9, 5, 7, 3);
    let inputs = Tensor::<f64>::from_fn(&[2, 5], |i| (i as f64 * 0.37).sin());
    let classes = [1usize, 2];
    let noises = [
        Noise {
            level: NoiseLevel::Relative(0.2),
            distribution: NoiseDistribution::Gaussian,
            clamp: None,
        },
        Noise {
            level: NoiseLevel::Absolute(0.3),
            distribution: NoiseDistribution::Uniform,
            clamp: None,
        },
        Noise {
            level: NoiseLevel::Absolute(0.5),
            distribution: NoiseDistribution::Gaussian,
            clamp: Some((-0.5, 0.6)),
        },
    ];
    for noise in noises {
        let (samples, seed) = (13usize, 77u64);
        let e = SmoothGrad {
            samples,
            seed,
            batch_size: 4,
            noise,
            ..SmoothGrad::default()
        }
        .explain(
            &model,
            &inputs,
            &Targets::Classes(classes.to_vec()),
            &Operator::Logit,
        )
        .unwrap();
        for n in 0..2 {
            let x = &inputs.data()[n * 5..(n + 1) * 5];
            let sigma = noise.sigma(x);
            if let NoiseLevel::Relative(r) = noise.level {
                let (lo, hi) = x
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
                assert!((sigma - r * (hi - lo)).abs() < 1e-15);
            }
            let grads: Vec<Vec<f64>> = (0..samples)
                .map(|i| {
                    let mut noisy = Vec::new();
                    noise.extend_noisy(x, sigma, seed, n, i, &mut noisy);
                    if let Some((lo, hi)) = noise.clamp {
                        assert!(noisy.iter().all(|v| (lo..=hi).contains(v)));
                    }
                    let tape = Tape::new();
                    let v = tape.var(Tensor::from_vec(noisy, &[1, 5]).unwrap());
                    let out = Model::forward(&model, v);
                    tape.backward(out.pick(&[classes[n]]).sum()).wrt(v).to_vec()
                })
                .collect();
            for i in 0..5 {
                let col: Vec<f64> = grads.iter().map(|g| g[i]).collect();
                let mean = col.iter().sum::<f64>() / samples as f64;
                let ms = col.iter().map(|g| g * g).sum::<f64>() / samples as f64;
                let var =
                    col.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (samples - 1) as f64;
                let at = n * 5 + i;
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
                assert!(
                    close(e.mean.data()[at], mean),
                    "{noise:?}: mean[{at}] {} vs {mean}",
                    e.mean.data()[at]
                );
                assert!(
                    close(e.mean_of_squares.data()[at], ms),
                    "{noise:?}: mean of squares[{at}]"
                );
                assert!(
                    close(e.variance.data()[at], var),
                    "{noise:?}: variance[{at}]"
                );
                assert!(
                    close(e.std_error.data()[at], (var / samples as f64).sqrt()),
                    "{noise:?}: std error[{at}]"
                );
            }
        }
    }
}
