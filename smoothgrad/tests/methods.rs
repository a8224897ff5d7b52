//! The base methods, operators, targets and cuts, each against an independent computation: a
//! closed form on a linear model, a hand computation of the backward pass, central finite
//! differences, or a tape built by hand.

#![allow(clippy::type_complexity, clippy::needless_range_loop)]

mod common;

use autograd::{Scalar, Tape, Tensor, Var};
use nn::Sequential;
use proptest::prelude::*;
use smoothgrad::noise::Noise;
use smoothgrad::{
    predicted, Aggregation, Baseline, Cut, FnModel, Gradient, GradientXInput, GuidedBackprop,
    IntegratedGradients, Method, Model, NoiseLevel, Operator, Rule, SmoothGrad, Targets,
};

use common::{bits, config, conv_pool_features, relu_mlp, rng};

fn linear<T: Scalar>(w: &Tensor<T>, b: &Tensor<T>) -> nn::Linear<T> {
    nn::Linear::from_weights(w.clone(), Some(b.clone())).unwrap()
}

fn tanh_mlp(seed: u64, d: usize, h: usize, k: usize) -> Sequential<f64> {
    let mut r = rng(seed);
    Sequential::new()
        .with(nn::Linear::new(d, h, true, &mut r))
        .with(nn::Tanh)
        .with(nn::Linear::new(h, h, true, &mut r))
        .with(nn::Tanh)
        .with(nn::Linear::new(h, k, true, &mut r))
}

/// `conv2d(2,3,3,padding=1), relu, maxpool2d(2), flatten, linear(12,4)` on `[N, 2, 4, 4]`.
fn relu_cnn(seed: u64) -> Sequential<f64> {
    let mut r = rng(seed);
    conv_pool_features(&mut r).with(nn::Linear::new(12, 4, true, &mut r))
}

/// `dS/dx` for one input row `x` (`[1, ...]`) from a tape built here, for a score of the outputs.
fn tape_gradient(
    model: &dyn Model<f64>,
    x: &Tensor<f64>,
    score: impl for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>,
) -> Tensor<f64> {
    let tape = Tape::new();
    let v = tape.var(x.clone());
    let s = score(model.forward(v)).sum();
    tape.backward(s).wrt(v)
}

/// Row `n` of a batch as a batch of one.
fn row(x: &Tensor<f64>, n: usize) -> Tensor<f64> {
    let len = x.numel() / x.shape()[0];
    let mut shape = x.shape().to_vec();
    shape[0] = 1;
    Tensor::from_slice(&x.data()[n * len..(n + 1) * len], &shape).unwrap()
}

/// The model's score for one row, by a plain forward pass.
fn score_of(
    model: &dyn Model<f64>,
    x: &Tensor<f64>,
    score: impl for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>,
) -> f64 {
    let tape = Tape::new();
    score(model.forward(tape.constant(x.clone()))).sum().item()
}

fn assert_close(a: &[f64], b: &[f64], rel: f64, abs: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (&p, &q)) in a.iter().zip(b).enumerate() {
        assert!(
            (p - q).abs() <= rel * p.abs().max(q.abs()) + abs,
            "{what}[{i}]: {p} vs {q}"
        );
    }
}

fn matvec_t(w: &[f64], rows: usize, cols: usize, v: &[f64]) -> Vec<f64> {
    // w^T v for w [rows, cols], v [rows].
    (0..cols)
        .map(|j| (0..rows).map(|i| w[i * cols + j] * v[i]).sum())
        .collect()
}

