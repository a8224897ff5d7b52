//! Every layer's gradients, with respect to its input and to each of its parameters, against
//! central finite differences in f64, with proptest-generated shapes, hyper-parameters and values.
//!
//! A layer binds its own stored tensors on the tape (`Context::param`), so the checker in
//! `autograd::check` (which differentiates with respect to its own inputs) cannot perturb them.
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
//! (eps 1e-6, atol 1e-5, rtol 1e-3). It also runs `autograd::check::check_gradients` on the input
//! (the full Jacobian, not only its projection on `u`). Every evaluation builds its `Context` with
//! the same seed, so dropout draws the same mask each time and finite differences apply.
//!
//! Inputs stay away from kinks (ReLU at 0, ties in a max), where no derivative exists.

use autograd::check::{check_gradients, CheckOptions};
use autograd::strategies::{distinct_tensor, shape, tensor_away_from, tensor_of_shape};
use autograd::{Conv2dOptions, Pool2dOptions, Tape, Tensor};
use nn::{
    AvgPool2d, BatchNorm2d, Context, Conv2d, Dropout, Flatten, LeakyReLU, Linear, LogSoftmax,
    MaxPool2d, Module, ReLU, Sequential, Sigmoid, Softmax, StateKind, Tanh,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn linear_gradients((input, out, bias, seed) in linear_case()) {
        let inp = *input.shape().last().unwrap();
        let weight = uniform(&[out, inp], -1.0, 1.0, seed);
        let b = bias.then(|| uniform(&[out], -1.0, 1.0, seed ^ 1));
        let mut layer = Linear::from_weights(weight, b).unwrap();
        let report = assert_layer(&mut layer, &input, seed)?;
        let expected: Vec<&str> = if bias { vec!["weight", "bias"] } else { vec!["weight"] };
        prop_assert_eq!(report.params, expected);
        prop_assert_eq!(report.compared, input.numel() + out * inp + if bias { out } else { 0 });
    }

    #[test]
    fn conv2d_gradients(case in conv_case()) {
        let mut layer = Conv2d::<f64>::new(
            case.in_channels,
            case.out_channels,
            case.kernel,
            case.options,
            case.bias,
            &mut rng(case.seed),
        )
        .unwrap();
        let report = assert_layer(&mut layer, &case.input, case.seed)?;
        let expected: Vec<&str> = if case.bias { vec!["weight", "bias"] } else { vec!["weight"] };
        prop_assert_eq!(report.params, expected);
    }

    #[test]
    fn relu_gradients(input in shape(4, 4).prop_flat_map(|s| {
        tensor_away_from(s, -2.0..2.0, vec![0.0], 1e-3)
    })) {
        let report = assert_layer(&mut ReLU, &input, 1)?;
        prop_assert!(report.params.is_empty());
    }

    #[test]
    fn leaky_relu_gradients(
        input in shape(4, 4).prop_flat_map(|s| tensor_away_from(s, -2.0..2.0, vec![0.0], 1e-3)),
        negative_slope in 0.0..0.5f64,
    ) {
        assert_layer(&mut LeakyReLU { negative_slope }, &input, 2)?;
    }

    #[test]
    fn sigmoid_and_tanh_gradients(
        input in shape(4, 4).prop_flat_map(|s| tensor_of_shape(s, -3.0..3.0)),
    ) {
        assert_layer(&mut Sigmoid, &input, 3)?;
        assert_layer(&mut Tanh, &input, 4)?;
    }

    #[test]
    fn softmax_and_log_softmax_gradients(
        (input, dim) in shape_and_dim(4, 4)
            .prop_flat_map(|(s, dim)| (tensor_of_shape(s, -3.0..3.0), Just(dim))),
        seed in any::<u64>(),
    ) {
        assert_layer(&mut Softmax { dim }, &input, seed)?;
        assert_layer(&mut LogSoftmax { dim }, &input, seed)?;
    }

    #[test]
    fn max_pool2d_gradients(
        (opts, input) in pool_case()
            .prop_flat_map(|(opts, s)| (Just(opts), distinct_tensor(s, 4.0))),
        seed in any::<u64>(),
    ) {
        assert_layer(&mut MaxPool2d::new(opts).unwrap(), &input, seed)?;
    }

    #[test]
    fn avg_pool2d_gradients(
        (opts, input) in pool_case()
            .prop_flat_map(|(opts, s)| (Just(opts), tensor_of_shape(s, -2.0..2.0))),
        seed in any::<u64>(),
    ) {
        assert_layer(&mut AvgPool2d::new(opts).unwrap(), &input, seed)?;
    }

    #[test]
    fn flatten_gradients_and_values(
        (input, start, end, negative_end) in shape(5, 3).prop_flat_map(|s| {
            let rank = s.len();
            (0..rank).prop_flat_map(move |start| {
                (tensor_of_shape(s.clone(), -2.0..2.0), Just(start), start..rank, any::<bool>())
            })
        }),
    ) {
        let rank = input.rank();
        let end_dim = if negative_end { end as isize - rank as isize } else { end as isize };
        let mut layer = Flatten { start_dim: start, end_dim };
        let s = input.shape();
        let expected: Vec<usize> = [
            &s[..start],
            &[s[start..=end].iter().product()],
            &s[end + 1..],
        ]
        .concat();
        prop_assert_eq!(Module::<f64>::output_shape(&layer, s).unwrap(), expected);
        // CHW order: the elements are unchanged, only the shape is.
        let tape = Tape::new();
        let y = layer.forward(tape.constant(input.clone()), &mut Context::inference(&tape));
        prop_assert_eq!(y.value().to_vec(), input.to_vec());
        assert_layer(&mut layer, &input, 5)?;
    }

    #[test]
    fn batchnorm2d_training_gradients(
        input in batchnorm_input(),
        affine in any::<bool>(),
        seed in any::<u64>(),
    ) {
        prop_assume!(min_channel_variance(&input) > 0.01);
        let c = input.shape()[1];
        let mut layer = BatchNorm2d::<f64>::new(c, 1e-5, 0.1, affine).unwrap();
        layer.set_training(true);
        if affine {
            set_state(&mut layer, "weight", &uniform(&[c], -2.0, 2.0, seed));
            set_state(&mut layer, "bias", &uniform(&[c], -1.0, 1.0, seed ^ 1));
        }
        let report = assert_layer(&mut layer, &input, seed)?;
        let expected: Vec<&str> = if affine { vec!["weight", "bias"] } else { vec![] };
        prop_assert_eq!(report.params, expected);
    }

    #[test]
    fn batchnorm2d_eval_gradients(
        input in (1..=2usize, 1..=3usize, 1..=3usize, 1..=3usize)
            .prop_flat_map(|(n, c, h, w)| tensor_of_shape(vec![n, c, h, w], -2.0..2.0)),
        seed in any::<u64>(),
    ) {
        let c = input.shape()[1];
        let mut layer = BatchNorm2d::<f64>::new(c, 1e-5, 0.1, true).unwrap();
        set_state(&mut layer, "weight", &uniform(&[c], -2.0, 2.0, seed));
        set_state(&mut layer, "bias", &uniform(&[c], -1.0, 1.0, seed ^ 1));
        let mean = uniform(&[c], -1.0, 1.0, seed ^ 2);
        let var = uniform(&[c], 0.2, 2.0, seed ^ 3);
        set_state(&mut layer, "running_mean", &mean);
        set_state(&mut layer, "running_var", &var);
        let report = assert_layer(&mut layer, &input, seed)?;
        prop_assert_eq!(report.params, vec!["weight", "bias"]);
        // Evaluation never moves the running statistics.
        let (m, v) = layer.running_stats();
        prop_assert_eq!(m, mean);
        prop_assert_eq!(v, var);
    }

    #[test]
    fn dropout_eval_is_the_identity(
        input in shape(4, 4).prop_flat_map(|s| tensor_of_shape(s, -2.0..2.0)),
        p in 0.0..0.95f64,
    ) {
        let mut layer = Dropout::new(p).unwrap();
        let tape = Tape::new();
        let y = Module::<f64>::forward(&layer, tape.constant(input.clone()), &mut Context::training(&tape, 3));
        prop_assert_eq!(y.value(), input.clone());
        assert_layer(&mut layer, &input, 6)?;
    }

    #[test]
    fn dropout_training_gradients_with_a_fixed_mask(
        input in shape(4, 5).prop_flat_map(|s| tensor_of_shape(s, -2.0..2.0)),
        p in 0.05..0.95f64,
    ) {
        let mut layer = Dropout::new(p).unwrap();
        Module::<f64>::set_training(&mut layer, true);
        // Each element is dropped or scaled by 1 / (1 - p).
        let tape = Tape::new();
        let y = layer.forward(tape.constant(input.clone()), &mut Context::training(&tape, CONTEXT_SEED));
        for (yi, xi) in y.value().data().iter().zip(input.data()) {
            prop_assert!(*yi == 0.0 || (yi - xi / (1.0 - p)).abs() <= 1e-12 * xi.abs().max(1.0));
        }
        assert_layer(&mut layer, &input, 7)?;
    }
}

