//! Statistical and structural properties of the SmoothGrad engine: what the mean, the mean of
//! squares, the variance and the standard error must satisfy whatever the model, and what must not
//! change with the thread count, the batch size or an early stop.
//!
//! Models are f64 where a tolerance is tight. Property tests use proptest with a fixed number of
//! cases and no failure-persistence file; statistical tests use fixed seeds, so every run checks
//! the same draws (no flakiness), and their bounds are set from the sampling distribution.

// Index loops read more clearly than zipped iterators in the statistics below.
#![allow(clippy::needless_range_loop, clippy::type_complexity)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use autograd::{Pool2dOptions, Scalar, Tape, Tensor, Var};
use nn::Sequential;
use proptest::prelude::*;
use smoothgrad::noise::Noise;
use smoothgrad::{
    Baseline, Explanation, FnModel, Gradient, GradientXInput, GuidedBackprop, IntegratedGradients,
    Method, Model, NoiseDistribution, NoiseLevel, Operator, Rule, SmoothGrad, Targets,
};

use common::{bits, config, conv3x3, conv_pool_features, relu_mlp, rng};

// ---------------------------------------------------------------------------------------------
// A counting allocator: current and peak live bytes, for the memory test (see the end of the
// file). It only adds two relaxed atomic operations per allocation.

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// Models and helpers.

/// `conv2d(2,3,3,padding=1), relu, maxpool2d(2), flatten, linear(12,6), relu, linear(6,4)` on
/// `[N, 2, 4, 4]`.
fn relu_cnn<T: Scalar>(seed: u64) -> Sequential<T> {
    let mut r = rng(seed);
    conv_pool_features(&mut r)
        .with(nn::Linear::new(12, 6, true, &mut r))
        .with(nn::ReLU)
        .with(nn::Linear::new(6, 4, true, &mut r))
}

/// Every statistic of two explanations has the same shape and the same bits.
fn assert_bitwise<T: Scalar>(a: &Explanation<T>, b: &Explanation<T>, what: &str) {
    assert_eq!(a.samples, b.samples, "{what}: samples used");
    for (name, x, y) in [
        ("mean", &a.mean, &b.mean),
        ("mean_of_squares", &a.mean_of_squares, &b.mean_of_squares),
        ("variance", &a.variance, &b.variance),
        ("std_error", &a.std_error, &b.std_error),
    ] {
        assert_eq!(x.shape(), y.shape(), "{what}: {name} shape");
        assert!(
            bits(x) == bits(y),
            "{what}: {name} differs bitwise (max |diff| {:?})",
            x.max_abs_diff(y)
        );
    }
}

/// `|a - b| <= rel * max(|a|, |b|) + abs` elementwise, over every statistic.
fn assert_close<T: Scalar>(a: &Explanation<T>, b: &Explanation<T>, rel: f64, abs: f64, what: &str) {
    assert_eq!(a.samples, b.samples, "{what}: samples used");
    for (name, x, y) in [
        ("mean", &a.mean, &b.mean),
        ("mean_of_squares", &a.mean_of_squares, &b.mean_of_squares),
        ("variance", &a.variance, &b.variance),
        ("std_error", &a.std_error, &b.std_error),
    ] {
        assert_eq!(x.shape(), y.shape(), "{what}: {name} shape");
        for (i, (&p, &q)) in x.data().iter().zip(y.data()).enumerate() {
            let (p, q) = (p.to_f64_lossless(), q.to_f64_lossless());
            assert!(
                (p - q).abs() <= rel * p.abs().max(q.abs()) + abs,
                "{what}: {name}[{i}] {p} vs {q}"
            );
        }
    }
}

fn sg<M>(method: M, samples: usize, level: NoiseLevel) -> SmoothGrad<M> {
    SmoothGrad {
        samples,
        noise: Noise {
            level,
            ..Noise::default()
        },
        ..SmoothGrad::new(method)
    }
}