fn matvec(w: &[f64], rows: usize, cols: usize, v: &[f64]) -> Vec<f64> {
    (0..rows)
        .map(|i| (0..cols).map(|j| w[i * cols + j] * v[j]).sum())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Gradient and gradient x input.

#[test]
fn gradient_matches_per_input_tapes_on_a_cnn() {
    let model = relu_cnn(1);
    let inputs = Tensor::<f64>::randn_seeded(&[5, 2, 4, 4], 2);
    let classes = vec![0, 3, 1, 2, 3];
    for batch in [1, 2, 64] {
        let a = Gradient
            .explain(
                &model,
                &inputs,
                &Targets::Classes(classes.clone()),
                &Operator::Logit,
                batch,
            )
            .unwrap();
        assert_eq!(a.values.shape(), inputs.shape());
        for (n, &c) in classes.iter().enumerate() {
            let g = tape_gradient(&model, &row(&inputs, n), |o| o.pick(&[c]));
            assert_close(
                &row(&a.values, n).to_vec(),
                g.data(),
                1e-12,
                1e-14,
                &format!("batch {batch} input {n}"),
            );
        }
    }
}

#[test]
fn gradient_x_input_is_the_input_times_the_gradient() {
    let model = relu_cnn(3);
    let inputs = Tensor::<f64>::randn_seeded(&[3, 2, 4, 4], 4);
    let t = Targets::Classes(vec![1, 1, 0]);
    let g = Gradient
        .explain(&model, &inputs, &t, &Operator::Logit, 2)
        .unwrap()
        .values;
    let gxi = GradientXInput
        .explain(&model, &inputs, &t, &Operator::Logit, 2)
        .unwrap()
        .values;
    assert_eq!(bits(&gxi), bits(&g.zip_map(&inputs, |g, x| g * x)));
}

#[test]
fn base_methods_do_not_depend_on_the_batch_size() {
    let model = relu_cnn(5);
    let inputs = Tensor::<f64>::randn_seeded(&[7, 2, 4, 4], 6);
    let t = Targets::Multiple((0..7).map(|n| vec![n % 4, (n + 1) % 4]).collect());
    let methods: Vec<Box<dyn Fn(usize) -> Tensor<f64>>> = vec![
        Box::new(|b| {
            Gradient
                .explain(&model, &inputs, &t, &Operator::Logit, b)
                .unwrap()
                .values
        }),
        Box::new(|b| {
            GuidedBackprop
                .explain(&model, &inputs, &t, &Operator::LogProbability, b)
                .unwrap()
                .values
        }),
        Box::new(|b| {
            IntegratedGradients {
                steps: 10,
                ..IntegratedGradients::default()
            }
            .explain(&model, &inputs, &t, &Operator::Logit, b)
            .unwrap()
            .values
        }),
    ];
    for (m, f) in methods.iter().enumerate() {
        let reference = f(7);
        for b in [1, 3, 100] {
            assert_eq!(bits(&f(b)), bits(&reference), "method {m}, batch {b}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Guided backpropagation.

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
            .with(linear(&w1, &b1)).with(nn::ReLU)
            .with(linear(&w2, &b2)).with(nn::ReLU)
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
            .with(nn::ReLU)
            .with(nn::Linear::new(6, 8, true, &mut r)).with(nn::ReLU)
            .with(nn::Linear::new(8, 4, true, &mut r));
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
        .with(nn::ReLU)
        .with(nn::Linear::new(6, 8, true, &mut r))
        .with(nn::ReLU)
        .with(nn::Linear::new(8, 4, true, &mut r));
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

// ---------------------------------------------------------------------------------------------
// Integrated gradients.

/// `softplus(x W1^T + b1) W2^T + b2` as a closure model.
fn softplus_model(seed: u64, d: usize, h: usize, k: usize) -> impl Model<f64> {
    let (w1, b1) = (
        Tensor::<f64>::randn_seeded(&[h, d], seed),
        Tensor::<f64>::randn_seeded(&[1, h], seed + 1),
    );
    let (w2, b2) = (
        Tensor::<f64>::randn_seeded(&[k, h], seed + 2),
        Tensor::<f64>::randn_seeded(&[1, k], seed + 3),
    );
    FnModel::new(move |x: Var<'_, f64>| {
        let t = x.tape();
        let h = (x.matmul_t(t.constant(w1.clone())) + t.constant(b1.clone())).softplus();
        h.matmul_t(t.constant(w2.clone())) + t.constant(b2.clone())
    })
}

fn baseline_of(kind: u8, d: usize) -> Baseline<f64> {
    match kind {
        0 => Baseline::Zeros,
        1 => Baseline::Constant(-0.5),
        _ => Baseline::Tensor(Tensor::from_fn(&[d], |i| (i as f64 * 0.7).cos())),
    }
}

fn baseline_row(b: &Baseline<f64>, d: usize) -> Tensor<f64> {
    match b {
        Baseline::Zeros => Tensor::zeros(&[1, d]),
        Baseline::Constant(c) => Tensor::full(&[1, d], *c),
        Baseline::Tensor(t) => t.reshape(&[1, d]).unwrap(),
    }
}

proptest! {
    #![proptest_config(config(16))]

    /// Completeness: `sum_i IG_i(x) = S(x) - S(x')` up to the quadrature error, which at 256
    /// steps of a second-order rule (midpoint, trapezoid) is far below 1e-3 of the difference on
    /// a smooth model. Checked for the logit and the log-probability (any differentiable score),
    /// three baselines, a tanh MLP and a softplus closure model.
    #[test]
    fn integrated_gradients_are_complete(
        seed in 0u64..10_000,
        trapezoid in any::<bool>(),
        kind in 0u8..3,
        log_prob in any::<bool>(),
    ) {
        let d = 5;
        let tanh = tanh_mlp(seed, d, 8, 3);
        let soft = softplus_model(seed, d, 8, 3);
        // Unit-scale inputs: the quadrature error grows with the path's curvature, and inputs
        // twice as large (with unit-variance weights) reach ~1.1e-3 at 256 trapezoid steps on rare
        // seeds, while still converging at second order (checked in the next tests).
        let inputs = Tensor::<f64>::randn_seeded(&[3, d], seed + 9);
        let classes = [0usize, 2, 1];
        let op = if log_prob { Operator::LogProbability } else { Operator::Logit };
        let ig = IntegratedGradients {
            baseline: baseline_of(kind, d),
            steps: 256,
            rule: if trapezoid { Rule::Trapezoid } else { Rule::RiemannMiddle },
            internal_batch_size: 100,
        };
        for model in [&tanh as &dyn Model<f64>, &soft] {
            let a = ig.explain(model, &inputs, &Targets::Classes(classes.to_vec()), &op, 2).unwrap().values;
            let base = baseline_row(&ig.baseline, d);
            for (n, &c) in classes.iter().enumerate() {
                let s = |x: &Tensor<f64>| score_of(model, x, |o| op.score(o, &[c]));
                let diff = s(&row(&inputs, n)) - s(&base);
                let attrs = &a.data()[n * d..(n + 1) * d];
                let total: f64 = attrs.iter().sum();
                // Relative to the sum's own scale: where S(x) - S(x') nearly cancels, 1e-3 of it is
                // below the quadrature error of the (large) terms being summed.
                let scale = diff.abs().max(attrs.iter().map(|v| v.abs()).sum::<f64>());
                prop_assert!((total - diff).abs() <= 1e-3 * scale + 1e-9,
                    "{:?}: sum of attributions {total} vs S(x) - S(x') = {diff}", ig.rule);
            }
        }
    }

    /// On a linear model the integrand is constant, so every rule at every step count gives
    /// `(x - x') * W[c]` (the weights of each rule sum to 1).
    #[test]
    fn integrated_gradients_on_a_linear_model_are_exact(steps in 1usize..40, rule in 0u8..4, kind in 0u8..3, seed in 0u64..1000) {
        let d = 4;
        let w = Tensor::<f64>::randn_seeded(&[3, d], seed);
        let model = Sequential::new().with(linear(&w, &Tensor::randn_seeded(&[3], seed + 1)));
        let rule = [Rule::RiemannLeft, Rule::RiemannRight, Rule::RiemannMiddle, Rule::Trapezoid][rule as usize];
        let ig = IntegratedGradients { baseline: baseline_of(kind, d), steps, rule, internal_batch_size: 7 };
        let inputs = Tensor::<f64>::randn_seeded(&[2, d], seed + 2);
        let a = ig.explain(&model, &inputs, &Targets::Classes(vec![1, 2]), &Operator::Logit, 2).unwrap().values;
        let base = baseline_row(&ig.baseline, d);
        for (n, c) in [(0usize, 1usize), (1, 2)] {
            for i in 0..d {
                let expect = (inputs.data()[n * d + i] - base.data()[i]) * w.data()[c * d + i];
                prop_assert!((a.data()[n * d + i] - expect).abs() <= 1e-12 * (1.0 + expect.abs()));
            }
        }
    }
}

#[test]
fn integrated_gradients_quadrature_nodes() {
    for steps in [1usize, 2, 3, 50, 256] {
        for rule in [
            Rule::RiemannLeft,
            Rule::RiemannRight,
            Rule::RiemannMiddle,
            Rule::Trapezoid,
        ] {
            let ig = IntegratedGradients::<f64> {
                steps,
                rule,
                ..IntegratedGradients::default()
            };
            let nodes = ig.nodes();
            assert_eq!(nodes.len(), steps, "{rule:?} {steps}");
            let total: f64 = nodes.iter().map(|n| n.1).sum();
            assert!(
                (total - 1.0).abs() < 1e-12,
                "{rule:?} {steps}: weights sum to {total}"
            );
            assert!(nodes
                .iter()
                .all(|&(a, w)| (0.0..=1.0).contains(&a) && w > 0.0));
            assert!(
                nodes.windows(2).all(|p| p[0].0 < p[1].0),
                "increasing alphas"
            );
            if steps > 1 {
                let (first, last) = (nodes[0].0, nodes[steps - 1].0);
                match rule {
                    Rule::RiemannLeft => {
                        assert_eq!((first, last), (0.0, (steps - 1) as f64 / steps as f64))
                    }
                    Rule::RiemannRight => assert_eq!((first, last), (1.0 / steps as f64, 1.0)),
                    Rule::RiemannMiddle => assert_eq!(first, 0.5 / steps as f64),
                    // Exactly 1.0 is checked in `trapezoid_ends_exactly_at_the_input`.
                    Rule::Trapezoid => assert!(first == 0.0 && (last - 1.0).abs() <= 1e-15),
                }
            }
        }
    }
}

/// The trapezoid's last node should be exactly `alpha = 1`, the input itself, as RiemannRight's
/// is. `k * (1 / (m - 1))` rounds to `0.9999999999999999` for m = 50 (Captum's default count),
/// so the end-point gradient is taken one ulp short of `x` (harmless on smooth models, but the
/// path no longer ends at the input, which matters at ReLU kinks and in bitwise comparisons).
#[test]

fn trapezoid_ends_exactly_at_the_input() {
    for steps in 2..=300usize {
        let ig = IntegratedGradients::<f64> {
            steps,
            rule: Rule::Trapezoid,
            ..IntegratedGradients::default()
        };
        assert_eq!(ig.nodes()[steps - 1].0, 1.0, "steps {steps}");
    }
}

/// Second-order rules: quadrupling the steps divides the completeness error by about 16.
#[test]
fn integrated_gradients_converge_at_second_order() {
    let model = tanh_mlp(11, 4, 8, 2);
    let x = Tensor::<f64>::from_vec(vec![1.5, -2.0, 0.7, 2.5], &[1, 4]).unwrap();
    let diff = score_of(&model, &x, |o| o.pick(&[1]))
        - score_of(&model, &Tensor::zeros(&[1, 4]), |o| o.pick(&[1]));
    for rule in [Rule::RiemannMiddle, Rule::Trapezoid] {
        let err = |steps| {
            let ig = IntegratedGradients {
                steps,
                rule,
                ..IntegratedGradients::default()
            };
            let a = ig
                .explain(&model, &x, &Targets::Classes(vec![1]), &Operator::Logit, 1)
                .unwrap()
                .values;
            (a.data().iter().sum::<f64>() - diff).abs()
        };
        let (e8, e32) = (err(8), err(32));
        assert!(
            e8 > 1e-8,
            "{rule:?}: the test needs a visible error at 8 steps ({e8})"
        );
        let ratio = e8 / e32;
        assert!(
            (10.0..=24.0).contains(&ratio),
            "{rule:?}: error {e8} at 8 steps, {e32} at 32 (ratio {ratio})"
        );
    }
}

#[test]
fn integrated_gradients_do_not_depend_on_the_internal_batch_size() {
    let model = relu_cnn(8);
    let inputs = Tensor::<f64>::randn_seeded(&[3, 2, 4, 4], 9);
    let t = Targets::Multiple(vec![vec![0, 1], vec![3, 3], vec![2, 0]]);
    let run = |internal_batch_size| {
        IntegratedGradients {
            steps: 20,
            internal_batch_size,
            rule: Rule::Trapezoid,
            ..IntegratedGradients::default()
        }
        .explain(&model, &inputs, &t, &Operator::Logit, 2)
        .unwrap()
        .values
    };
    let reference = run(1);
    assert_eq!(reference.shape(), &[3, 2, 2, 4, 4]);
    for b in [3, 7, 64, 1000] {
        assert_eq!(bits(&run(b)), bits(&reference), "internal batch {b}");
    }
}

#[test]
fn integrated_gradients_image_baseline_is_per_input_shaped() {
    let model = relu_cnn(10);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 2, 4, 4], 11);
    let t = Targets::Classes(vec![1, 2]);
    let constant = IntegratedGradients {
        baseline: Baseline::Constant(0.3),
        steps: 12,
        ..IntegratedGradients::default()
    };
    let tensor = IntegratedGradients {
        baseline: Baseline::Tensor(Tensor::full(&[2, 4, 4], 0.3)),
        ..constant.clone()
    };
    let a = constant
        .explain(&model, &inputs, &t, &Operator::Logit, 2)
        .unwrap()
        .values;
    let b = tensor
        .explain(&model, &inputs, &t, &Operator::Logit, 2)
        .unwrap()
        .values;
    assert_eq!(bits(&a), bits(&b));
}

// ---------------------------------------------------------------------------------------------
// Several classes per input.

#[test]
fn multiple_targets_equal_separate_calls_for_every_base_method() {
    let model = relu_cnn(12);
    let inputs = Tensor::<f64>::randn_seeded(&[3, 2, 4, 4], 13);
    let lists = vec![vec![0, 3, 1], vec![2, 2, 0], vec![1, 0, 3]];
    let ig = IntegratedGradients {
        steps: 6,
        ..IntegratedGradients::default()
    };
    let methods: [&dyn Fn(&Targets) -> Tensor<f64>; 4] = [
        &|t| {
            Gradient
                .explain(&model, &inputs, t, &Operator::Logit, 2)
                .unwrap()
                .values
        },
        &|t| {
            GradientXInput
                .explain(&model, &inputs, t, &Operator::Probability, 2)
                .unwrap()
                .values
        },
        &|t| {
            ig.explain(&model, &inputs, t, &Operator::Logit, 2)
                .unwrap()
                .values
        },
        &|t| {
            GuidedBackprop
                .explain(&model, &inputs, t, &Operator::LogProbability, 2)
                .unwrap()
                .values
        },
    ];
    for (m, f) in methods.iter().enumerate() {
        let all = f(&Targets::Multiple(lists.clone()));
        assert_eq!(all.shape(), &[3, 3, 2, 4, 4], "method {m}");
        for j in 0..3 {
            let one = f(&Targets::Classes(lists.iter().map(|l| l[j]).collect()));
            assert_eq!(one.shape(), inputs.shape());
            for n in 0..3 {
                let len = 32;
                let got = &all.data()[(n * 3 + j) * len..(n * 3 + j + 1) * len];
                assert_eq!(
                    got,
                    &one.data()[n * len..(n + 1) * len],
                    "method {m}, input {n}, slot {j}"
                );
            }
        }
    }
}

#[test]
fn multiple_targets_equal_separate_calls_under_smoothgrad() {
    let model = relu_cnn(14);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 2, 4, 4], 15);
    let lists = vec![vec![3, 1], vec![0, 2]];
    let sg = SmoothGrad {
        samples: 10,
        batch_size: 4,
        ..SmoothGrad::default()
    };
    let all = sg
        .explain(
            &model,
            &inputs,
            &Targets::Multiple(lists.clone()),
            &Operator::Logit,
        )
        .unwrap();
    for agg in [
        Aggregation::Mean,
        Aggregation::MeanOfSquares,
        Aggregation::Variance,
    ] {
        assert_eq!(all.get(agg).shape(), &[2, 2, 2, 4, 4]);
    }
    assert_eq!(all.std_error.shape(), &[2, 2, 2, 4, 4]);
    for j in 0..2 {
        let one = sg
            .explain(
                &model,
                &inputs,
                &Targets::Classes(lists.iter().map(|l| l[j]).collect()),
                &Operator::Logit,
            )
            .unwrap();
        for n in 0..2 {
            let len = 32;
            let pick = |t: &Tensor<f64>, at: usize| bits(t)[at * len..(at + 1) * len].to_vec();
            for (a, b) in [
                (&all.mean, &one.mean),
                (&all.mean_of_squares, &one.mean_of_squares),
                (&all.variance, &one.variance),
                (&all.std_error, &one.std_error),
            ] {
                assert_eq!(pick(a, n * 2 + j), pick(b, n), "input {n}, slot {j}");
            }
        }
    }
}