/// conv2d(2,3,3,padding=1), batchnorm2d(3), relu, maxpool2d(2), flatten, linear(12,4), training.
fn small_cnn(seed: u64) -> Sequential<f64> {
    let mut r = rng(seed);
    let mut model = Sequential::new()
        .with(
            Conv2d::new(
                2,
                3,
                [3, 3],
                Conv2dOptions::default().padding(1),
                true,
                &mut r,
            )
            .unwrap(),
        )
        .with(BatchNorm2d::new(3, 1e-5, 0.1, true).unwrap())
        .with(ReLU)
        .with(MaxPool2d::new(Pool2dOptions::new(2)).unwrap())
        .with(Flatten::default())
        .with(Linear::new(12, 4, true, &mut r));
    model.set_training(true);
    // A non-trivial affine transform in the batch norm.
    set_state(&mut model, "1.weight", &uniform(&[3], 0.5, 2.0, seed ^ 1));
    set_state(&mut model, "1.bias", &uniform(&[3], -0.5, 0.5, seed ^ 2));
    model
}

/// Whether `x` (the input of a ReLU then 2x2 max pool) is at least `margin` from every kink: no
/// value near 0, and in each window the two largest positive values apart.
fn away_from_kinks(x: &Tensor<f64>, margin: f64) -> bool {
    if x.data().iter().any(|v| v.abs() < margin) {
        return false;
    }
    let s = x.shape();
    let (h, w) = (s[2], s[3]);
    (0..s[0] * s[1]).all(|plane| {
        (0..h / 2).all(|i| {
            (0..w / 2).all(|j| {
                let mut win: Vec<f64> = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .iter()
                    .map(|(a, b)| x.data()[plane * h * w + (2 * i + a) * w + 2 * j + b].max(0.0))
                    .collect();
                win.sort_by(|a, b| b.total_cmp(a));
                win[0] == 0.0 || win[0] - win[1] >= margin
            })
        })
    })
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn sequential_gradients_for_every_parameter_by_state_dict_name(
        input in tensor_of_shape(vec![2, 2, 4, 4], -2.0..2.0),
        seed in any::<u64>(),
    ) {
        let mut model = small_cnn(seed);
        // The ReLU's input (after conv and batch norm) must be away from its kinks.
        let tape = Tape::new();
        let mut cx = Context::training(&tape, CONTEXT_SEED);
        let pre = model.forward_range(tape.constant(input.clone()), &mut cx, 0..2).value();
        prop_assume!(away_from_kinks(&pre, 1e-4));

        let report = assert_layer(&mut model, &input, seed)?;
        let state_params: Vec<String> = model
            .state_dict()
            .into_iter()
            .filter(|(_, kind, _)| *kind == StateKind::Parameter)
            .map(|(name, _, _)| name)
            .collect();
        prop_assert_eq!(&report.params, &state_params);
        prop_assert_eq!(report.params, vec!["0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"]);
        prop_assert_eq!(report.compared, 64 + 54 + 3 + 3 + 3 + 48 + 4);
    }

    #[test]
    fn sequential_with_dropout_leaky_relu_avg_pool_and_log_softmax(
        input in tensor_away_from(vec![2, 1, 4, 4], -2.0..2.0, vec![0.0], 1e-3),
        seed in any::<u64>(),
    ) {
        let mut r = rng(seed);
        let mut model = Sequential::new()
            .with(LeakyReLU { negative_slope: 0.2 })
            .with(Conv2d::new(1, 2, [2, 2], Conv2dOptions::default().stride(2), false, &mut r).unwrap())
            .with(Tanh)
            .with(AvgPool2d::new(Pool2dOptions::new(2).stride(1)).unwrap())
            .with(Flatten::default())
            .with(Dropout::new(0.3).unwrap())
            .with(Linear::new(2, 3, true, &mut r))
            .with(LogSoftmax { dim: 1 });
        model.set_training(true);
        let report = assert_layer(&mut model, &input, seed)?;
        prop_assert_eq!(report.params, vec!["1.weight", "6.weight", "6.bias"]);
    }
}

