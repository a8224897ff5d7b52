//! `smoothgrad inspect` and `explain --output-node` on the committed ONNX fixtures
//! (`onnx/tests/fixtures/`, written by `make_onnx_fixtures.py`) and on models saved by this
//! project. Variants of a fixture (a softmax appended, an unsupported op) are written here from
//! the decoded fixture, so no Python runs.

mod common;

use std::path::{Path, PathBuf};

use prost::Message;
use smoothgrad_autograd::io;
use smoothgrad_onnx::proto::{ModelProto, NodeProto, ValueInfoProto};

use common::{run, s, smoothgrad, Scratch, SPEC};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("onnx/tests/fixtures")
        .join(name)
}

fn io_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("nn/tests/fixtures/torchvision/resnet18_io.safetensors")
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn node(name: &str, op: &str, input: &str, output: &str) -> NodeProto {
    NodeProto {
        name: Some(name.into()),
        op_type: Some(op.into()),
        input: vec![input.into()],
        output: vec![output.into()],
        ..Default::default()
    }
}

/// The resnet18 fixture with `extra` nodes appended after its output (each reading the
/// previous output); the last one's output becomes the graph's output.
fn extended(dir: &Scratch, file: &str, extra: &[(&str, &str)]) -> PathBuf {
    let mut m: ModelProto =
        smoothgrad_onnx::read_model(&fixture("resnet18.onnx"), 1 << 30).unwrap();
    let g = m.graph.as_mut().unwrap();
    let mut last = g.output[0].name().to_string();
    for (i, (name, op)) in extra.iter().enumerate() {
        let out = format!("extra_{i}");
        g.node.push(node(name, op, &last, &out));
        last = out;
    }
    let ty = g.output[0].r#type.clone();
    g.output = vec![ValueInfoProto {
        name: Some(last),
        r#type: ty,
        ..Default::default()
    }];
    let path = dir.path(file);
    std::fs::write(&path, m.encode_to_vec()).unwrap();
    path
}