/// One class per input through `Multiple` has no class axis: `[N, ...]`, like `Classes`.
#[test]
fn multiple_targets_with_one_class_keep_the_input_shape() {
    let model = relu_mlp(16, 4, 5, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 4], 17);
    let a = Gradient
        .explain(
            &model,
            &inputs,
            &Targets::Multiple(vec![vec![1], vec![2]]),
            &Operator::Logit,
            2,
        )
        .unwrap();
    let b = Gradient
        .explain(
            &model,
            &inputs,
            &Targets::from(vec![1, 2]),
            &Operator::Logit,
            2,
        )
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.values.shape(), &[2, 4]);
}

// ---------------------------------------------------------------------------------------------
// Targets::Predicted.

#[test]
fn predicted_targets_are_the_arg_max() {
    let model = relu_mlp(18, 4, 8, 5);
    let inputs = Tensor::<f64>::randn_seeded(&[6, 4], 19);
    let tape = Tape::new();
    let out = Model::forward(&model, tape.constant(inputs.clone())).value();
    let argmax: Vec<usize> = out
        .data()
        .chunks(5)
        .map(|r| (0..5).fold(0, |b, i| if r[i] > r[b] { i } else { b }))
        .collect();
    assert_eq!(predicted(&model, &inputs, 5), argmax);
    assert!(
        argmax.iter().any(|&c| c != argmax[0]),
        "the inputs should not all predict one class: {argmax:?}"
    );
    let by_prediction = Gradient
        .explain(&model, &inputs, &Targets::Predicted, &Operator::Logit, 4)
        .unwrap();
    let by_class = Gradient
        .explain(
            &model,
            &inputs,
            &Targets::Classes(argmax.clone()),
            &Operator::Logit,
            4,
        )
        .unwrap();
    assert_eq!(by_prediction, by_class);
    let sg = SmoothGrad {
        samples: 5,
        ..SmoothGrad::default()
    };
    assert_eq!(
        sg.explain(&model, &inputs, &Targets::Predicted, &Operator::Logit)
            .unwrap(),
        sg.explain(&model, &inputs, &Targets::Classes(argmax), &Operator::Logit)
            .unwrap()
    );
}

