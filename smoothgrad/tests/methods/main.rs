//! The base methods, operators, targets and cuts, each against an independent computation: a
//! closed form on a linear model, a hand computation of the backward pass, central finite
//! differences, or a tape built by hand.

#![allow(clippy::type_complexity, clippy::needless_range_loop)]

#[path = "../common/mod.rs"]
mod common;
mod cut;
mod explanation;
mod gradient;
mod guided_backprop;
mod integrated_gradients;
mod operators;
mod targets;

use proptest::prelude::*;
use smoothgrad::noise::Noise;
use smoothgrad::{
    predicted, Aggregation, Baseline, Cut, FnModel, Gradient, GradientXInput, GuidedBackprop,
    IntegratedGradients, Method, Model, NoiseLevel, Operator, Rule, SmoothGrad, Targets,
};
use smoothgrad_autograd::{Scalar, Tape, Tensor, Var};
use smoothgrad_nn::Sequential;

use common::{bits, config, conv_pool_features, relu_mlp, rng};

fn linear<T: Scalar>(w: &Tensor<T>, b: &Tensor<T>) -> smoothgrad_nn::Linear<T> {
    smoothgrad_nn::Linear::from_weights(w.clone(), Some(b.clone())).unwrap()
}

fn tanh_mlp(seed: u64, d: usize, h: usize, k: usize) -> Sequential<f64> {
    let mut r = rng(seed);
    Sequential::new()
        .with(smoothgrad_nn::Linear::new(d, h, true, &mut r))
        .with(smoothgrad_nn::Tanh)
        .with(smoothgrad_nn::Linear::new(h, h, true, &mut r))
        .with(smoothgrad_nn::Tanh)
        .with(smoothgrad_nn::Linear::new(h, k, true, &mut r))
}

/// `conv2d(2,3,3,padding=1), relu, maxpool2d(2), flatten, linear(12,4)` on `[N, 2, 4, 4]`.
fn relu_cnn(seed: u64) -> Sequential<f64> {
    let mut r = rng(seed);
    conv_pool_features(&mut r).with(smoothgrad_nn::Linear::new(12, 4, true, &mut r))
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
