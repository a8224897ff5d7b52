//! Torchvision's ResNet-18 and MobileNetV3-small (reduced widths), exported to ONNX by
//! `tests/fixtures/make_onnx_fixtures.py` with a fixed batch of 1, imported and run on the
//! batch-2 reference input of `nn/tests/fixtures/torchvision/NAME_io.safetensors`: logits and
//! the input gradient of `sum_i logits[i, target[i]]` match PyTorch's float64 ones.

use std::path::PathBuf;

use smoothgrad::{Gradient, Method, Operator, Targets};
use smoothgrad_autograd::io::read_file;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Module};

fn here(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `max |a - b| / max |b|`.
fn relative(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

/// Imports `file` and compares with fixture `name`'s references to `tol` of their max.
fn check(name: &str, file: &str, tol: f64) {
    let io = read_file(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../nn/tests/fixtures/torchvision/{name}_io.safetensors"
    )))
    .unwrap();
    let input: Tensor<f64> = io.get("input").unwrap();
    let logits: Tensor<f64> = io.get("logits").unwrap();
    let grad: Tensor<f64> = io
        .get(if io.contains("grad_exact") {
            "grad_exact"
        } else {
            "grad"
        })
        .unwrap();
    let targets: Vec<usize> = io
        .get_i64("target")
        .unwrap()
        .0
        .iter()
        .map(|&t| t as usize)
        .collect();
    let m = smoothgrad_onnx::import::<f64>(here(file)).unwrap();
    let tape = Tape::new();
    let out = m.forward(tape.var(input.clone()), &mut Context::inference(&tape));
    assert_eq!(out.shape(), vec![2, 10], "{file}");
    let e = relative(out.value().data(), logits.data());
    assert!(e <= tol, "{file}: logits off by {e:e} of their max");
    let g = Gradient
        .explain(&m, &input, &Targets::Classes(targets), &Operator::Logit, 1)
        .unwrap();
    let e = relative(g.values.data(), grad.data());
    assert!(e <= tol, "{file}: input gradient off by {e:e} of its max");
}

#[test]
fn resnet18_f64_batch_1_export_runs_on_batch_2() {
    check("resnet18", "resnet18_f64.onnx", 1e-9);
}

#[test]
fn resnet18_f64_dynamic_batch() {
    check("resnet18", "resnet18_f64_dynamic.onnx", 1e-9);
}

#[test]
fn mobilenet_v3_small_f64() {
    check("mobilenet_v3_small", "mobilenet_v3_small_f64.onnx", 1e-9);
    check(
        "mobilenet_v3_small",
        "mobilenet_v3_small_f64_dynamic.onnx",
        1e-9,
    );
}

/// The float32 exports fold BatchNorm into the convolutions in float32, so they match to the
/// rounding of those folded weights only.
#[test]
fn float32_exports_match_to_their_rounding() {
    check("resnet18", "resnet18.onnx", 1e-5);
    check("mobilenet_v3_small", "mobilenet_v3_small.onnx", 1e-5);
}

/// The exporter's initializer names are the state keys where they name a layer's weights
/// (`fc.weight`); folded conv weights are named after their ONNX node.
#[test]
fn state_names_follow_the_initializers() {
    let m = smoothgrad_onnx::import::<f64>(here("resnet18.onnx")).unwrap();
    let names: Vec<String> = m.state_dict().into_iter().map(|(n, ..)| n).collect();
    assert!(
        names.contains(&"fc.weight".to_string()) && names.contains(&"fc.bias".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"/conv1/Conv.weight".to_string()),
        "{names:?}"
    );
}
