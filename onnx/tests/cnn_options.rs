//! Import settings on the CNN fixtures of `tests/fixtures/make_cnn_fixtures.py`: a symbolic
//! height and width taken from the given input shape (and fixed dimensions checked against
//! it), weights held in `Constant` nodes instead of initializers, and the one error listing
//! every unsupported op of a real export before anything runs.

use std::path::{Path, PathBuf};

use smoothgrad_autograd::io::read_file;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Graph, Module};
use smoothgrad_onnx::proto::{attribute_proto::AttributeType, AttributeProto, NodeProto};
use smoothgrad_onnx::{import_model, import_with, read_model, ImportOptions, DEFAULT_MAX_BYTES};

fn path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cnn")
        .join(file)
}

fn relative(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

fn logits(m: &Graph<f64>, x: &Tensor<f64>) -> Tensor<f64> {
    let tape = Tape::new();
    m.forward(tape.var(x.clone()), &mut Context::inference(&tape))
        .value()
        .clone()
}

fn options(shape: &[usize]) -> ImportOptions {
    ImportOptions {
        input_shape: Some(shape.to_vec()),
        max_bytes: DEFAULT_MAX_BYTES,
    }
}

/// `resnet50_ts_hw.onnx` has batch, height and width symbolic: imported for the given
/// 16x16 input it matches the PyTorch reference, and a 24x24 input runs as well.
#[test]
fn symbolic_height_and_width_come_from_the_input() {
    let io = read_file(path("resnet50_ref.safetensors")).unwrap();
    let input: Tensor<f64> = io.get("input").unwrap();
    let want: Tensor<f64> = io.get("logits").unwrap();
    let m = import_with::<f64>(path("resnet50_ts_hw.onnx"), &options(input.shape())).unwrap();
    let e = relative(logits(&m, &input).data(), want.data());
    assert!(e <= 1e-9, "logits off by {e:e}");
    let m = import_with::<f64>(path("resnet50_ts_hw.onnx"), &options(&[3, 3, 24, 24])).unwrap();
    let x = Tensor::from_vec(
        (0..3 * 3 * 24 * 24)
            .map(|i| (i as f64 * 0.37).sin())
            .collect(),
        &[3, 3, 24, 24],
    )
    .unwrap();
    assert_eq!(logits(&m, &x).shape(), &[3, 10]);
}

/// A given shape that contradicts a fixed dimension (or the rank) is one clear error; the
/// batch may differ from a fixed batch of 1.
#[test]
fn a_given_shape_must_fit_the_fixed_dimensions() {
    let e = import_with::<f64>(path("resnet50_ts.onnx"), &options(&[4, 3, 24, 24]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "onnx: invalid graph: the model's input \"input.1\" has shape [1, 3, 16, 16], but the given input is [4, 3, 24, 24] (axis 2 differs)"
    );
    let e = import_with::<f64>(path("resnet50_ts.onnx"), &options(&[3, 16, 16]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("has 3 axes"), "{e}");
    assert!(import_with::<f64>(path("resnet50_ts.onnx"), &options(&[4, 3, 16, 16])).is_ok());
}

/// Every initializer moved into a `Constant` node (as some exporters write weights) gives the
/// same model.
#[test]
fn weights_in_constant_nodes() {
    let file = path("mobilenet_v2_dy.onnx");
    let mut model = read_model(&file, DEFAULT_MAX_BYTES).unwrap();
    let g = model.graph.as_mut().unwrap();
    let inits = std::mem::take(&mut g.initializer);
    assert!(inits.len() > 10);
    let mut nodes: Vec<NodeProto> = inits
        .into_iter()
        .map(|t| NodeProto {
            op_type: Some("Constant".into()),
            name: Some(format!("const_{}", t.name())),
            output: vec![t.name().to_string()],
            attribute: vec![AttributeProto {
                name: Some("value".into()),
                r#type: Some(AttributeType::Tensor as i32),
                t: Some(t),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    g.input
        .retain(|i| !nodes.iter().any(|n| n.output[0] == i.name()));
    nodes.append(&mut g.node);
    g.node = nodes;
    let m = import_model::<f64>(&model, Path::new(".")).unwrap();
    let io = read_file(path("mobilenet_v2_ref.safetensors")).unwrap();
    let input: Tensor<f64> = io.get("input").unwrap();
    let want: Tensor<f64> = io.get("logits").unwrap();
    let e = relative(logits(&m, &input).data(), want.data());
    assert!(e <= 1e-9, "logits off by {e:e}");
}

/// Two ops of a real dynamo export renamed to unsupported ones: one error lists both, with
/// their node names and the model's opset, before any conversion.
#[test]
fn unsupported_ops_of_a_real_export_are_listed_together() {
    let mut model = read_model(&path("resnet50_dy.onnx"), DEFAULT_MAX_BYTES).unwrap();
    let g = model.graph.as_mut().unwrap();
    let mut renamed = Vec::new();
    for (op, new) in [("ReduceMean", "ReduceL2"), ("MaxPool", "LpPool")] {
        let n = g.node.iter_mut().find(|n| n.op_type() == op).unwrap();
        n.op_type = Some(new.into());
        renamed.push(format!("{new} (node {:?})", n.name()));
    }
    renamed.sort_by_key(|r| r.starts_with("ReduceL2"));
    let e = import_model::<f64>(&model, Path::new("."))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "onnx: 2 unsupported op(s) at opset 20: {}",
            renamed.join(", ")
        )
    );
}

/// A fixed-batch export imported for an input of another batch (as `explain` imports it, with
/// the input's shape) keeps its example batch of 1, which its constant shapes were written for
/// (a flatten's `[1, 512]`, ShuffleNet's channel shuffle), and matches the reference on the
/// reference's batch of 2 for every family with such a reference (alexnet's has one image), with
/// both exporters.
#[test]
fn fixed_batch_exports_imported_for_a_larger_batch_match() {
    let families = [
        "resnet50",
        "resnext50_32x4d",
        "wide_resnet50_2",
        "vgg11_bn",
        "squeezenet1_1",
        "densenet121",
        "googlenet",
        "mobilenet_v2",
        "mobilenet_v3_small",
        "mobilenet_v3_large",
        "mnasnet0_5",
        "shufflenet_v2_x0_5",
        "efficientnet_b0",
        "regnet_y_400mf",
    ];
    for family in families {
        let io = read_file(path(&format!("{family}_ref.safetensors"))).unwrap();
        let input: Tensor<f64> = io.get("input").unwrap();
        let want: Tensor<f64> = io.get("logits").unwrap();
        assert_eq!(input.shape()[0], 2);
        for exporter in ["ts", "dy"] {
            let file = path(&format!("{family}_{exporter}.onnx"));
            let m = import_with::<f64>(&file, &options(input.shape()))
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let e = relative(logits(&m, &input).data(), want.data());
            assert!(e <= 1e-9, "{}: logits off by {e:e}", file.display());
        }
    }
}
