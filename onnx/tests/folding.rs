//! Shape arithmetic folded at import time, and a batch-1 export running on other batches.

mod common;

use std::path::Path;

use common::*;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Module};
use smoothgrad_onnx::import_model;

/// `y = relu6(reshape(x, [shape(x)[0], -1]))`, with the target computed by
/// Shape -> Gather -> Unsqueeze -> Concat, as the TorchScript exporter writes `x.view(x.size(0), -1)`.
#[test]
fn reshape_target_from_shape_chain_keeps_the_batch_symbolic() {
    let nodes = vec![
        node("Shape", "shape", &["x"], &["s"], vec![]),
        node(
            "Constant",
            "zero",
            &[],
            &["i0"],
            vec![tensor_attr("value", int64s("", &[], vec![0]))],
        ),
        node("Gather", "gather", &["s", "i0"], &["b"], vec![]),
        node(
            "Constant",
            "axes",
            &[],
            &["ax"],
            vec![tensor_attr("value", int64s("", &[1], vec![0]))],
        ),
        node("Unsqueeze", "unsq", &["b", "ax"], &["b1"], vec![]),
        node(
            "Concat",
            "cat",
            &["b1", "minus1"],
            &["target"],
            vec![ints("dummy", &[])],
        ),
        node("Reshape", "reshape", &["x", "target"], &["r"], vec![]),
        node("Clip", "clip", &["r", "lo", "hi"], &["y"], vec![]),
    ];
    let init = vec![
        int64s("minus1", &[1], vec![-1]),
        floats("lo", &[], vec![0.0]),
        floats("hi", &[], vec![6.0]),
    ];
    let m = model(&[1, 2, 3], nodes, init);
    let g = import_model::<f64>(&m, Path::new(".")).unwrap();
    let x: Vec<f64> = (0..18).map(|i| i as f64 - 4.0).collect();
    let tape = Tape::new();
    let y = g.forward(
        tape.var(Tensor::from_vec(x.clone(), &[3, 2, 3]).unwrap()),
        &mut Context::inference(&tape),
    );
    assert_eq!(y.shape(), vec![3, 6]);
    let want: Vec<f64> = x.iter().map(|v| v.clamp(0.0, 6.0)).collect();
    assert_eq!(y.value().data(), &want[..]);
}

/// A Gemm whose initializers are `fc.weight`/`fc.bias` keeps those names as its state keys.
#[test]
fn initializer_names_become_state_names() {
    let nodes = vec![node(
        "Gemm",
        "/fc/Gemm",
        &["x", "fc.weight", "fc.bias"],
        &["y"],
        vec![common::int_attr("transB", 1)],
    )];
    let init = vec![
        floats("fc.weight", &[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        floats("fc.bias", &[2], vec![0.5, -0.5]),
    ];
    let g = import_model::<f64>(&model(&[1, 3], nodes, init), Path::new(".")).unwrap();
    let names: Vec<String> = g.state_dict().into_iter().map(|(n, ..)| n).collect();
    assert_eq!(names, ["fc.weight", "fc.bias"]);
    let tape = Tape::new();
    let y = g.forward(
        tape.var(Tensor::from_vec(vec![1.0, 0.0, 1.0], &[1, 3]).unwrap()),
        &mut Context::inference(&tape),
    );
    assert_eq!(y.value().data(), &[4.5, 9.5]);
}