/// `f(x) = x^T A x / 2 + b^T x` per row of `x` `[B, D]`, as a model with one output `[B, 1]`; `A`
/// is symmetric, so the gradient is `A x + b`.
fn quadratic(a: Tensor<f64>, b: Tensor<f64>) -> impl Model<f64> {
    FnModel::new(move |x: Var<'_, f64>| {
        let t = x.tape();
        let (av, bv) = (t.constant(a.clone()), t.constant(b.clone()));
        let quad = (x.matmul_t(av) * x).sum_axes(&[1], true) * 0.5;
        quad + x.matmul_t(bv)
    })
}

/// A random symmetric `d x d` matrix and a `[1, d]` vector.
fn random_quadratic(seed: u64, d: usize) -> (Tensor<f64>, Tensor<f64>) {
    let m = Tensor::<f64>::randn_seeded(&[d, d], seed);
    let a = Tensor::from_fn(&[d, d], |i| {
        let (r, c) = (i / d, i % d);
        (m.data()[r * d + c] + m.data()[c * d + r]) / 2.0
    });
    (a, Tensor::randn_seeded(&[1, d], seed + 1000))
}

// ---------------------------------------------------------------------------------------------
// Noise 0 is the base method, exactly.

/// SmoothGrad over `method` with noise `Absolute(0)` and `Relative(0)` equals `method` itself,
/// bit for bit, with zero variance and standard error, on a ReLU MLP and a ReLU CNN.
fn check_zero_noise<M: Method<f64> + Clone>(method: M) {
    let mlp = relu_mlp::<f64>(3, 5, 8, 3);
    let cnn = relu_cnn::<f64>(4);
    let cases: [(&dyn Model<f64>, Tensor<f64>, Vec<usize>); 2] = [
        (&mlp, Tensor::randn_seeded(&[4, 5], 10), vec![0, 2, 1, 2]),
        (&cnn, Tensor::randn_seeded(&[3, 2, 4, 4], 11), vec![3, 0, 1]),
    ];
    for (model, inputs, classes) in &cases {
        let targets = Targets::Classes(classes.clone());
        let base = method
            .explain(*model, inputs, &targets, &Operator::Logit, 32)
            .unwrap();
        for level in [NoiseLevel::Absolute(0.0), NoiseLevel::Relative(0.0)] {
            for samples in [1, 7] {
                let e = SmoothGrad {
                    batch_size: 3,
                    ..sg(method.clone(), samples, level)
                }
                .explain(*model, inputs, &targets, &Operator::Logit)
                .unwrap();
                let what = format!(
                    "{} {level:?} samples {samples} input {:?}",
                    method.name(),
                    inputs.shape()
                );
                assert_eq!(e.mean.shape(), base.values.shape(), "{what}");
                assert!(
                    bits(&e.mean) == bits(&base.values),
                    "{what}: mean differs from the base method"
                );
                assert!(
                    e.variance.data().iter().all(|&v| v == 0.0),
                    "{what}: variance"
                );
                assert!(
                    e.std_error.data().iter().all(|&v| v == 0.0),
                    "{what}: std error"
                );
                let sq = base.values.map(|v| v * v);
                assert!(
                    bits(&e.mean_of_squares) == bits(&sq),
                    "{what}: mean of squares"
                );
                assert_eq!(e.samples, vec![samples; inputs.shape()[0]], "{what}");
            }
        }
    }
}

#[test]
fn zero_noise_equals_gradient() {
    check_zero_noise(Gradient);
}

#[test]
fn zero_noise_equals_gradient_x_input() {
    check_zero_noise(GradientXInput);
}

#[test]
fn zero_noise_equals_integrated_gradients() {
    check_zero_noise(IntegratedGradients {
        steps: 16,
        internal_batch_size: 5,
        ..IntegratedGradients::default()
    });
    check_zero_noise(IntegratedGradients {
        steps: 9,
        rule: Rule::Trapezoid,
        baseline: Baseline::Constant(0.25),
        internal_batch_size: 64,
    });
}

#[test]
fn zero_noise_equals_guided_backprop() {
    check_zero_noise(GuidedBackprop);
}

// ---------------------------------------------------------------------------------------------
// Linear models: the gradient does not depend on the input.

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
        let layer = nn::Linear::<f64>::new(6, 3, true, &mut r);
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

// ---------------------------------------------------------------------------------------------
// SmoothGrad-squared and VarGrad.

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