// ---------------------------------------------------------------------------------------------
// The checker checks: layers with a deliberately wrong backward, or state that is never bound,
// must be rejected, naming what is wrong.

/// `y = x * w` (w broadcast over the last axis), whose backward is wrong for `w` (`wrong_w`) or
/// for `x` (otherwise): off by a factor 2.
struct WrongScaleOp {
    wrong_w: bool,
}

impl autograd::CustomOp<f64> for WrongScaleOp {
    fn name(&self) -> &str {
        "wrong_scale"
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        let (x, w) = (inputs[0], inputs[1]);
        let n = w.numel();
        Tensor::from_fn(x.shape(), |i| x.data()[i] * w.data()[i % n])
    }
    fn backward(
        &self,
        inputs: &[&Tensor<f64>],
        _output: &Tensor<f64>,
        dy: &Tensor<f64>,
    ) -> Vec<Option<Tensor<f64>>> {
        let (x, w) = (inputs[0], inputs[1]);
        let n = w.numel();
        let (fx, fw) = if self.wrong_w { (1.0, 2.0) } else { (2.0, 1.0) };
        let dx = Tensor::from_fn(x.shape(), |i| fx * dy.data()[i] * w.data()[i % n]);
        let mut dw = vec![0.0; n];
        for i in 0..x.numel() {
            dw[i % n] += fw * dy.data()[i] * x.data()[i];
        }
        vec![Some(dx), Some(Tensor::from_vec(dw, w.shape()).unwrap())]
    }
}

