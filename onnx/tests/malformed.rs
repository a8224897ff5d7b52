//! Malformed and unsupported input: each is refused with one clear error before anything runs.

mod common;

use std::path::Path;

use common::*;
use prost::Message;
use smoothgrad_onnx::proto::StringStringEntryProto;
use smoothgrad_onnx::{decode_model, import, import_model, import_with_limit};

fn err(m: &smoothgrad_onnx::proto::ModelProto) -> String {
    match import_model::<f64>(m, Path::new(".")) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resnet18.onnx");
    let bytes = std::fs::read(path).unwrap();
    let e = decode_model(&bytes[..bytes.len() / 2])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("onnx: not a valid ONNX model (truncated or corrupt)"),
        "{e}"
    );
}

#[test]
fn size_limit() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/resnet18.onnx");
    let e = import_with_limit::<f64>(&path, 1000)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("more than the limit of 1000 bytes"), "{e}");
    assert!(import::<f64>("/nonexistent/m.onnx")
        .err()
        .unwrap()
        .to_string()
        .contains("cannot read"));
}

#[test]
fn dangling_input() {
    let m = model(
        &[1, 2],
        vec![node("Relu", "r", &["nowhere"], &["y"], vec![])],
        vec![],
    );
    assert_eq!(
        err(&m),
        "onnx: invalid graph: node \"r\" (Relu) reads \"nowhere\", which no graph input, initializer or \
         earlier node defines"
    );
    // Out of topological order: the second node's output is read first.
    let m = model(
        &[1, 2],
        vec![
            node("Relu", "a", &["h"], &["y"], vec![]),
            node("Relu", "b", &["x"], &["h"], vec![]),
        ],
        vec![],
    );
    assert!(err(&m).contains("node \"a\" (Relu) reads \"h\""));
}

#[test]
fn every_unsupported_op_listed_once() {
    let m = model(
        &[1, 2],
        vec![
            node("Relu", "ok", &["x"], &["a"], vec![]),
            node("Einsum", "/einsum", &["a"], &["b"], vec![]),
            node("Relu", "", &["b"], &["c"], vec![]),
            node("LpNormalization", "/norm", &["c"], &["y"], vec![]),
        ],
        vec![],
    );
    assert_eq!(
        err(&m),
        "onnx: 2 unsupported op(s) at opset 17: Einsum (node \"/einsum\"), LpNormalization (node \"/norm\")"
    );
}

#[test]
fn tensor_counts_checked() {
    let w = floats("w", &[1000, 1000], vec![1.0; 3]);
    let m = model(
        &[1, 2],
        vec![node("Add", "add", &["x", "w"], &["y"], vec![])],
        vec![w],
    );
    assert!(err(&m).contains("3 values in float_data, but dimensions [1000, 1000] need 1000000"));
    let w = floats("w", &[i64::MAX, i64::MAX], vec![]);
    let m = model(
        &[1, 2],
        vec![node("Add", "add", &["x", "w"], &["y"], vec![])],
        vec![w],
    );
    assert!(err(&m).contains("overflow"));
}

#[test]
fn negative_conv_pads_refused() {
    let w = floats("c.weight", &[1, 1, 2, 2], vec![1.0; 4]);
    let conv = node(
        "Conv",
        "/c/Conv",
        &["x", "c.weight"],
        &["y"],
        vec![ints("pads", &[0, 0, -1, 1])],
    );
    let m = model(&[1, 1, 4, 4], vec![conv], vec![w]);
    assert_eq!(
        err(&m),
        "onnx: node \"/c/Conv\" (Conv): pads [0, 0, -1, 1]: expected four non-negative values"
    );
}

fn external(location: &str) -> smoothgrad_onnx::proto::TensorProto {
    let mut w = floats("w", &[2], vec![]);
    w.data_location = Some(1);
    w.external_data = vec![StringStringEntryProto {
        key: Some("location".into()),
        value: Some(location.into()),
    }];
    w
}