/// Under SmoothGrad, gradient x input multiplies by the noisy input (Captum's
/// `NoiseTunnel(InputXGradient)`): on a linear model the mean is `W[c] * mean_s(x + e_s)`.
#[test]
fn smoothed_gradient_x_input_uses_the_noisy_input() {
    let mut r = rng(50);
    let layer = nn::Linear::<f64>::new(4, 2, true, &mut r);
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

// ---------------------------------------------------------------------------------------------
// Threads and batch sizes.

fn explain_with<T: Scalar>(
    model: &Sequential<T>,
    inputs: &Tensor<T>,
    targets: &Targets,
    threads: Option<usize>,
    batch: usize,
) -> Explanation<T> {
    SmoothGrad {
        threads,
        batch_size: batch,
        seed: 5,
        ..sg(Gradient, 50, NoiseLevel::Relative(0.2))
    }
    .explain(model, inputs, targets, &Operator::Logit)
    .unwrap()
}

#[test]
fn thread_count_does_not_change_results_bitwise() {
    let cnn = relu_cnn::<f32>(1);
    let inputs = Tensor::<f32>::randn_seeded(&[3, 2, 4, 4], 2);
    let targets = Targets::Multiple(vec![vec![0, 3], vec![1, 1], vec![2, 0]]);
    let reference = explain_with(&cnn, &inputs, &targets, Some(1), 7);
    for threads in [Some(1), Some(2), Some(3), None, Some(2), None] {
        assert_bitwise(
            &explain_with(&cnn, &inputs, &targets, threads, 7),
            &reference,
            &format!("f32 cnn, threads {threads:?}"),
        );
    }
    let mlp = relu_mlp::<f64>(2, 6, 10, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 6], 3);
    let targets = Targets::Predicted;
    let reference = explain_with(&mlp, &inputs, &targets, Some(1), 32);
    for threads in [Some(2), Some(3), None, Some(1)] {
        assert_bitwise(
            &explain_with(&mlp, &inputs, &targets, threads, 32),
            &reference,
            &format!("f64 mlp, threads {threads:?}"),
        );
    }
}

#[test]
fn batch_size_does_not_change_results() {
    let cnn = relu_cnn::<f32>(1);
    let inputs = Tensor::<f32>::randn_seeded(&[2, 2, 4, 4], 2);
    let targets = Targets::Classes(vec![0, 3]);
    let reference = explain_with(&cnn, &inputs, &targets, Some(2), 1);
    for batch in [7, 32, 50] {
        assert_close(
            &explain_with(&cnn, &inputs, &targets, Some(2), batch),
            &reference,
            1e-6,
            1e-12,
            &format!("batch {batch}"),
        );
    }
}

/// The design promises a result that depends on the seed alone; per-row gradients do not depend
/// on which other rows share the batch, and statistics are fed in sample order, so batch sizes
/// agree bit for bit.
#[test]
fn batch_size_does_not_change_results_bitwise() {
    let cnn = relu_cnn::<f32>(1);
    let inputs = Tensor::<f32>::randn_seeded(&[2, 2, 4, 4], 2);
    let targets = Targets::Multiple(vec![vec![0, 3], vec![2, 1]]);
    for threads in [Some(1), Some(2)] {
        let reference = explain_with(&cnn, &inputs, &targets, threads, 1);
        for batch in [7, 32, 50] {
            assert_bitwise(
                &explain_with(&cnn, &inputs, &targets, threads, batch),
                &reference,
                &format!("f32 cnn, threads {threads:?}, batch {batch}"),
            );
        }
    }
    let mlp = relu_mlp::<f64>(2, 6, 10, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 6], 3);
    let targets = Targets::Classes(vec![2, 1]);
    let reference = explain_with(&mlp, &inputs, &targets, Some(1), 1);
    for batch in [7, 32, 50] {
        assert_bitwise(
            &explain_with(&mlp, &inputs, &targets, Some(2), batch),
            &reference,
            &format!("f64 mlp, batch {batch}"),
        );
    }
}