#[test]
fn predicted_breaks_ties_toward_the_first_class() {
    let model = FnModel::new(|x: Var<'_, f64>| {
        // Outputs [s, 2 s, 2 s] for s = sum of the row: ties between classes 1 and 2 (and, for a
        // zero row, between all three).
        let s = x.sum_axes(&[1], true);
        Var::concat(&[s, s * 2.0, s * 2.0], 1)
    });
    let inputs = Tensor::<f64>::from_vec(vec![1.0, 2.0, 0.0, 0.0, -1.0, -1.0], &[3, 2]).unwrap();
    assert_eq!(predicted(&model, &inputs, 3), vec![1, 0, 0]);
}

// ---------------------------------------------------------------------------------------------
// Operators, against closed forms on a linear model `z = W x + b`.

/// `p = softmax(z)`: `dp_c/dx = p_c (W_c - sum_k p_k W_k)`, `d log p_c/dx = W_c - sum_k p_k W_k`,
/// `dz_k/dx = W_k`, and for the custom score `z_t z_{t+1}`: `z_{t+1} W_t + z_t W_{t+1}`.
#[test]
fn operators_match_closed_forms_on_a_linear_model() {
    let (k, d) = (4usize, 3usize);
    let w = Tensor::<f64>::randn_seeded(&[k, d], 20);
    let b = Tensor::<f64>::randn_seeded(&[k], 21);
    let model = Sequential::new().with(linear(&w, &b));
    let inputs = Tensor::<f64>::randn_seeded(&[3, d], 22);
    let classes = vec![2usize, 0, 3];
    let t = Targets::Classes(classes.clone());
    let next = |c: usize| (c + 1) % k;
    let custom = Operator::custom(move |z: Var<'_, f64>, targets: &[usize]| {
        let shifted: Vec<usize> = targets.iter().map(|&c| (c + 1) % 4).collect();
        z.pick(targets) * z.pick(&shifted)
    });
    let wrow = |c: usize| &w.data()[c * d..(c + 1) * d];
    for (n, &c) in classes.iter().enumerate() {
        let x = &inputs.data()[n * d..(n + 1) * d];
        let z: Vec<f64> = matvec(w.data(), k, d, x)
            .iter()
            .zip(b.data())
            .map(|(a, b)| a + b)
            .collect();
        let zmax = z.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = z.iter().map(|v| (v - zmax).exp()).collect();
        let p: Vec<f64> = e.iter().map(|v| v / e.iter().sum::<f64>()).collect();
        let avg_w: Vec<f64> = (0..d)
            .map(|i| (0..k).map(|j| p[j] * w.data()[j * d + i]).sum())
            .collect();
        let dlogp: Vec<f64> = (0..d).map(|i| wrow(c)[i] - avg_w[i]).collect();
        let cases: Vec<(&str, Operator<f64>, Vec<f64>)> = vec![
            ("logit", Operator::Logit, wrow(c).to_vec()),
            (
                "probability",
                Operator::Probability,
                dlogp.iter().map(|g| p[c] * g).collect(),
            ),
            ("log-probability", Operator::LogProbability, dlogp.clone()),
            ("output(1)", Operator::Output(1), wrow(1).to_vec()),
            (
                "custom",
                custom.clone(),
                (0..d)
                    .map(|i| z[next(c)] * wrow(c)[i] + z[c] * wrow(next(c))[i])
                    .collect(),
            ),
        ];
        for (name, op, expect) in cases {
            let a = Gradient
                .explain(&model, &inputs, &t, &op, 2)
                .unwrap()
                .values;
            assert_close(
                &a.data()[n * d..(n + 1) * d],
                &expect,
                1e-12,
                1e-14,
                &format!("{name}, input {n}"),
            );
        }
    }
}

