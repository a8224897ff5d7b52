//! A class token expanded with the example batch before it joins the patches: a dynamic-batch
//! ViT export imported for a batch of 2 folds `Expand(token, [2, 1, d])` to two equal rows;
//! the graph repeats the one row over whatever batch it runs on.

mod common;

use std::path::Path;

use common::*;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Module};
use smoothgrad_onnx::import_model;

/// `y = Concat(axis 1)(Expand(token, shape), x)` for `x` of shape `[2, 2, 3]` (example batch 2).
fn model_with(shape: Vec<i64>) -> smoothgrad_onnx::proto::ModelProto {
    let nodes = vec![
        node("Expand", "expand", &["token", "shape"], &["t"], vec![]),
        node(
            "Concat",
            "cat",
            &["t", "x"],
            &["y"],
            vec![int_attr("axis", 1)],
        ),
    ];
    let init = vec![
        floats("token", &[1, 1, 3], vec![0.5, -1.5, 2.5]),
        int64s("shape", &[3], shape),
    ];
    model(&[2, 2, 3], nodes, init)
}

#[test]
fn token_expanded_with_the_example_batch_repeats_over_any_batch() {
    let g = import_model::<f64>(&model_with(vec![2, 1, 3]), Path::new(".")).unwrap();
    let x: Vec<f64> = (0..18).map(f64::from).collect();
    let tape = Tape::new();
    let y = g.forward(
        tape.var(Tensor::from_vec(x.clone(), &[3, 2, 3]).unwrap()),
        &mut Context::inference(&tape),
    );
    assert_eq!(y.shape(), vec![3, 3, 3]);
    let want: Vec<f64> = x
        .chunks(6)
        .flat_map(|s| [0.5, -1.5, 2.5].into_iter().chain(s.iter().copied()))
        .collect();
    assert_eq!(y.value().data(), &want[..]);
}

#[test]
fn unequal_rows_over_the_batch_are_refused() {
    let mut m = model_with(vec![2, 1, 3]);
    let g = m.graph.as_mut().unwrap();
    g.node.remove(0);
    g.node[0].input[0] = "rows".into();
    g.initializer.push(floats(
        "rows",
        &[2, 1, 3],
        vec![0.5, -1.5, 2.5, 0.5, -1.5, 9.0],
    ));
    let Err(e) = import_model::<f64>(&m, Path::new(".")) else {
        panic!("distinct rows accepted");
    };
    assert!(
        e.to_string().contains("a constant of shape [2, 1, 3]"),
        "{e}"
    );
}
