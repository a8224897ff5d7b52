//! Every layer's gradients, with respect to its input and to each of its parameters, against
//! central finite differences in f64, with proptest-generated shapes, hyper-parameters and values
//! (`layers`, `sequential`); whole models at realistic sizes (`models`); and the checker itself
//! rejecting wrong gradients (`checker`).
//!
//! A layer binds its own stored tensors on the tape (`Context::param`), so the checker in
//! `smoothgrad_autograd::check` (which differentiates with respect to its own inputs) cannot perturb them.
//! [`check_layer`] therefore does both halves itself:
//!
//! - analytic: one forward in `Context::training` (parameters are variables), then
//!   `backward_with(y, u)` for a seeded random cotangent `u` of the output's shape, so the loss
//!   `sum(y * u)` covers outputs of any shape; the gradient of each parameter is read from the var
//!   `Context::bound` recorded under its `state_dict` name;
//! - numeric: central differences of the same loss, perturbing one element of the input, or one
//!   element of a parameter through `visit_state_mut` (restored afterwards);
//!
//! and accepts `|analytic - numeric| <= atol + rtol |numeric|` with PyTorch gradcheck's defaults
//! (eps 1e-6, atol 1e-5, rtol 1e-3). It also runs `smoothgrad_autograd::check::check_gradients` on the input
//! (the full Jacobian, not only its projection on `u`). Every evaluation builds its `Context` with
//! the same seed, so dropout draws the same mask each time and finite differences apply.
//!
//! Inputs stay away from kinks (ReLU at 0, ties in a max), where no derivative exists.

mod checker;
mod layers;
mod models;
mod modern_layers;
mod sequential;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::check::{check_gradients, CheckOptions};
use smoothgrad_autograd::strategies::{distinct_tensor, shape, tensor_away_from, tensor_of_shape};
use smoothgrad_autograd::{Conv2dOptions, Pool2dOptions, Tape, Tensor};
use smoothgrad_nn::{
    AvgPool2d, BatchNorm2d, Context, Conv2d, Dropout, Flatten, LeakyReLU, Linear, LogSoftmax,
    MaxPool2d, Module, ReLU, Sequential, Sigmoid, Softmax, StateKind, Tanh,
};

const EPS: f64 = 1e-6;
const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-3;
/// The dropout seed of every `Context` built by the checks.
const CONTEXT_SEED: u64 = 0x5eed;

/// Few cases per property: each case runs hundreds of small forward passes. No regression files
/// are written (this suite owns no directory); a failure prints its minimal input.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// What [`check_layer`] compared.
#[derive(Debug)]
struct LayerReport {
    /// The parameters checked, by `state_dict` name, in binding order.
    params: Vec<String>,
    /// How many gradient entries were compared (input and parameters).
    compared: usize,
}

fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    a.data().iter().zip(b.data()).map(|(x, y)| x * y).sum()
}

/// `sum(layer(x) * u)` on a fresh tape, in a training context with the fixed seed.
fn loss(layer: &dyn Module<f64>, x: &Tensor<f64>, u: &Tensor<f64>) -> f64 {
    let tape = Tape::new();
    let mut cx = Context::training(&tape, CONTEXT_SEED);
    let y = layer.forward(tape.constant(x.clone()), &mut cx);
    dot(&y.value(), u)
}

/// Replaces the stored tensor called `name`.
fn set_state(layer: &mut dyn Module<f64>, name: &str, value: &Tensor<f64>) {
    let mut found = false;
    layer.visit_state_mut(&mut |n, _, t| {
        if n == name {
            assert_eq!(t.shape(), value.shape(), "{name}: shape");
            *t = value.clone();
            found = true;
        }
    });
    assert!(found, "no state named {name}");
}

/// `t` with `delta` added to element `j`.
fn nudged(t: &Tensor<f64>, j: usize, delta: f64) -> Tensor<f64> {
    let mut data = t.to_vec();
    data[j] += delta;
    Tensor::from_vec(data, t.shape()).expect("same length")
}

fn close(analytic: f64, numeric: f64) -> bool {
    (analytic - numeric).abs() <= ATOL + RTOL * numeric.abs() // NaN fails
}