/// A layer around [`WrongScaleOp`]; with `bind_extra`, a second parameter is stored but never
/// bound.
struct WrongScale {
    weight: Tensor<f64>,
    extra: Tensor<f64>,
    wrong_w: bool,
    bind_extra: bool,
}

impl std::fmt::Display for WrongScale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("wrong_scale")
    }
}

impl Module<f64> for WrongScale {
    fn forward<'t>(
        &self,
        x: autograd::Var<'t, f64>,
        cx: &mut Context<'t, f64>,
    ) -> autograd::Var<'t, f64> {
        let w = cx.param("weight", &self.weight);
        let y = cx.tape().custom(
            WrongScaleOp {
                wrong_w: self.wrong_w,
            },
            &[x, w],
        );
        if self.bind_extra {
            y + cx.param("extra", &self.extra)
        } else {
            y
        }
    }
    fn output_shape(&self, input: &[usize]) -> nn::Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<f64>)) {
        f("weight", StateKind::Parameter, &self.weight);
        f("extra", StateKind::Parameter, &self.extra);
    }
    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<f64>)) {
        f("weight", StateKind::Parameter, &mut self.weight);
        f("extra", StateKind::Parameter, &mut self.extra);
    }
}

fn wrong_scale(wrong_w: bool, bind_extra: bool) -> WrongScale {
    WrongScale {
        weight: uniform(&[3], 0.5, 1.5, 1),
        extra: uniform(&[3], -1.0, 1.0, 2),
        wrong_w,
        bind_extra,
    }
}

#[test]
fn check_layer_rejects_a_wrong_parameter_gradient() {
    let x = uniform(&[2, 3], -1.0, 1.0, 3);
    let err = check_layer(&mut wrong_scale(true, true), &x, 0).unwrap_err();
    assert!(err.contains("d loss / d weight["), "{err}");
}

#[test]
fn check_layer_rejects_a_wrong_input_gradient() {
    let x = uniform(&[2, 3], -1.0, 1.0, 3);
    let err = check_layer(&mut wrong_scale(false, true), &x, 0).unwrap_err();
    assert!(err.contains("d loss / d input["), "{err}");
}

#[test]
fn check_layer_rejects_a_parameter_that_is_never_bound() {
    let x = uniform(&[2, 3], -1.0, 1.0, 3);
    let err = check_layer(&mut wrong_scale(false, false), &x, 0).unwrap_err();
    assert!(
        err.contains(r#"bound parameters ["weight"] differ"#),
        "{err}"
    );
}

#[test]
fn check_layer_accepts_a_correct_layer_and_counts_every_entry() {
    // Linear with known weights: every entry of the input and both parameters compared.
    let w = uniform(&[2, 3], -1.0, 1.0, 4);
    let b = uniform(&[2], -1.0, 1.0, 5);
    let mut layer = Linear::from_weights(w, Some(b)).unwrap();
    let x = uniform(&[4, 3], -1.0, 1.0, 6);
    let report = check_layer(&mut layer, &x, 0).unwrap();
    assert_eq!(report.params, ["weight", "bias"]);
    assert_eq!(report.compared, 12 + 6 + 2);
}
