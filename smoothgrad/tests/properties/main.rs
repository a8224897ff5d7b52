//! Statistical and structural properties of the SmoothGrad engine: what the mean, the mean of
//! squares, the variance and the standard error must satisfy whatever the model, and what must not
//! change with the thread count, the batch size or an early stop.
//!
//! Models are f64 where a tolerance is tight. Property tests use proptest with a fixed number of
//! cases and no failure-persistence file; statistical tests use fixed seeds, so every run checks
//! the same draws (no flakiness), and their bounds are set from the sampling distribution.

// Index loops read more clearly than zipped iterators in the statistics below.
#![allow(clippy::needless_range_loop, clippy::type_complexity)]

#[path = "../common/mod.rs"]
mod common;
mod determinism;
mod early_stop;
mod estimator;
mod memory;
mod noise;
mod statistics;
mod zero_noise;

use proptest::prelude::*;
use smoothgrad::noise::Noise;
use smoothgrad::{
    Baseline, Explanation, FnModel, Gradient, GradientXInput, GuidedBackprop, IntegratedGradients,
    Method, Model, NoiseDistribution, NoiseLevel, Operator, Rule, SmoothGrad, Targets,
};
use smoothgrad_autograd::{Pool2dOptions, Scalar, Tape, Tensor, Var};
use smoothgrad_nn::Sequential;

use common::{bits, config, conv3x3, conv_pool_features, relu_mlp, rng};

/// `conv2d(2,3,3,padding=1), relu, maxpool2d(2), flatten, linear(12,6), relu, linear(6,4)` on
/// `[N, 2, 4, 4]`.
fn relu_cnn<T: Scalar>(seed: u64) -> Sequential<T> {
    let mut r = rng(seed);
    conv_pool_features(&mut r)
        .with(smoothgrad_nn::Linear::new(12, 6, true, &mut r))
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::Linear::new(6, 4, true, &mut r))
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
