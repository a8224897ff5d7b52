//! The layers' behaviour against PyTorch's, on hand-computed cases: output shapes (PyTorch's
//! formulas, and forward agreeing with `output_shape`), shape errors, `state_dict` names and order,
//! default initialisation, batch normalization's statistics, dropout, the canonical spec printed by
//! `Display`, and what the two kinds of `Context` differentiate.

mod batchnorm;
mod contexts;
mod display;
mod dropout;
mod init;
mod shape_errors;
mod shapes;
mod state_dict;
mod values;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::{Conv2dOptions, Pool2dOptions, Tape, Tensor};
use smoothgrad_nn::{
    AvgPool2d, BatchNorm2d, Context, Conv2d, Dropout, Flatten, LeakyReLU, Linear, LogSoftmax,
    MaxPool2d, Module, NnError, ReLU, Sequential, Sigmoid, Softmax, StateKind, Tanh,
};

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(data, shape).unwrap()
}

fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol,
            "element {i}: {a} vs expected {e}\n  actual {actual:?}\n  expected {expected:?}"
        );
    }
}

/// The output of `layer` on `x`, in an inference context.
fn run(layer: &dyn Module<f64>, x: &Tensor<f64>) -> Tensor<f64> {
    let tape = Tape::new();
    let mut cx = Context::inference(&tape);
    layer.forward(tape.constant(x.clone()), &mut cx).value()
}

/// Checks `output_shape(input) == expected` and that forward really produces that shape.
fn assert_shape(layer: &dyn Module<f64>, input: &[usize], expected: &[usize]) {
    assert_eq!(
        layer.output_shape(input).unwrap(),
        expected,
        "{layer} on {input:?}"
    );
    let y = run(layer, &Tensor::from_fn(input, |i| (i % 7) as f64 - 3.0));
    assert_eq!(y.shape(), expected, "{layer}: forward on {input:?}");
}

/// Checks that `output_shape(input)` is a shape error naming `layer` (by its spec) and the input
/// shape, and whose message contains each of `needles`; returns the `Display` text.
fn assert_shape_error(layer: &dyn Module<f64>, input: &[usize], needles: &[&str]) -> String {
    let err = layer
        .output_shape(input)
        .expect_err(&format!("{layer} should reject {input:?}"));
    let NnError::Shape {
        layer: name,
        message,
    } = &err
    else {
        panic!("{layer} on {input:?}: expected NnError::Shape, got {err:?}");
    };
    assert_eq!(name, &layer.to_string());
    let text = err.to_string();
    assert_eq!(text, format!("layer {name}: {message}"));
    assert!(text.contains(&format!("{input:?}")), "{text}");
    for needle in needles {
        assert!(text.contains(needle), "{text:?} should contain {needle:?}");
    }
    text
}

/// PyTorch's `Conv2d` output size: `floor((in + 2 p - d (k - 1) - 1) / s) + 1`, `None` below 1.
fn torch_conv_out(size: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    let num = (size + 2 * p) as i64 - (d * (k - 1)) as i64 - 1;
    (num >= 0).then(|| num as usize / s + 1)
}

/// PyTorch's `MaxPool2d` / `AvgPool2d` output size (`ceil_mode=False`, no dilation).
fn torch_pool_out(size: usize, k: usize, s: usize, p: usize) -> Option<usize> {
    torch_conv_out(size, k, s, p, 1)
}

fn conv(
    cin: usize,
    cout: usize,
    k: [usize; 2],
    opts: Conv2dOptions,
    bias: bool,
    seed: u64,
) -> Conv2d<f64> {
    Conv2d::new(cin, cout, k, opts, bias, &mut rng(seed)).unwrap()
}

fn maxpool(opts: Pool2dOptions) -> MaxPool2d {
    MaxPool2d::new(opts).unwrap()
}

fn avgpool(opts: Pool2dOptions) -> AvgPool2d {
    AvgPool2d::new(opts).unwrap()
}

/// conv2d(1,4,3,padding=1), relu, batchnorm2d(4), flatten, linear(64,3), for 4x4 inputs.
fn pytorch_order_model() -> Sequential<f64> {
    let mut r = rng(0);
    Sequential::new()
        .with(
            Conv2d::new(
                1,
                4,
                [3, 3],
                Conv2dOptions::default().padding(1),
                true,
                &mut r,
            )
            .unwrap(),
        )
        .with(ReLU)
        .with(BatchNorm2d::new(4, 1e-5, 0.1, true).unwrap())
        .with(Flatten::default())
        .with(Linear::new(64, 3, true, &mut r))
}