#[test]
fn other_base_methods_are_reproducible_across_threads_and_batch_sizes() {
    let cnn = relu_cnn::<f32>(8);
    let inputs = Tensor::<f32>::randn_seeded(&[2, 2, 4, 4], 9);
    let targets = Targets::Classes(vec![1, 2]);
    let ig = IntegratedGradients {
        steps: 8,
        internal_batch_size: 13,
        ..IntegratedGradients::default()
    };
    let run_ig = |threads, batch| {
        SmoothGrad {
            threads,
            batch_size: batch,
            ..sg(ig.clone(), 12, NoiseLevel::Relative(0.1))
        }
        .explain(&cnn, &inputs, &targets, &Operator::Logit)
        .unwrap()
    };
    let reference = run_ig(Some(1), 12);
    for (threads, batch) in [(Some(2), 5), (Some(3), 1), (None, 32)] {
        assert_bitwise(
            &run_ig(threads, batch),
            &reference,
            &format!("IG threads {threads:?} batch {batch}"),
        );
    }
    let run_gb = |threads, batch| {
        SmoothGrad {
            threads,
            batch_size: batch,
            ..sg(GuidedBackprop, 12, NoiseLevel::Relative(0.1))
        }
        .explain(&cnn, &inputs, &targets, &Operator::Probability)
        .unwrap()
    };
    let reference = run_gb(Some(1), 12);
    for (threads, batch) in [(Some(2), 5), (Some(3), 1), (None, 32)] {
        assert_bitwise(
            &run_gb(threads, batch),
            &reference,
            &format!("guided threads {threads:?} batch {batch}"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Early stopping.

fn rel_std_error(e: &Explanation<f64>, range: std::ops::Range<usize>) -> f64 {
    let se2: f64 = e.std_error.data()[range.clone()]
        .iter()
        .map(|s| s * s)
        .sum();
    let m2: f64 = e.mean.data()[range].iter().map(|m| m * m).sum();
    (se2 / m2).sqrt()
}

fn early_stop_setup() -> (impl Model<f64>, Tensor<f64>) {
    let (a, b) = random_quadratic(3, 5);
    (quadratic(a, b), Tensor::<f64>::randn_seeded(&[3, 5], 4))
}

#[test]
fn early_stop_uses_fewer_samples_and_meets_the_tolerance() {
    let (model, inputs) = early_stop_setup();
    let (asked, tol) = (5000usize, 0.02);
    let stop = |threads, batch| {
        SmoothGrad {
            tolerance: Some(tol),
            min_samples: 10,
            threads,
            batch_size: batch,
            ..sg(Gradient, asked, NoiseLevel::Absolute(0.5))
        }
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![0; 3]),
            &Operator::Logit,
        )
        .unwrap()
    };
    let e = stop(Some(1), 4);
    for n in 0..3 {
        let used = e.samples[n];
        assert!(
            used < asked && used >= 10,
            "input {n}: {used} samples used of {asked}"
        );
        let rse = rel_std_error(&e, n * 5..(n + 1) * 5);
        assert!(
            rse < tol * (1.0 + 1e-9),
            "input {n}: relative std error {rse} at stop, tolerance {tol}"
        );
        // The stop is the first sample count that meets the tolerance: one sample fewer (the same
        // first `used - 1` draws, since the noise streams are per sample) does not.
        let before = sg(Gradient, used - 1, NoiseLevel::Absolute(0.5))
            .explain(
                &model,
                &inputs,
                &Targets::Classes(vec![0; 3]),
                &Operator::Logit,
            )
            .unwrap();
        if used > 10 {
            let rse = rel_std_error(&before, n * 5..(n + 1) * 5);
            assert!(
                rse >= tol * (1.0 - 1e-9),
                "input {n}: already {rse} < {tol} at {} samples",
                used - 1
            );
        }
        // And the early-stopped statistics are those of a plain run with that many samples.
        let same = sg(Gradient, used, NoiseLevel::Absolute(0.5))
            .explain(
                &model,
                &inputs,
                &Targets::Classes(vec![0; 3]),
                &Operator::Logit,
            )
            .unwrap();
        let at = n * 5..(n + 1) * 5;
        assert_eq!(
            bits(&same.mean)[at.clone()],
            bits(&e.mean)[at.clone()],
            "input {n}: mean"
        );
        assert_eq!(
            bits(&same.variance)[at.clone()],
            bits(&e.variance)[at],
            "input {n}: variance"
        );
    }
    assert!(
        e.samples.iter().all(|&s| s > 10),
        "a real stop, not the minimum: {:?}",
        e.samples
    );
    eprintln!("early stop at {:?} of {asked} samples", e.samples);
    for (threads, batch) in [(Some(2), 4), (Some(1), 16), (Some(2), 16), (None, 7)] {
        assert_bitwise(
            &stop(threads, batch),
            &e,
            &format!("early stop, threads {threads:?} batch {batch}"),
        );
    }
}

#[test]
fn early_stop_respects_min_samples_and_waits_for_every_class() {
    let (model, inputs) = early_stop_setup();
    // A huge tolerance is met at once: the stop comes at min_samples (at least 2).
    for (min, expect) in [(0usize, 2usize), (1, 2), (25, 25)] {
        let e = SmoothGrad {
            tolerance: Some(1e6),
            min_samples: min,
            ..sg(Gradient, 100, NoiseLevel::Absolute(0.5))
        }
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![0; 3]),
            &Operator::Logit,
        )
        .unwrap();
        assert_eq!(e.samples, vec![expect; 3], "min_samples {min}");
    }
    // With several classes, the stop waits until every class meets the tolerance.
    let mlp = relu_mlp::<f64>(12, 5, 8, 3);
    let x = Tensor::<f64>::randn_seeded(&[1, 5], 13);
    let run = |targets: Targets| {
        SmoothGrad {
            tolerance: Some(0.05),
            ..sg(Gradient, 4000, NoiseLevel::Relative(0.3))
        }
        .explain(&mlp, &x, &targets, &Operator::Logit)
        .unwrap()
        .samples[0]
    };
    let (a, b, both) = (
        run(Targets::Classes(vec![0])),
        run(Targets::Classes(vec![2])),
        run(Targets::Multiple(vec![vec![0, 2]])),
    );
    assert_eq!(both, a.max(b), "classes alone stop at {a} and {b}");
}