/// The same operators on a nonlinear model, against central finite differences of the score.
#[test]
fn operators_match_finite_differences_on_a_tanh_mlp() {
    let model = tanh_mlp(23, 4, 6, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 4], 24);
    let classes = [1usize, 2];
    let ops = [
        Operator::Logit,
        Operator::Probability,
        Operator::LogProbability,
        Operator::Output(0),
        Operator::custom(|z: Var<'_, f64>, _: &[usize]| z.square().sum_axes(&[1], false)),
    ];
    for op in ops {
        let a = Gradient
            .explain(&model, &inputs, &Targets::Classes(classes.to_vec()), &op, 2)
            .unwrap()
            .values;
        for (n, &c) in classes.iter().enumerate() {
            let x = row(&inputs, n);
            let h = 1e-5;
            let fd: Vec<f64> = (0..4)
                .map(|i| {
                    let shift = |s: f64| {
                        x.zip_map(
                            &Tensor::from_fn(&[1, 4], |j| if j == i { s } else { 0.0 }),
                            |a, b| a + b,
                        )
                    };
                    let f = |x: &Tensor<f64>| score_of(&model, x, |o| op.score(o, &[c]));
                    (f(&shift(h)) - f(&shift(-h))) / (2.0 * h)
                })
                .collect();
            assert_close(
                &a.data()[n * 4..(n + 1) * 4],
                &fd,
                1e-6,
                1e-8,
                &format!("{op:?}, input {n}"),
            );
        }
    }
}