/// Checks the gradients of `layer` at `input` with respect to the input and to every parameter,
/// as the module docs describe; `cotangent_seed` draws `u`. Returns what was compared, or a
/// message naming the layer, the tensor, the element and both values.
fn check_layer(
    layer: &mut dyn Module<f64>,
    input: &Tensor<f64>,
    cotangent_seed: u64,
) -> Result<LayerReport, String> {
    let spec = layer.to_string();
    let expected_shape = layer
        .output_shape(input.shape())
        .map_err(|e| format!("{spec}: output_shape rejected {:?}: {e}", input.shape()))?;

    // Analytic gradients.
    let tape = Tape::new();
    let x = tape.var(input.clone());
    let mut cx = Context::training(&tape, CONTEXT_SEED);
    let y = layer.forward(x, &mut cx);
    if y.shape() != expected_shape {
        return Err(format!(
            "{spec}: forward gave shape {:?}, output_shape said {expected_shape:?}",
            y.shape()
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cotangent_seed);
    let u = Tensor::from_fn(&expected_shape, |_| rng.gen_range(-1.0..1.0));
    let grads = tape.backward_with(y, u.clone());
    let input_grad = grads.wrt(x);
    let mut param_grads: Vec<(String, Tensor<f64>)> = Vec::new();
    for (name, var) in cx.bound() {
        let g = grads
            .get(*var)
            .ok_or_else(|| format!("{spec}: no gradient reached parameter {name}"))?;
        if param_grads.iter().any(|(n, _)| n == name) {
            return Err(format!("{spec}: parameter {name} bound twice"));
        }
        param_grads.push((name.clone(), g.clone()));
    }

    // Every learned tensor of the state must have been bound, and nothing else.
    let mut state_params: Vec<(String, Tensor<f64>)> = Vec::new();
    layer.visit_state(&mut |name, kind, t| {
        if kind == StateKind::Parameter {
            state_params.push((name.to_string(), t.clone()));
        }
    });
    let bound_names: Vec<&str> = param_grads.iter().map(|(n, _)| n.as_str()).collect();
    let state_names: Vec<&str> = state_params.iter().map(|(n, _)| n.as_str()).collect();
    if bound_names != state_names {
        return Err(format!(
            "{spec}: bound parameters {bound_names:?} differ from the state_dict's {state_names:?}"
        ));
    }

    let mut compared = 0;
    let mut compare = |what: &str, j: usize, analytic: f64, numeric: f64| {
        compared += 1;
        if close(analytic, numeric) {
            Ok(())
        } else {
            Err(format!(
                "{spec}: d loss / d {what}[{j}]: analytic {analytic:.9e}, numeric {numeric:.9e} \
                 (input {:?})",
                input.shape()
            ))
        }
    };

    // Numeric gradient with respect to the input.
    if input_grad.shape() != input.shape() {
        return Err(format!(
            "{spec}: input gradient has shape {:?}",
            input_grad.shape()
        ));
    }
    for j in 0..input.numel() {
        let plus = loss(layer, &nudged(input, j, EPS), &u);
        let minus = loss(layer, &nudged(input, j, -EPS), &u);
        compare(
            "input",
            j,
            input_grad.data()[j],
            (plus - minus) / (2.0 * EPS),
        )?;
    }

    // Numeric gradients with respect to each parameter.
    for ((name, g), (_, value)) in param_grads.iter().zip(&state_params) {
        if g.shape() != value.shape() {
            return Err(format!(
                "{spec}: gradient of {name} has shape {:?}, the parameter {:?}",
                g.shape(),
                value.shape()
            ));
        }
        for j in 0..value.numel() {
            set_state(layer, name, &nudged(value, j, EPS));
            let plus = loss(layer, input, &u);
            set_state(layer, name, &nudged(value, j, -EPS));
            let minus = loss(layer, input, &u);
            set_state(layer, name, value);
            compare(name, j, g.data()[j], (plus - minus) / (2.0 * EPS))?;
        }
    }

    // The whole input Jacobian, through the public checker.
    let layer: &dyn Module<f64> = layer;
    check_gradients(
        |tape, v| layer.forward(v[0], &mut Context::training(tape, CONTEXT_SEED)),
        std::slice::from_ref(input),
        &CheckOptions::default(),
    )
    .map_err(|e| format!("{spec}: input Jacobian: {e}"))?;

    Ok(LayerReport {
        params: param_grads.into_iter().map(|(n, _)| n).collect(),
        compared,
    })
}

/// Runs [`check_layer`] inside a proptest case.
fn assert_layer(
    layer: &mut dyn Module<f64>,
    input: &Tensor<f64>,
    cotangent_seed: u64,
) -> Result<LayerReport, TestCaseError> {
    check_layer(layer, input, cotangent_seed).map_err(TestCaseError::fail)
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn uniform(shape: &[usize], lo: f64, hi: f64, seed: u64) -> Tensor<f64> {
    Tensor::uniform(shape, lo, hi, &mut rng(seed))
}

/// The smallest per-channel biased variance of an NCHW tensor.
fn min_channel_variance(x: &Tensor<f64>) -> f64 {
    let s = x.shape();
    let (n, c, hw) = (s[0], s[1], s[2] * s[3]);
    (0..c)
        .map(|ch| {
            let vals: Vec<f64> = (0..n)
                .flat_map(|i| x.data()[(i * c + ch) * hw..(i * c + ch + 1) * hw].to_vec())
                .collect();
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / vals.len() as f64
        })
        .fold(f64::INFINITY, f64::min)
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// A Linear layer's sizes and an input `[B, in]` or `[B, T, in]`.
fn linear_case() -> impl Strategy<Value = (Tensor<f64>, usize, bool, u64)> {
    (
        prop_oneof![
            (1..=3usize).prop_map(|b| vec![b]),
            (1..=3usize, 1..=3usize).prop_map(|(b, t)| vec![b, t]),
        ],
        1..=4usize,
        1..=4usize,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_flat_map(|(lead, inp, out, bias, seed)| {
            let shape = [lead, vec![inp]].concat();
            (
                tensor_of_shape(shape, -2.0..2.0),
                Just(out),
                Just(bias),
                Just(seed),
            )
        })
}

/// Conv2d hyper-parameters with an input they fit.
#[derive(Clone, Debug)]
struct ConvCase {
    in_channels: usize,
    out_channels: usize,
    kernel: [usize; 2],
    options: Conv2dOptions,
    bias: bool,
    seed: u64,
    input: Tensor<f64>,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        (1..=3usize, 1..=2usize, 1..=2usize), // groups, in and out per group
        (1..=3usize, 1..=3usize),             // kernel
        (1..=2usize, 1..=2usize),             // stride
        (0..=2usize, 0..=1usize),             // padding
        (1..=2usize, 1..=2usize),             // dilation
        (1..=2usize, 0..=2usize, 0..=2usize), // batch, extra height, extra width
        (any::<bool>(), any::<u64>()),
    )
        .prop_flat_map(|((g, cig, cog), k, s, p, d, (n, eh, ew), (bias, seed))| {
            let (k, p, d) = ([k.0, k.1], [p.0, p.1], [d.0, d.1]);
            // The smallest size the dilated kernel fits once padded, then some more.
            let fit = |i: usize| (d[i] * (k[i] - 1) + 1).saturating_sub(2 * p[i]).max(1);
            let (h, w) = (fit(0) + eh, fit(1) + ew);
            let options = Conv2dOptions::default()
                .stride2([s.0, s.1])
                .padding2(p)
                .dilation2(d)
                .groups(g);
            tensor_of_shape(vec![n, g * cig, h, w], -2.0..2.0).prop_map(move |input| ConvCase {
                in_channels: g * cig,
                out_channels: g * cog,
                kernel: k,
                options,
                bias,
                seed,
                input,
            })
        })
}

/// Pooling options (padding at most half the kernel) and an NCHW shape they fit.
fn pool_case() -> impl Strategy<Value = (Pool2dOptions, Vec<usize>)> {
    (
        (1..=3usize, 1..=3usize),
        (1..=3usize, 1..=3usize),
        (0..=1usize, 0..=1usize),
    )
        .prop_flat_map(|(k, s, p)| {
            let p = [p.0.min(k.0 / 2), p.1.min(k.1 / 2)];
            let opts = Pool2dOptions::new2([k.0, k.1])
                .stride2([s.0, s.1])
                .padding2(p);
            let fit = |k: usize, p: usize| k.saturating_sub(2 * p).max(1);
            (
                Just(opts),
                (1..=2usize, 1..=2usize, 0..=3usize, 0..=3usize).prop_map(move |(n, c, eh, ew)| {
                    vec![n, c, fit(k.0, p[0]) + eh, fit(k.1, p[1]) + ew]
                }),
            )
        })
}

/// An NCHW tensor for batch normalization, whose every channel has at least two values.
fn batchnorm_input() -> impl Strategy<Value = Tensor<f64>> {
    (1..=3usize, 1..=3usize, 1..=3usize, 1..=3usize)
        .prop_filter("a channel needs at least two values", |(n, _, h, w)| {
            n * h * w >= 2
        })
        .prop_flat_map(|(n, c, h, w)| tensor_of_shape(vec![n, c, h, w], -2.0..2.0))
}

/// A random shape and one of its axes.
fn shape_and_dim(max_rank: usize, max_dim: usize) -> impl Strategy<Value = (Vec<usize>, usize)> {
    shape(max_rank, max_dim).prop_flat_map(|s| {
        let rank = s.len();
        (Just(s), 0..rank)
    })
}