#[test]
fn inspect_prints_shapes_parameters_ops_and_the_node_explained() {
    let out = smoothgrad(&["inspect", s(&fixture("resnet18.onnx"))]);
    let text = stdout(&out);
    for line in [
        "input: input.1: FLOAT [1, 3, 32, 32]\n",
        "output: 191: FLOAT [1, 10]\n",
        // The float initializers: 19 convolutions with folded BatchNorm, and fc.
        "parameters: 176762\n",
        "nodes: 49 (Conv 20, Relu 17, Add 8, Flatten 1, Gemm 1, GlobalAveragePool 1, MaxPool 1)\n",
        "explained: node \"fc\" (the output, output [1, 10] for input [1, 3, 32, 32])\n",
        "unsupported: none\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    assert!(text.starts_with("model: "), "{text}");
    assert!(text.contains("(ONNX, written by pytorch"), "{text}");
    assert!(text.contains("opset ai.onnx 17)"), "{text}");
}

#[test]
fn symbolic_dimensions_print_by_name() {
    let out = smoothgrad(&[
        "inspect",
        s(&fixture("mobilenet_v3_small_f64_dynamic.onnx")),
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("input: input: DOUBLE [batch, 3, 32, 32]\n"),
        "{text}"
    );
    assert!(
        text.contains("output: logits: DOUBLE [batch, 10]\n"),
        "{text}"
    );
}

#[test]
fn unsupported_ops_are_listed_without_failing_the_print() {
    let dir = Scratch::new("unsupported");
    let path = extended(
        &dir,
        "topk.onnx",
        &[("my_erf", "Erf"), ("my_round", "Round")],
    );
    let out = smoothgrad(&["inspect", s(&path)]);
    let text = stdout(&out);
    assert!(
        text.contains(
            "unsupported: 2 node(s): \"my_erf\" (Erf, opset 17), \"my_round\" (Round, opset 17)\n"
        ),
        "{text}"
    );
    assert!(text.contains("Erf 1"), "{text}");
    assert!(
        text.contains("explained: unknown (the model has unsupported ops)\n"),
        "{text}"
    );
    assert!(text.contains("parameters: 176762\n"), "{text}");
}

#[test]
fn trailing_softmax_and_log_softmax_are_cut_and_named() {
    let dir = Scratch::new("softmax");
    let path = extended(
        &dir,
        "softmax.onnx",
        &[("probs", "Softmax"), ("logp", "LogSoftmax")],
    );
    let text = stdout(&smoothgrad(&["inspect", s(&path)]));
    assert!(
        text.contains(
            "explained: node \"fc\" (the logits, before the trailing 2 normalizer node(s), \
             output [1, 10] for input [1, 3, 32, 32])\n"
        ),
        "{text}"
    );
    // Explaining the model with the normalizers gives the plain model's gradient: PyTorch's.
    let io_path = io_file();
    let explain = |model: &Path, extra: &[&str], out: &str| {
        let out = dir.path(out);
        let mut args = vec![
            "explain",
            "--model",
            s(model),
            "--input",
            s(&io_path),
            "--method",
            "gradient",
            "--output",
            s(&out),
        ];
        args.extend_from_slice(extra);
        smoothgrad(&args);
        io::read_file(&out)
            .unwrap()
            .get::<f64>("attribution")
            .unwrap()
    };
    let cut = explain(&path, &[], "cut.safetensors");
    let expected = io::read_file(io_file())
        .unwrap()
        .get::<f64>("grad")
        .unwrap();
    let scale = expected.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let error = cut.max_abs_diff(&expected) / scale;
    assert!(error <= 1e-4, "off by {error:e} of the gradient's max");
    // --output-node names the same node: the same attribution, bit for bit.
    let named = explain(&path, &["--output-node", "fc"], "named.safetensors");
    assert_eq!(named, cut);
    // A hidden node with a [N, K] value: the flattened features, their channel 3.
    let hidden = explain(
        &path,
        &["--output-node", "/Flatten", "--target", "3"],
        "hidden.safetensors",
    );
    assert_ne!(hidden, cut);
    assert!(hidden.data().iter().any(|v| *v != 0.0));
}

#[test]
fn an_unknown_output_node_is_one_line_with_some_names_and_status_2() {
    let dir = Scratch::new("unknown_node");
    let out_file = dir.path("x.safetensors");
    let out = run(&[
        "explain",
        "--model",
        s(&fixture("resnet18.onnx")),
        "--input",
        s(&io_file()),
        "--output-node",
        "layer9",
        "--output",
        s(&out_file),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "--output-node: the graph has no node named \"layer9\" (its nodes: \"input\", "
        ),
        "{err}"
    );
    assert!(err.contains("... (") && err.contains(" in all)"), "{err}");
    assert!(!out_file.exists());
    // inspect checks the name the same way.
    let out = run(&[
        "inspect",
        s(&fixture("resnet18.onnx")),
        "--output-node",
        "layer9",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
}

#[test]
fn inspect_describes_a_saved_sequential_and_its_layers() {
    let dir = Scratch::new("sequential");
    let path = dir.path("model.safetensors");
    let spec = format!("{SPEC}, logsoftmax");
    let model = smoothgrad_nn::Sequential::<f32>::from_spec(&spec).unwrap();
    smoothgrad_nn::weights::save(&model, &path).unwrap();
    let text = stdout(&smoothgrad(&["inspect", s(&path)]));
    for line in [
        "(a Sequential saved by smoothgrad, 5 layers)\n",
        "input: not recorded in the file; the first layer is conv2d(3,4,3,padding=1)\n",
        // 4 * 3 * 9 + 4 and 256 * 3 + 3.
        "parameters: 883\n",
        "layers: conv2d 1, flatten 1, linear 1, logsoftmax 1, relu 1\n",
        "explained: layer \"3\" (the logits, before the trailing 1 normalizer layer(s))\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    let text = stdout(&smoothgrad(&["inspect", s(&path), "--output-node", "1"]));
    assert!(
        text.contains("explained: layer \"1\" (--output-node)\n"),
        "{text}"
    );
    let out = run(&["inspect", s(&path), "--output-node", "fc"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "the model has no layer named \"fc\" (its layers: \"0\", \"1\", \"2\", \"3\", \"4\")"
        ),
        "{err}"
    );
}