// ---------------------------------------------------------------------------------------------
// Peak memory does not grow with the number of samples.
//
// The counting allocator sees every thread of this test binary, and the harness runs tests in
// parallel, so the measurement runs in a child process that executes only `peak_memory_probe`
// (which does nothing unless the environment variable below is set).

const PROBE_ENV: &str = "SMOOTHGRAD_PEAK_MEMORY_PROBE";

/// Strict alternation of the two chunks of a wave, so that the memory trace of a 2-thread run is
/// the same in every wave and every run, whatever the scheduling.
///
/// Without it the peak with 2 threads depends on how the two chunks of a wave happen to overlap:
/// a fresh thread pool makes overlap unlikely in the first wave, so a run with 2 waves (50
/// samples) often shows much less than a run with 63 (2000 samples), and even with the chunks in
/// step layer by layer, which thread frees its buffers first within a layer still moves the peak.
///
/// Each chunk meets at the input and after every layer, in the forward and in the backward pass
/// ([`Meet`]). The first meeting assigns roles 0 and 1 by arrival; from then on the chunks take
/// turns: role 0 runs one segment (from one meeting to the next) while role 1 waits, then role 1
/// runs the same segment while role 0 waits, and so on. Both tapes are alive throughout, and the
/// interleaving, hence the peak, is fixed. (Timeouts only guard against a hang if the engine ever
/// schedules its chunks differently; the test would then measure an unsynchronised run.)
struct Turns {
    state: std::sync::Mutex<TurnState>,
    cv: std::sync::Condvar,
    /// Meetings per chunk: one per [`Meet`] in the forward pass and one in the backward pass.
    meetings: usize,
}

#[derive(Default)]
struct TurnState {
    arrivals: u64,
    turn: u64,
}

impl Turns {
    fn wait_until(
        &self,
        s: std::sync::MutexGuard<'_, TurnState>,
        ready: impl Fn(&TurnState) -> bool,
    ) {
        let _ = self
            .cv
            .wait_timeout_while(s, std::time::Duration::from_secs(2), |s| !ready(s))
            .unwrap();
    }