#[test]
fn output_operator_ignores_the_target() {
    let model = relu_mlp(25, 4, 6, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 4], 26);
    let op = Operator::Output(2);
    assert!(op.ignores_target() && !Operator::<f64>::Logit.ignores_target());
    let a = Gradient
        .explain(&model, &inputs, &Targets::Classes(vec![0, 1]), &op, 2)
        .unwrap();
    let b = Gradient
        .explain(&model, &inputs, &Targets::Classes(vec![2, 2]), &op, 2)
        .unwrap();
    let c = Gradient
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![2, 2]),
            &Operator::Logit,
            2,
        )
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
}

// ---------------------------------------------------------------------------------------------
// Cut before softmax.

/// `linear, relu, linear` with fixed weights, followed by `tail`.
fn with_tail(tail: &[&str]) -> Sequential<f64> {
    let (w1, b1) = (
        Tensor::<f64>::randn_seeded(&[6, 4], 30),
        Tensor::<f64>::randn_seeded(&[6], 31),
    );
    let (w2, b2) = (
        Tensor::<f64>::randn_seeded(&[3, 6], 32),
        Tensor::<f64>::randn_seeded(&[3], 33),
    );
    let mut s = Sequential::new()
        .with(linear(&w1, &b1))
        .with(nn::ReLU)
        .with(linear(&w2, &b2));
    for t in tail {
        match *t {
            "softmax" => s.push(nn::Softmax::default()),
            "logsoftmax" => s.push(nn::LogSoftmax::default()),
            "tanh" => s.push(nn::Tanh),
            _ => unreachable!(),
        }
    }
    s
}

