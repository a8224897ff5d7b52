//! Comparing an imported model with a framework's reference outputs and input gradients.
#![allow(dead_code)]

use std::path::PathBuf;

use smoothgrad::{Gradient, Method, Operator, Targets};
use smoothgrad_autograd::io::read_file;
use smoothgrad_autograd::{Scalar, Tape, Tensor};
use smoothgrad_nn::{Context, Graph, Module};

/// `onnx/tests/fixtures/NAME`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `max |a - b| / max |b|`.
pub fn relative(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

/// A reference: the input batch, the output (`out_key`), the targets and the input gradient of
/// `sum_i out[i, target[i]]`.
pub struct Reference<T: Scalar> {
    /// The input batch.
    pub input: Tensor<T>,
    /// The model's output on it.
    pub output: Tensor<T>,
    /// One target class per sample.
    pub targets: Vec<usize>,
    /// The input gradient of the targets' outputs.
    pub grad: Tensor<T>,
}

/// The reference in fixture `file`, its output under `out_key`.
pub fn load<T: Scalar>(file: &str, out_key: &str) -> Reference<T> {
    let io = read_file(fixture(file)).unwrap();
    Reference {
        input: io.get("input").unwrap(),
        output: io.get(out_key).unwrap(),
        targets: io
            .get_i64("target")
            .unwrap()
            .0
            .iter()
            .map(|&t| t as usize)
            .collect(),
        grad: io.get("grad").unwrap(),
    }
}

/// `m` on `x`.
pub fn run<T: Scalar>(m: &Graph<T>, x: &Tensor<T>) -> Tensor<T> {
    let tape = Tape::new();
    m.forward(tape.var(x.clone()), &mut Context::inference(&tape))
        .value()
}

fn f64s<T: Scalar>(t: &Tensor<T>) -> Vec<f64> {
    t.data().iter().map(|v| v.to_f64().unwrap()).collect()
}

/// Imports `file` and checks its output and input gradient on the reference batch to `tol` of
/// their max; returns the output.
pub fn check<T: Scalar>(r: &Reference<T>, file: &str, tol: f64) -> Tensor<T> {
    let m = smoothgrad_onnx::import::<T>(fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let out = run(&m, &r.input);
    assert_eq!(out.shape(), r.output.shape(), "{file}");
    let e = relative(&f64s(&out), &f64s(&r.output));
    assert!(e <= tol, "{file}: output off by {e:e} of its max");
    let g = Gradient
        .explain(
            &m,
            &r.input,
            &Targets::Classes(r.targets.clone()),
            &Operator::Logit,
            1,
        )
        .unwrap();
    let eg = relative(&f64s(&g.values), &f64s(&r.grad));
    eprintln!("{file}: output off by {e:.1e}, input gradient by {eg:.1e} of their max");
    assert!(eg <= tol, "{file}: input gradient off by {eg:e} of its max");
    out
}

/// Sample `i` of batch `x`, as a batch of one.
pub fn sample<T: Scalar>(x: &Tensor<T>, i: usize) -> Tensor<T> {
    let mut shape = x.shape().to_vec();
    let n = x.data().len() / shape[0];
    shape[0] = 1;
    Tensor::from_vec(x.data()[i * n..(i + 1) * n].to_vec(), &shape).unwrap()
}
