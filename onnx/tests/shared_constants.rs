//! One initializer read both as a graph value and as a constant: the dynamo exporter
//! deduplicates equal initializers (ConvNeXt's zero-initialized linear biases and its
//! LayerNorm biases become one tensor), so a `LayerNormalization` bias may be an initializer an
//! earlier `Add` already read. A constant stays a constant for every node; only a bias computed
//! at run time is refused.

mod common;

use std::path::Path;

use common::*;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Module};
use smoothgrad_onnx::import_model;
use smoothgrad_onnx::proto::{NodeProto, TensorProto};

const B: [f32; 4] = [0.1, -0.2, 0.3, 0.4];
const S: [f32; 4] = [1.5, 0.5, 1.0, 2.0];

/// `LayerNormalization` over the last axis of `h` (rows of 4), scale `S`, bias `B`, eps 1e-5.
fn layer_norm(h: &[f64]) -> Vec<f64> {
    h.chunks(4)
        .flat_map(|r| {
            let mean = r.iter().sum::<f64>() / 4.0;
            let var = r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
            let sd = (var + f64::from(1e-5f32)).sqrt();
            r.iter()
                .zip(S.iter().zip(B))
                .map(move |(v, (&s, b))| (v - mean) / sd * f64::from(s) + f64::from(b))
        })
        .collect()
}

/// The model of `nodes` and `init` imported in `f64` and run on [`input`] as a batch of 2.
fn run(nodes: Vec<NodeProto>, init: Vec<TensorProto>) -> Vec<f64> {
    let g = import_model::<f64>(&model(&[1, 2, 4], nodes, init), Path::new(".")).unwrap();
    let x = input();
    let tape = Tape::new();
    let y = g.forward(
        tape.var(Tensor::from_vec(x, &[2, 2, 4]).unwrap()),
        &mut Context::inference(&tape),
    );
    assert_eq!(y.shape(), vec![2, 2, 4]);
    y.value().data().to_vec()
}

/// `sin(0.37 i)`, `i = 0..16`: `[2, 2, 4]`.
fn input() -> Vec<f64> {
    (0..16).map(|i| (i as f64 * 0.37).sin()).collect()
}

/// `y = LayerNormalization(x + b, s, b)`: `b` is first a runtime operand (a parameter node),
/// then the normalization's bias.
#[test]
fn layer_norm_bias_shared_with_an_add_operand() {
    let nodes = vec![
        node("Add", "add", &["x", "b"], &["h"], vec![]),
        node(
            "LayerNormalization",
            "ln",
            &["h", "s", "b"],
            &["y"],
            vec![int_attr("axis", -1)],
        ),
    ];
    let init = vec![floats("b", &[4], B.to_vec()), floats("s", &[4], S.to_vec())];
    let h: Vec<f64> = input()
        .iter()
        .enumerate()
        .map(|(i, v)| v + f64::from(B[i % 4]))
        .collect();
    let got = run(nodes, init);
    let want = layer_norm(&h);
    let d = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(d < 1e-12, "off by {d:e}: {got:?} vs {want:?}");
}

/// The scale and bias reached through `Identity`, `Cast` and a `Constant` node fold to
/// constants.
#[test]
fn layer_norm_scale_and_bias_through_identity_cast_and_constant() {
    let nodes = vec![
        node("Identity", "id", &["s0"], &["s"], vec![]),
        node(
            "Constant",
            "c",
            &[],
            &["b0"],
            vec![tensor_attr("value", floats("", &[4], B.to_vec()))],
        ),
        node("Cast", "cast", &["b0"], &["b"], vec![int_attr("to", 1)]),
        node(
            "LayerNormalization",
            "ln",
            &["x", "s", "b"],
            &["y"],
            vec![int_attr("axis", -1)],
        ),
    ];
    let got = run(nodes, vec![floats("s0", &[4], S.to_vec())]);
    let want = layer_norm(&input());
    let d = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(d < 1e-12, "off by {d:e}");
}

/// A bias computed from the input is refused, naming the input.
#[test]
fn layer_norm_bias_computed_at_run_time_is_refused() {
    let nodes = vec![
        node("Relu", "relu", &["x"], &["r"], vec![]),
        node(
            "LayerNormalization",
            "ln",
            &["x", "s", "r"],
            &["y"],
            vec![int_attr("axis", -1)],
        ),
    ];
    let m = model(&[1, 2, 4], nodes, vec![floats("s", &[4], S.to_vec())]);
    let Err(e) = import_model::<f64>(&m, Path::new(".")) else {
        panic!("a runtime bias is accepted");
    };
    let e = e.to_string();
    assert!(
        e.contains("input 2 (\"r\") must be a constant"),
        "unexpected error: {e}"
    );
}