#[test]
fn external_data_inside_the_folder_only() {
    let dir = std::env::temp_dir().join(format!("smoothgrad-onnx-ext-{}", std::process::id()));
    let inner = dir.join("model");
    std::fs::create_dir_all(&inner).unwrap();
    let bytes: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(inner.join("w.bin"), &bytes).unwrap();
    std::fs::write(dir.join("secret.bin"), &bytes).unwrap();
    let add = || vec![node("Add", "add", &["x", "w"], &["y"], vec![])];
    for (loc, msg) in [
        (
            "../secret.bin",
            "must be a relative path inside the model's folder",
        ),
        (
            "/etc/passwd",
            "must be a relative path inside the model's folder",
        ),
        ("w.bin", ""),
    ] {
        let m = model(&[1, 2], add(), vec![external(loc)]);
        let path = inner.join("m.onnx");
        std::fs::write(&path, m.encode_to_vec()).unwrap();
        match import::<f64>(&path) {
            Ok(_) => assert_eq!(msg, "", "{loc} accepted"),
            Err(e) => assert!(!msg.is_empty() && e.to_string().contains(msg), "{loc}: {e}"),
        }
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.join("secret.bin"), inner.join("link.bin")).unwrap();
        let m = model(&[1, 2], add(), vec![external("link.bin")]);
        let path = inner.join("m.onnx");
        std::fs::write(&path, m.encode_to_vec()).unwrap();
        let e = import::<f64>(&path).err().unwrap().to_string();
        assert!(e.contains("leads outside the model's folder"), "{e}");
    }
    let m = model(&[1, 2], add(), vec![external("missing.bin")]);
    assert!(import_model::<f64>(&m, &inner)
        .err()
        .unwrap()
        .to_string()
        .contains("cannot read"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Found by fuzzing (fuzz/, target onnx_graph): an `Add` with one input panicked in conversion
/// (index out of bounds); every supported op's required inputs are now checked first.
#[test]
fn too_few_inputs() {
    let m = model(
        &[1, 2],
        vec![node("Add", "add", &["x"], &["y"], vec![])],
        vec![],
    );
    assert_eq!(
        err(&m),
        "onnx: invalid graph: node \"add\": Add needs 2 inputs, found 1"
    );
    // An empty name is an absent input.
    let m = model(
        &[1, 2],
        vec![node("Mul", "mul", &["x", ""], &["y"], vec![])],
        vec![],
    );
    assert_eq!(
        err(&m),
        "onnx: invalid graph: node \"mul\": Mul needs 2 inputs, found 1"
    );
    let m = model(
        &[1, 2],
        vec![node("Relu", "r", &[], &["y"], vec![])],
        vec![],
    );
    assert_eq!(
        err(&m),
        "onnx: invalid graph: node \"r\": Relu needs 1 input, found 0"
    );
    let m = model(
        &[1, 2],
        vec![node("Relu", "r", &["x"], &[], vec![])],
        vec![],
    );
    assert!(err(&m).contains("Relu needs an output, found none"));
}

/// The input the fuzzer found (target onnx_bytes): a mutated model whose `Add` lost an input.
#[test]
fn fuzzed_model_with_a_missing_input() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/add_one_input.onnx");
    let m = decode_model(&std::fs::read(path).unwrap()).unwrap();
    let e = import_model::<f32>(&m, Path::new("."))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("needs 2 inputs, found 1"), "{e}");
}

/// Found by fuzzing (target onnx_bytes): a node reading a value the importer never computes (a
/// second graph input, a node's second output) panicked on a map lookup.
#[test]
fn values_the_importer_does_not_compute() {
    let mut m = model(
        &[1, 2],
        vec![node("Add", "add", &["x", "x2"], &["y"], vec![])],
        vec![],
    );
    m.graph.as_mut().unwrap().input.push(value("x2", &[1, 2]));
    let e = err(&m);
    assert!(
        e.contains("\"x2\" is not a value the importer computes"),
        "{e}"
    );
    let m = model(
        &[1, 2],
        vec![
            node("Dropout", "drop", &["x"], &["d", "mask"], vec![]),
            node("Add", "add", &["d", "mask"], &["y"], vec![]),
        ],
        vec![],
    );
    let e = err(&m);
    assert!(
        e.contains(
            "output 1 (\"mask\") is read later, but only the first 1 output(s) are converted"
        ),
        "{e}"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/unknown_value.onnx");
    let m = decode_model(&std::fs::read(path).unwrap()).unwrap();
    let e = import_model::<f32>(&m, Path::new("."))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("is read later, but only the first"), "{e}");
}