    /// Called at every meeting of a chunk; `chunk` counts its meetings and holds its role.
    fn meet(&self, chunk: &Chunk) {
        let call = chunk.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let mut s = self.state.lock().unwrap();
        if call == 1 {
            let role = (s.arrivals % 2) as usize;
            s.arrivals += 1;
            chunk.role.store(role, Ordering::SeqCst);
            if role == 0 {
                self.wait_until(s, |s| s.arrivals % 2 == 0);
            } else {
                s.turn += s.turn % 2; // even: role 0 goes first
                self.cv.notify_all();
                self.wait_until(s, |s| s.turn % 2 == 1);
            }
            return;
        }
        s.turn += 1;
        self.cv.notify_all();
        if call < self.meetings {
            let role = chunk.role.load(Ordering::SeqCst) as u64;
            self.wait_until(s, |s| s.turn % 2 == role);
        }
    }
}

/// One chunk's meetings so far and its role.
struct Chunk {
    calls: AtomicUsize,
    role: AtomicUsize,
}

/// The identity, meeting the other chunk in its forward and in its backward rule.
struct Meet(std::sync::Arc<Turns>, std::sync::Arc<Chunk>);

impl autograd::CustomOp<f32> for Meet {
    fn name(&self) -> &str {
        "meet"
    }

    fn forward(&self, inputs: &[&Tensor<f32>]) -> Tensor<f32> {
        self.0.meet(&self.1);
        inputs[0].clone()
    }

    fn backward(
        &self,
        _: &[&Tensor<f32>],
        _: &Tensor<f32>,
        dy: &Tensor<f32>,
    ) -> Vec<Option<Tensor<f32>>> {
        self.0.meet(&self.1);
        vec![Some(dy.clone())]
    }
}

/// The CNN, with a [`Meet`] on the input and after every layer when `turns` is set.
struct SyncedCnn {
    cnn: Sequential<f32>,
    turns: Option<std::sync::Arc<Turns>>,
}

impl Model<f32> for SyncedCnn {
    fn forward<'t>(&self, x: Var<'t, f32>) -> Var<'t, f32> {
        let Some(turns) = &self.turns else {
            return Model::forward(&self.cnn, x);
        };
        let chunk = std::sync::Arc::new(Chunk {
            calls: AtomicUsize::new(0),
            role: AtomicUsize::new(0),
        });
        let meet = |h: Var<'t, f32>| x.tape().custom(Meet(turns.clone(), chunk.clone()), &[h]);
        let mut cx = nn::Context::inference(x.tape());
        (0..self.cnn.len()).fold(meet(x), |h, i| {
            meet(self.cnn.forward_range(h, &mut cx, i..i + 1))
        })
    }

    fn output_shape(
        &self,
        input: &[usize],
    ) -> Result<Vec<usize>, Box<dyn std::error::Error + Send + Sync>> {
        Model::output_shape(&self.cnn, input)
    }
}

/// The threads of this process (Linux), or `None` where `/proc` is not available.
fn live_threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

static PROBE_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Waits until the worker threads of the previous `explain`'s pool have exited: their last frees
/// would otherwise land inside the next measurement and lower its peak below its baseline.
fn settle() {
    let start = std::time::Instant::now();
    match live_threads() {
        Some(_) => {
            while live_threads().unwrap() > PROBE_THREADS.load(Ordering::SeqCst)
                && start.elapsed() < std::time::Duration::from_secs(5)
            {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        None => std::thread::sleep(std::time::Duration::from_millis(50)),
    }
}

fn measure_peak(threads: usize, samples: usize) -> usize {
    let mut r = rng(0);
    let cnn: Sequential<f32> = Sequential::new()
        .with(conv3x3(1, 4, &mut r))
        .with(nn::ReLU)
        .with(nn::MaxPool2d::new(Pool2dOptions::new(2)).unwrap())
        .with(nn::Flatten::default())
        .with(nn::Linear::new(4 * 6 * 6, 10, true, &mut r));
    // With 2 threads and batch 16 every wave has exactly two chunks (16 + 16, then 9 + 9 for 50
    // samples or 8 + 8 for 2000), so the rendezvous always has its two parties.
    let meetings = 2 * (cnn.len() + 1);
    let turns = (threads == 2).then(|| {
        std::sync::Arc::new(Turns {
            state: Default::default(),
            cv: std::sync::Condvar::new(),
            meetings,
        })
    });
    let model = SyncedCnn { cnn, turns };
    let inputs = Tensor::<f32>::randn_seeded(&[1, 1, 12, 12], 1);
    let explainer = SmoothGrad {
        samples,
        batch_size: 16,
        threads: Some(threads),
        ..SmoothGrad::default()
    };
    settle();
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let e = explainer
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![3]),
            &Operator::Logit,
        )
        .unwrap();
    let peak = PEAK.load(Ordering::SeqCst) - base;
    assert_eq!(e.samples, vec![samples]);
    drop(e);
    drop(model);
    peak
}

