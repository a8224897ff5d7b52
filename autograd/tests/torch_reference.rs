//! The newer ops against PyTorch: values and input gradients from
//! `tests/fixtures/ops_fixture.safetensors`, written by `tests/fixtures/make_ops_fixture.py`
//! (torch 2.15, float64; run by hand). Every case is compared to 1e-12.
//!
//! For each case `NAME` the file holds `NAME.x`, `NAME.dy`, `NAME.y` (PyTorch's output) and
//! `NAME.dx` (PyTorch's gradient of `sum(y * dy)`); the options of each case are in the tables
//! below and must match the script's.

use safetensors::{Dtype, SafeTensors};
use smoothgrad_autograd::{Pool2dOptions, Tape, Tensor, Var};

const FIXTURE: &[u8] = include_bytes!("fixtures/ops_fixture.safetensors");

/// The float64 tensor `name` of the fixture.
fn load(st: &SafeTensors<'_>, name: &str) -> Tensor<f64> {
    let view = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(view.dtype(), Dtype::F64, "{name}");
    let data: Vec<f64> = view
        .data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
    Tensor::from_vec(data, view.shape()).expect("shape matches data")
}

/// Runs `f` on case `name`'s input and compares value and gradient with PyTorch's.
fn check(name: &str, f: impl for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>) {
    check_with(name, f, |_, _| None);
}

/// Like [`check`], with `tolerance(i, torch_dx)` overriding the gradient's tolerance at element
/// `i` (with a reason in the caller).
fn check_with(
    name: &str,
    f: impl for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>,
    tolerance: impl Fn(usize, f64) -> Option<f64>,
) {
    let st = SafeTensors::deserialize(FIXTURE).expect("a valid safetensors file");
    let (x, dy) = (
        load(&st, &format!("{name}.x")),
        load(&st, &format!("{name}.dy")),
    );
    let (y_ref, dx_ref) = (
        load(&st, &format!("{name}.y")),
        load(&st, &format!("{name}.dx")),
    );
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = f(xv);
    assert_eq!(y.shape(), y_ref.shape(), "{name}: output shape");
    let loss = (y * tape.constant(dy)).sum();
    let dx = tape.backward(loss).wrt(xv);
    for (i, (a, b)) in y.value().data().iter().zip(y_ref.data()).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
            "{name}: y[{i}] = {a}, PyTorch {b} (x = {:?})",
            x.data().get(i)
        );
    }
    for (i, (a, b)) in dx.data().iter().zip(dx_ref.data()).enumerate() {
        let tol = tolerance(i, *b).unwrap_or(1e-12);
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{name}: dx[{i}] = {a}, PyTorch {b} (x = {})",
            x.data()[i]
        );
    }
}

#[test]
fn unary_activations_match_pytorch_including_the_kinks() {
    check("erf", |v| v.erf());
    check("gelu", |v| v.gelu());
    check("gelu_tanh", |v| v.gelu_tanh());
    check("silu", |v| v.silu());
    check("hardswish", |v| v.hardswish());
    check("relu6", |v| v.relu6());
    // PyTorch's hardsigmoid backward multiplies by 1/6 rounded to f32 even in float64
    // (0.1666666716337204 = dy * 1/6 (1 + 3e-8)); ours uses 1/6 in the element type. Everything
    // else, including which points (the kinks -3 and 3) get 0, matches exactly.
    check_with("hardsigmoid", |v| v.hardsigmoid(), |_, _| Some(1e-7));
}

#[test]
fn max_and_avg_pooling_match_pytorch() {
    let o = Pool2dOptions::new;
    let cases: [(&str, Pool2dOptions, bool); 10] = [
        ("max_ceil", o(3).stride(2).padding(1).ceil_mode(true), false),
        ("max_ceil_k2", o(2).ceil_mode(true), false),
        (
            "max_rect",
            Pool2dOptions::new2([2, 3])
                .stride2([1, 2])
                .padding(1)
                .ceil_mode(true),
            false,
        ),
        (
            "avg_ceil_pad",
            o(3).stride(2).padding(1).ceil_mode(true),
            true,
        ),
        (
            "avg_ceil_nopad",
            o(3).stride(2)
                .padding(1)
                .ceil_mode(true)
                .count_include_pad(false),
            true,
        ),
        (
            "avg_floor_nopad",
            o(3).stride(1).padding(1).count_include_pad(false),
            true,
        ),
        ("avg_ceil_k2", o(2).padding(1).ceil_mode(true), true),
        ("max_asym", o(3).stride(2).pads([1, 0, 0, 1]), false),
        ("avg_asym_pad", o(3).stride(2).pads([1, 0, 0, 1]), true),
        (
            "avg_asym_nopad",
            Pool2dOptions::new2([3, 2])
                .stride2([2, 1])
                .pads([0, 1, 1, 0])
                .count_include_pad(false),
            true,
        ),
    ];
    for (name, opts, avg) in cases {
        if avg {
            check(name, |v| v.avg_pool2d(opts));
        } else {
            check(name, |v| v.max_pool2d(opts));
        }
    }
}

#[test]
fn adaptive_avg_pooling_matches_pytorch() {
    check("adaptive_7x5_3x2", |v| v.adaptive_avg_pool2d([3, 2]));
    check("adaptive_5x7_2x3", |v| v.adaptive_avg_pool2d([2, 3]));
    check("adaptive_3x2_5x4", |v| v.adaptive_avg_pool2d([5, 4]));
    check("adaptive_global", |v| v.adaptive_avg_pool2d([1, 1]));
}
