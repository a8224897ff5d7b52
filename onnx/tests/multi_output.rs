//! Nodes with several outputs (`Split`): every output is recorded, and an output the
//! conversion does not give is an error only where it is read.

mod common;

use std::path::Path;

use common::*;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Module};
use smoothgrad_onnx::import_model;

fn run(
    m: &smoothgrad_onnx::proto::ModelProto,
    x: Vec<f64>,
    dims: &[usize],
) -> (Vec<usize>, Vec<f64>) {
    let g = import_model::<f64>(m, Path::new(".")).unwrap();
    let tape = Tape::new();
    let y = g.forward(
        tape.var(Tensor::from_vec(x, dims).unwrap()),
        &mut Context::inference(&tape),
    );
    (y.shape(), y.value().data().to_vec())
}

/// `y = b - a` for `[a, b] = split(x, [1, 2], axis=1)` (opset 17: sizes as an input), run on a
/// batch of 2 although the model says batch 1.
#[test]
fn split_gives_every_output() {
    let nodes = vec![
        node(
            "Split",
            "split",
            &["x", "sizes"],
            &["a", "b"],
            vec![int_attr("axis", 1)],
        ),
        node("Slice", "noop", &["sizes", "s0", "s1"], &["unused"], vec![]),
        node("Sub", "sub", &["b", "a"], &["y"], vec![]),
    ];
    let init = vec![
        int64s("sizes", &[2], vec![1, 2]),
        int64s("s0", &[1], vec![0]),
        int64s("s1", &[1], vec![1]),
    ];
    let m = model(&[1, 3, 2], nodes, init);
    let x: Vec<f64> = (0..12).map(|i| (i * i) as f64).collect();
    let (shape, y) = run(&m, x.clone(), &[2, 3, 2]);
    assert_eq!(shape, vec![2, 2, 2]);
    let mut want = Vec::new();
    for n in 0..2 {
        for c in 1..3 {
            for w in 0..2 {
                want.push(x[n * 6 + c * 2 + w] - x[n * 6 + w]);
            }
        }
    }
    assert_eq!(y, want);
}

/// Equal parts when no sizes are given: `y = concat(c, a)` of a 3-way split of 6 channels.
#[test]
fn split_into_equal_parts() {
    let nodes = vec![
        node(
            "Split",
            "split",
            &["x"],
            &["a", "b", "c"],
            vec![int_attr("axis", 1)],
        ),
        node(
            "Concat",
            "cat",
            &["c", "a"],
            &["y"],
            vec![int_attr("axis", 1)],
        ),
    ];
    let m = model(&[1, 6], nodes, vec![]);
    let (shape, y) = run(&m, (0..6).map(f64::from).collect(), &[1, 6]);
    assert_eq!(shape, vec![1, 4]);
    assert_eq!(y, [4.0, 5.0, 0.0, 1.0]);
}

/// A MaxPool's second output (indices) read later is refused with the node named.
#[test]
fn an_unconverted_output_that_is_read_is_an_error() {
    let nodes = vec![
        node(
            "MaxPool",
            "pool",
            &["x"],
            &["p", "idx"],
            vec![ints("kernel_shape", &[2, 2])],
        ),
        node("Add", "add", &["p", "idx"], &["y"], vec![]),
    ];
    let m = model(&[1, 1, 4, 4], nodes, vec![]);
    let e = import_model::<f64>(&m, Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"pool\"") && e.contains("Indices"), "{e}");
}