/// Found by fuzzing (target onnx_graph): graph input dimensions whose product overflows
/// panicked in shape arithmetic (Flatten).
#[test]
fn input_dimensions_that_overflow() {
    let m = model(
        &[1, 1 << 40, 1 << 40],
        vec![node("Flatten", "f", &["x"], &["y"], vec![])],
        vec![],
    );
    assert_eq!(
        err(&m),
        "onnx: invalid graph: graph input \"x\" has dimensions [1, 1099511627776, 1099511627776], \
         more than 2^32 elements"
    );
}

/// Found by fuzzing (target onnx_graph): folding `Add` of an empty constant and a scalar read
/// past the empty one. By NumPy's broadcasting the sum is empty (and unused here: the model
/// imports); constants whose shapes do not broadcast are refused, naming them.
#[test]
fn folding_an_empty_constant() {
    let graph = |e: &[i64], other: Vec<i64>| {
        model(
            &[1, 2],
            vec![
                node("Add", "fold", &["e", "other"], &["s"], vec![]),
                node("Relu", "r", &["x"], &["y"], vec![]),
            ],
            vec![
                int64s("e", e, vec![]),
                int64s("other", &[other.len() as i64], other),
            ],
        )
    };
    assert!(import_model::<f64>(&graph(&[0], vec![1]), Path::new(".")).is_ok());
    let e = err(&graph(&[0], vec![1, 2]));
    assert!(e.contains("shapes [0] and [2] do not broadcast"), "{e}");
}

/// Found by fuzzing (target onnx_bytes): a `Reshape` to dimensions whose product overflows.
#[test]
fn reshape_dimensions_that_overflow() {
    let m = model(
        &[1, 2],
        vec![node("Reshape", "re", &["x", "shape"], &["y"], vec![])],
        vec![int64s("shape", &[3], vec![1, 1 << 40, 1 << 40])],
    );
    let e = err(&m);
    assert!(e.contains("have too many elements"), "{e}");
    // The fuzzer's file: refused, whatever the reason given first.
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/reshape_overflow.onnx");
    let m = decode_model(&std::fs::read(path).unwrap()).unwrap();
    assert!(import_model::<f32>(&m, Path::new(".")).is_err());
}

/// Found by fuzzing (target onnx_graph): `Squeeze` of a constant with an axis given twice
/// removed past the end of its dimensions.
#[test]
fn repeated_axes() {
    for op in ["Squeeze", "Unsqueeze"] {
        let m = model(
            &[1, 2],
            vec![
                node(op, "sq", &["c", "axes"], &["s"], vec![]),
                node("Relu", "r", &["x"], &["y"], vec![]),
            ],
            vec![int64s("c", &[1], vec![7]), int64s("axes", &[2], vec![0, 0])],
        );
        let e = err(&m);
        assert!(e.contains("axis 0 is given twice"), "{op}: {e}");
    }
}

/// Found by fuzzing (target onnx_graph, this round): `Unsqueeze` of a runtime value (the
/// batch-following converter) with an axis given twice read past the input's shape, and a
/// repeated `Squeeze` axis miscounted the batch axis.
#[test]
fn repeated_axes_of_a_runtime_value() {
    for (op, dims, axes) in [
        ("Unsqueeze", vec![1, 3], vec![1, 1]),
        ("Squeeze", vec![1, 1, 3], vec![1, 1]),
    ] {
        let m = model(
            &dims,
            vec![node(op, "sq", &["x", "axes"], &["y"], vec![])],
            vec![int64s("axes", &[2], axes)],
        );
        let e = err(&m);
        assert!(e.contains("name axis 1 twice"), "{op}: {e}");
    }
}