#[test]
fn peak_memory_probe() {
    if std::env::var_os(PROBE_ENV).is_none() {
        return;
    }
    PROBE_THREADS.store(live_threads().unwrap_or(0), Ordering::SeqCst);
    for threads in [1usize, 2] {
        measure_peak(threads, 50); // warm-up: lazily initialised globals
        for samples in [50usize, 2000] {
            // The largest of three runs: with 2 threads the overlap of the two chunks varies.
            let peak = (0..3)
                .map(|_| measure_peak(threads, samples))
                .max()
                .unwrap();
            println!("PEAK threads={threads} samples={samples} bytes={peak}");
        }
    }
    // Sensitivity: keeping one attribution per sample would cost 2000 x 144 x 4 bytes (1.1 MB).
    // A base method over 2000 *inputs* must keep its output, and the allocator must see it.
    let mut r = rng(0);
    let cnn: Sequential<f32> = Sequential::new()
        .with(conv3x3(1, 4, &mut r))
        .with(nn::Flatten::default())
        .with(nn::Linear::new(4 * 12 * 12, 10, true, &mut r));
    for n in [50usize, 2000] {
        let inputs = Tensor::<f32>::randn_seeded(&[n, 1, 12, 12], 1);
        let base = CURRENT.load(Ordering::SeqCst);
        PEAK.store(base, Ordering::SeqCst);
        let a = Gradient
            .explain(
                &cnn,
                &inputs,
                &Targets::Classes(vec![0; n]),
                &Operator::Logit,
                16,
            )
            .unwrap();
        println!(
            "GROWTH inputs={n} bytes={}",
            PEAK.load(Ordering::SeqCst) - base
        );
        drop(a);
    }
}

/// The criterion: peak memory with 2000 samples is within 1.25x of that with 50, at the
/// same batch size (16), for 1 and 2 threads, on a small CNN.
#[test]
fn peak_memory_does_not_grow_with_the_sample_count() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "peak_memory_probe",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE_ENV, "1")
        .output()
        .expect("re-run this test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "probe failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut peaks = std::collections::HashMap::new();
    // The harness may print `test peak_memory_probe ... ` before the first line.
    for line in stdout
        .lines()
        .filter_map(|l| l.find("PEAK ").map(|at| &l[at + 5..]))
    {
        let field = |k: &str| -> usize {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(k))
                .unwrap()
                .parse()
                .unwrap()
        };
        peaks.insert((field("threads="), field("samples=")), field("bytes="));
    }
    assert_eq!(peaks.len(), 4, "probe output:\n{stdout}");
    let growth: Vec<usize> = stdout
        .lines()
        .filter_map(|l| l.find("GROWTH ").map(|at| &l[at..]))
        .map(|l| l.rsplit("bytes=").next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(growth.len(), 2, "probe output:\n{stdout}");
    assert!(
        growth[1] > growth[0] + 1_000_000,
        "the measurement must see O(n) growth: {growth:?}"
    );
    for threads in [1, 2] {
        let (small, large) = (peaks[&(threads, 50)], peaks[&(threads, 2000)]);
        let ratio = large as f64 / small as f64;
        eprintln!("threads {threads}: peak {small} B at 50 samples, {large} B at 2000 samples, ratio {ratio:.3}");
        assert!(
            small > 10_000,
            "the allocator must see the work ({small} bytes)"
        );
        assert!(ratio <= 1.25, "threads {threads}: peak {large} B with 2000 samples vs {small} B with 50 (ratio {ratio:.3})");
    }
}