#[test]
fn cut_before_softmax_explains_the_logits() {
    let logits = with_tail(&[]);
    let inputs = Tensor::<f64>::randn_seeded(&[4, 4], 34);
    let sg = SmoothGrad {
        samples: 8,
        ..SmoothGrad::default()
    };
    let reference = sg
        .explain(&logits, &inputs, &Targets::Predicted, &Operator::Logit)
        .unwrap();
    let gradient = Gradient
        .explain(
            &logits,
            &inputs,
            &Targets::Classes(vec![0, 1, 2, 0]),
            &Operator::Logit,
            3,
        )
        .unwrap();
    for tail in [
        &["softmax"][..],
        &["logsoftmax"],
        &["softmax", "logsoftmax"],
    ] {
        let full = with_tail(tail);
        let cut = Cut::before_softmax(&full);
        assert_eq!(cut.len(), 3, "{tail:?}");
        assert!(!cut.is_empty());
        assert_eq!(
            sg.explain(&cut, &inputs, &Targets::Predicted, &Operator::Logit)
                .unwrap(),
            reference,
            "{tail:?}"
        );
        assert_eq!(
            Gradient
                .explain(
                    &cut,
                    &inputs,
                    &Targets::Classes(vec![0, 1, 2, 0]),
                    &Operator::Logit,
                    3
                )
                .unwrap(),
            gradient,
            "{tail:?}"
        );
    }
    // Nothing to cut: the whole model; a softmax that is not last stays.
    assert_eq!(Cut::before_softmax(&logits).len(), 3);
    let inner = with_tail(&["softmax", "tanh"]);
    assert_eq!(Cut::before_softmax(&inner).len(), 5);
}

