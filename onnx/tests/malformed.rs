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
