//! Which noise each sample gets: the noisy input under gradient x input, relative levels, the
//! seed and the input's position in the batch.

use super::*;

/// Under SmoothGrad, gradient x input multiplies by the noisy input (Captum's
/// `NoiseTunnel(InputXGradient)`): on a linear model the mean is `W[c] * mean_s(x + e_s)`.
#[test]
fn smoothed_gradient_x_input_uses_the_noisy_input() {
    let mut r = rng(50);
    let layer = smoothgrad_nn::Linear::<f64>::new(4, 2, true, &mut r);
    let w = layer.weight.clone();
    let model = Sequential::new().with(layer);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 4], 51);
    let explainer = SmoothGrad {
        samples: 11,
        seed: 3,
        ..sg(GradientXInput, 0, NoiseLevel::Absolute(0.6))
    };
    let e = explainer
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![1, 0]),
            &Operator::Logit,
        )
        .unwrap();
    for (n, c) in [(0usize, 1usize), (1, 0)] {
        let x = &inputs.data()[n * 4..(n + 1) * 4];
        let mut noisy = Vec::new();
        for i in 0..11 {
            explainer.noise.extend_noisy(x, 0.6, 3, n, i, &mut noisy);
        }
        for k in 0..4 {
            let mean_x = (0..11).map(|i| noisy[i * 4 + k]).sum::<f64>() / 11.0;
            let expect = w.data()[c * 4 + k] * mean_x;
            let got = e.mean.data()[n * 4 + k];
            assert!(
                (got - expect).abs() <= 1e-12 * (1.0 + expect.abs()),
                "input {n}[{k}]: {got} vs {expect}"
            );
            assert!(
                (got - w.data()[c * 4 + k] * x[k]).abs() > 1e-9,
                "the noise must show"
            );
        }
    }
}

#[test]
fn relative_noise_is_absolute_noise_scaled_by_each_inputs_range() {
    let model = relu_mlp::<f64>(5, 4, 6, 2);
    let inputs =
        Tensor::<f64>::from_vec(vec![0.0, 1.0, 2.0, -2.0, 10.0, 10.5, 11.0, 10.25], &[2, 4])
            .unwrap();
    let rel = sg(Gradient, 9, NoiseLevel::Relative(0.1))
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![0, 1]),
            &Operator::Logit,
        )
        .unwrap();
    // Input 0 spans 4.0 (sigma 0.4), input 1 spans 1.0 (sigma 0.1): explain each alone with the
    // absolute sigma, keeping its position (the noise stream is keyed by the input's index).
    for (n, sigma) in [(0usize, 0.4f64), (1, 0.1)] {
        let abs = sg(Gradient, 9, NoiseLevel::Absolute(sigma))
            .explain(
                &model,
                &inputs,
                &Targets::Classes(vec![0, 1]),
                &Operator::Logit,
            )
            .unwrap();
        let r = &rel.mean.data()[n * 4..(n + 1) * 4];
        let a = &abs.mean.data()[n * 4..(n + 1) * 4];
        assert!(
            r.iter()
                .zip(a)
                .all(|(x, y)| (x - y).abs() <= 1e-15 * (1.0 + y.abs())),
            "input {n}: {r:?} vs {a:?}"
        );
    }
}

#[test]
fn the_seed_and_the_input_position_select_the_noise() {
    let model = relu_mlp::<f64>(6, 4, 6, 2);
    let x = Tensor::<f64>::randn_seeded(&[1, 4], 1);
    let twice = Tensor::from_vec([x.data(), x.data()].concat(), &[2, 4]).unwrap();
    let run = |seed, inputs: &Tensor<f64>| {
        SmoothGrad {
            seed,
            ..sg(Gradient, 20, NoiseLevel::Absolute(0.8))
        }
        .explain(
            &model,
            inputs,
            &Targets::Classes(vec![0; inputs.shape()[0]]),
            &Operator::Logit,
        )
        .unwrap()
        .mean
    };
    let (a, b) = (run(1, &twice), run(2, &twice));
    assert_ne!(
        bits(&a),
        bits(&b),
        "a different seed must draw different noise"
    );
    // The same input at positions 0 and 1 draws from different streams ...
    assert_ne!(a.data()[..4], a.data()[4..]);
    // ... and position 0 of a batch is the input explained alone.
    assert_eq!(bits(&run(1, &x)), bits(&a)[..4].to_vec());
}