/// Explaining the logit of a softmax model is explaining the probability of the cut model.
#[test]
fn logit_of_a_softmax_model_is_probability_of_its_cut() {
    let full = with_tail(&["softmax"]);
    let cut = Cut::before_softmax(&full);
    let inputs = Tensor::<f64>::randn_seeded(&[3, 4], 35);
    let t = Targets::Classes(vec![2, 0, 1]);
    let a = Gradient
        .explain(&full, &inputs, &t, &Operator::Logit, 3)
        .unwrap()
        .values;
    let b = Gradient
        .explain(&cut, &inputs, &t, &Operator::Probability, 3)
        .unwrap()
        .values;
    assert_close(
        a.data(),
        b.data(),
        1e-12,
        1e-15,
        "softmax model vs probability of the cut",
    );
}

#[test]
fn cut_at_an_explicit_layer() {
    let full = with_tail(&["softmax"]);
    let hidden = Cut::new(&full, 2).unwrap();
    assert_eq!(hidden.len(), 2);
    // The cut model's outputs are the 6 hidden units: explain unit 5.
    let inputs = Tensor::<f64>::randn_seeded(&[2, 4], 36);
    let a = Gradient
        .explain(
            &hidden,
            &inputs,
            &Targets::Classes(vec![5, 5]),
            &Operator::Logit,
            2,
        )
        .unwrap()
        .values;
    for n in 0..2 {
        let g = tape_gradient(&hidden, &row(&inputs, n), |o| o.pick(&[5]));
        assert_eq!(&a.data()[n * 4..(n + 1) * 4], g.data());
    }
    assert!(Cut::new(&full, 0).unwrap().is_empty());
    let err = Cut::new(&full, 5).err().unwrap();
    assert_eq!(err, "cannot cut before layer 5: the model has 4 layers");
}

#[test]
fn explanation_get_returns_each_aggregation() {
    let model = relu_mlp(37, 3, 4, 2);
    let inputs = Tensor::<f64>::randn_seeded(&[1, 3], 38);
    let sg = SmoothGrad {
        samples: 6,
        noise: Noise {
            level: NoiseLevel::Absolute(0.5),
            ..Noise::default()
        },
        ..SmoothGrad::default()
    };
    let e = sg
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![1]),
            &Operator::Logit,
        )
        .unwrap();
    assert_eq!(e.get(Aggregation::Mean), &e.mean);
    assert_eq!(e.get(Aggregation::MeanOfSquares), &e.mean_of_squares);
    assert_eq!(e.get(Aggregation::Variance), &e.variance);
}
