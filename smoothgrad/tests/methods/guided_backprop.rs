//! Guided backpropagation.

use super::*;

proptest! {
    #![proptest_config(config(32))]

    /// On `relu(relu(x W1^T + b1) W2^T + b2) W3^T + b3`, by hand: with masks `m1`, `m2` of the
    /// pre-activations, the gradient of output `c` is `W1^T (m1 * W2^T (m2 * W3[c]))`, and guided
    /// backprop clips the gradient at each ReLU: `W1^T (m1 * max(W2^T (m2 * max(W3[c], 0)), 0))`.
    #[test]
    fn guided_backprop_matches_the_hand_computation(seed in 0u64..10_000, c in 0usize..3) {
        let (d, h1, h2, k) = (5, 7, 6, 3);
        let w1 = Tensor::<f64>::randn_seeded(&[h1, d], seed);
        let b1 = Tensor::<f64>::randn_seeded(&[h1], seed + 1);
        let w2 = Tensor::<f64>::randn_seeded(&[h2, h1], seed + 2);
        let b2 = Tensor::<f64>::randn_seeded(&[h2], seed + 3);
        let w3 = Tensor::<f64>::randn_seeded(&[k, h2], seed + 4);
        let b3 = Tensor::<f64>::randn_seeded(&[k], seed + 5);
        let model = Sequential::new()
            .with(linear(&w1, &b1)).with(smoothgrad_nn::ReLU)
            .with(linear(&w2, &b2)).with(smoothgrad_nn::ReLU)
            .with(linear(&w3, &b3));
        let inputs = Tensor::<f64>::randn_seeded(&[2, d], seed + 6);
        let t = Targets::Classes(vec![c, c]);
        let guided = GuidedBackprop.explain(&model, &inputs, &t, &Operator::Logit, 2).unwrap().values;
        let plain = Gradient.explain(&model, &inputs, &t, &Operator::Logit, 2).unwrap().values;
        for n in 0..2 {
            let x = &inputs.data()[n * d..(n + 1) * d];
            let z1: Vec<f64> = matvec(w1.data(), h1, d, x).iter().zip(b1.data()).map(|(a, b)| a + b).collect();
            let a1: Vec<f64> = z1.iter().map(|v| v.max(0.0)).collect();
            let z2: Vec<f64> = matvec(w2.data(), h2, h1, &a1).iter().zip(b2.data()).map(|(a, b)| a + b).collect();
            let top = &w3.data()[c * h2..(c + 1) * h2];
            let hand = |clip: fn(f64) -> f64| -> Vec<f64> {
                let g2: Vec<f64> = top.iter().zip(&z2).map(|(&g, &z)| if z > 0.0 { clip(g) } else { 0.0 }).collect();
                let g1: Vec<f64> = matvec_t(w2.data(), h2, h1, &g2).iter().zip(&z1).map(|(&g, &z)| if z > 0.0 { clip(g) } else { 0.0 }).collect();
                matvec_t(w1.data(), h1, d, &g1)
            };
            let expect_guided = hand(|g| g.max(0.0));
            let expect_plain = hand(|g| g);
            let at = n * d..(n + 1) * d;
            for i in 0..d {
                prop_assert!((guided.data()[at.start + i] - expect_guided[i]).abs() <= 1e-12, "guided[{n}, {i}]: {} vs {}", guided.data()[at.start + i], expect_guided[i]);
                prop_assert!((plain.data()[at.start + i] - expect_plain[i]).abs() <= 1e-12);
            }
        }
    }

    /// When the input goes straight into a ReLU, guided backprop's attribution is the clipped
    /// gradient at that ReLU times its mask, so it is >= 0 everywhere, whatever the weights; and it
    /// is exactly 0 where the input is negative.
    #[test]
    fn guided_backprop_is_non_negative_below_a_first_relu(seed in 0u64..10_000) {
        let mut r = rng(seed);
        let model: Sequential<f64> = Sequential::new()
            .with(smoothgrad_nn::ReLU)
            .with(smoothgrad_nn::Linear::new(6, 8, true, &mut r)).with(smoothgrad_nn::ReLU)
            .with(smoothgrad_nn::Linear::new(8, 4, true, &mut r));
        let inputs = Tensor::<f64>::randn_seeded(&[4, 6], seed);
        let t = Targets::Classes(vec![0, 1, 2, 3]);
        let guided = GuidedBackprop.explain(&model, &inputs, &t, &Operator::Logit, 4).unwrap().values;
        for (g, x) in guided.data().iter().zip(inputs.data()) {
            prop_assert!(*g >= 0.0, "guided attribution {g} < 0");
            if *x < 0.0 {
                prop_assert_eq!(*g, 0.0);
            }
        }
    }
}

/// The property above must be able to fail: the plain gradient of the same kind of model does go
/// negative, and guided backprop then differs from it.
#[test]
fn guided_backprop_differs_from_the_gradient_where_gradients_are_negative() {
    let mut r = rng(1);
    let model: Sequential<f64> = Sequential::new()
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::Linear::new(6, 8, true, &mut r))
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::Linear::new(8, 4, true, &mut r));
    let inputs = Tensor::<f64>::from_fn(&[4, 6], |i| 0.1 + (i % 5) as f64);
    let t = Targets::Classes(vec![0, 1, 2, 3]);
    let plain = Gradient
        .explain(&model, &inputs, &t, &Operator::Logit, 4)
        .unwrap()
        .values;
    let guided = GuidedBackprop
        .explain(&model, &inputs, &t, &Operator::Logit, 4)
        .unwrap()
        .values;
    assert!(
        plain.data().iter().any(|&g| g < 0.0),
        "the plain gradient has a negative entry"
    );
    assert_ne!(bits(&plain), bits(&guided));
}

#[test]
fn guided_backprop_equals_the_gradient_without_relus() {
    let model = tanh_mlp(2, 5, 6, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[3, 5], 3);
    let t = Targets::Classes(vec![0, 1, 2]);
    for op in [Operator::Logit, Operator::Probability] {
        let g = Gradient
            .explain(&model, &inputs, &t, &op, 8)
            .unwrap()
            .values;
        let gb = GuidedBackprop
            .explain(&model, &inputs, &t, &op, 8)
            .unwrap()
            .values;
        assert_eq!(bits(&g), bits(&gb), "{op:?}");
    }
}

/// The guided rule is switched on each tape SmoothGrad builds, and off again for other methods
/// (a method run after guided backprop on the same thread still sees the true derivative).
#[test]
fn guided_rule_does_not_leak_into_other_runs() {
    let model = relu_mlp(4, 5, 6, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 5], 5);
    let t = Targets::Classes(vec![2, 1]);
    let before = Gradient
        .explain(&model, &inputs, &t, &Operator::Logit, 2)
        .unwrap()
        .values;
    let sg = SmoothGrad {
        samples: 4,
        threads: Some(1),
        ..SmoothGrad::new(GuidedBackprop)
    };
    sg.explain(&model, &inputs, &t, &Operator::Logit).unwrap();
    let after = Gradient
        .explain(&model, &inputs, &t, &Operator::Logit, 2)
        .unwrap()
        .values;
    assert_eq!(bits(&before), bits(&after));
}
