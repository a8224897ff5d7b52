//! Every class of malformed input the fuzz targets (fuzz/) cover, given to the command: each is
//! refused with exit status 2, exactly one line on stderr that names the file (or option) and
//! the problem, and no output file (not even a temporary one). The inputs are small generated
//! bytes; nothing is read from outside the test's scratch folder.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use prost::Message;
use smoothgrad_autograd::io::{self, Writer};
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::{weights, Sequential};
use smoothgrad_onnx::proto::{
    tensor_shape_proto::dimension::Value as Dim, tensor_shape_proto::Dimension, type_proto,
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

use common::{run, s, Scratch, SPEC};

/// A scratch folder with a valid model and input, and the checks every case makes.
struct Case {
    dir: Scratch,
    model: PathBuf,
    input: PathBuf,
}

impl Case {
    fn new(name: &str) -> Self {
        let dir = Scratch::new(name);
        let model = dir.path("model.safetensors");
        weights::save(
            &Sequential::<f32>::from_spec_seeded(SPEC, 0).unwrap(),
            &model,
        )
        .unwrap();
        let input = dir.path("input.safetensors");
        let x = Tensor::<f32>::randn_seeded(&[1, 3, 8, 8], 1);
        io::write_file(&input, &[("input", &x)], &[]).unwrap();
        Case { dir, model, input }
    }

    /// Writes `bytes` to the file `name` of the folder.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn listing(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut stack = vec![self.dir.dir().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                }
                names.insert(e.path().display().to_string());
            }
        }
        names
    }

    /// `explain` with `model` and `inputs` (and `extra` flags) fails cleanly; its error line.
    fn explain(&self, model: &Path, inputs: &[&Path], extra: &[&str]) -> String {
        let out = self.dir.path("out.safetensors");
        let mut args = vec!["explain", "--model", s(model), "--input"];
        args.extend(inputs.iter().map(|p| s(p)));
        args.extend(["--output", s(&out)]);
        if !extra.contains(&"--samples") {
            args.extend(["--samples", "2"]);
        }
        self.fails(&[&args[..], extra].concat())
    }

    /// Runs the binary: status 2, one line naming the problem, no new file.
    fn fails(&self, args: &[&str]) -> String {
        let before = self.listing();
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("smoothgrad: error: "),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(self.listing(), before, "{args:?} left files behind");
        stderr.trim_end().to_string()
    }
}

/// Asserts `message` contains every part.
fn says(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{message:?} does not say {part:?}");
    }
}

/// A safetensors file whose header is `header` (JSON) followed by `data`.
fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

#[test]
fn safetensors_models_that_are_truncated_garbage_or_lie() {
    let c = Case::new("st-models");
    let good = std::fs::read(&c.model).unwrap();
    let cut = c.file("cut.safetensors", &good[..good.len() / 2]);
    says(&c.explain(&cut, &[&c.input], &[]), &["cut.safetensors"]);
    let garbage = c.file(
        "garbage.safetensors",
        b"\x07\xff\x00garbage, not a tensor file",
    );
    says(
        &c.explain(&garbage, &[&c.input], &[]),
        &["garbage.safetensors"],
    );
    // The header claims more bytes than the file holds.
    let header = r#"{"0.weight":{"dtype":"F32","shape":[4,3,3,3],"data_offsets":[0,432]}}"#;
    let lies = c.file("lies.safetensors", &safetensors(header, &[0; 16]));
    says(
        &c.explain(&lies, &[&c.input], &["--arch", SPEC]),
        &["lies.safetensors"],
    );
    // A header length far beyond the file.
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    let huge = c.file("huge.safetensors", &huge);
    says(&c.explain(&huge, &[&c.input], &[]), &["huge.safetensors"]);
    // A weight of an integer dtype.
    let header = r#"{"0.weight":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#;
    let dtype = c.file("dtype.safetensors", &safetensors(header, &[1, 2, 3, 4]));
    says(
        &c.explain(&dtype, &[&c.input], &["--arch", SPEC]),
        &["dtype.safetensors", "U8"],
    );
}

#[test]
fn tensor_inputs_with_the_wrong_dtype_or_a_lying_header() {
    let c = Case::new("st-inputs");
    let mut w = Writer::new();
    w.i64("input", &[1, 2, 3], &[3]).unwrap();
    let ints = c.dir.path("ints.safetensors");
    w.write(&ints).unwrap();
    says(
        &c.explain(&c.model, &[&ints], &[]),
        &["ints.safetensors", "input"],
    );
    let header = r#"{"input":{"dtype":"F32","shape":[1,3,8,8],"data_offsets":[0,768]}}"#;
    let short = c.file("short.safetensors", &safetensors(header, &[0; 8]));
    says(&c.explain(&c.model, &[&short], &[]), &["short.safetensors"]);
    let overlap = r#"{"input":{"dtype":"F32","shape":[2],"data_offsets":[4,0]}}"#;
    let overlap = c.file("overlap.safetensors", &safetensors(overlap, &[0; 8]));
    says(
        &c.explain(&c.model, &[&overlap], &[]),
        &["overlap.safetensors"],
    );
}

/// A FLOAT value info with `dims`.
fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(Dim::DimValue(d)),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// The bytes of an ONNX model reading `x` `[1, 3, 8, 8]` and returning `y`.
fn onnx(nodes: Vec<NodeProto>, initializer: Vec<TensorProto>) -> Vec<u8> {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(GraphProto {
            name: Some("g".into()),
            node: nodes,
            initializer,
            input: vec![value("x", &[1, 3, 8, 8])],
            output: vec![value("y", &[])],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A FLOAT initializer with `dims` and `data`.
fn floats(name: &str, dims: &[i64], data: Vec<f32>) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(1),
        float_data: data,
        ..Default::default()
    }
}

/// A FLOAT initializer whose bytes are in the file `location`.
fn external(name: &str, location: &str) -> TensorProto {
    let entry = |k: &str, v: &str| StringStringEntryProto {
        key: Some(k.into()),
        value: Some(v.into()),
    };
    TensorProto {
        name: Some(name.into()),
        dims: vec![4],
        data_type: Some(1),
        data_location: Some(1),
        external_data: vec![entry("location", location), entry("length", "16")],
        ..Default::default()
    }
}

#[test]
fn onnx_models_that_are_garbage_or_malformed_graphs() {
    let c = Case::new("onnx");
    let x = [c.input.as_path()];
    let garbage = c.file("garbage.onnx", b"\xff\xff\xff\xffnot protobuf at all");
    says(
        &c.explain(&garbage, &x, &[]),
        &["garbage.onnx", "not a valid ONNX model"],
    );
    let cycle = c.file(
        "cycle.onnx",
        &onnx(
            vec![
                node("Relu", "a", &["b_out"], &["a_out"]),
                node("Relu", "b", &["a_out"], &["b_out"]),
            ],
            vec![],
        ),
    );
    says(&c.explain(&cycle, &x, &[]), &["cycle.onnx", "\"a\""]);
    let dangling = c.file(
        "dangling.onnx",
        &onnx(vec![node("Relu", "r", &["nowhere"], &["y"])], vec![]),
    );
    says(
        &c.explain(&dangling, &x, &[]),
        &["dangling.onnx", "nowhere"],
    );
    let arity = c.file(
        "arity.onnx",
        &onnx(vec![node("Add", "add", &["x"], &["y"])], vec![]),
    );
    says(&c.explain(&arity, &x, &[]), &["arity.onnx", "add"]);
    // Dimensions whose product overflows, and negative ones: refused before allocating.
    let huge = c.file(
        "huge.onnx",
        &onnx(
            vec![node("Add", "add", &["x", "w"], &["y"])],
            vec![floats("w", &[1 << 40, 1 << 40], vec![])],
        ),
    );
    says(&c.explain(&huge, &x, &[]), &["huge.onnx", "\"w\""]);
    let negative = c.file(
        "negative.onnx",
        &onnx(
            vec![node("Add", "add", &["x", "w"], &["y"])],
            vec![floats("w", &[-3], vec![1.0])],
        ),
    );
    says(&c.explain(&negative, &x, &[]), &["negative.onnx", "\"w\""]);
    // Data that disagrees with the dimensions.
    let mismatch = c.file(
        "mismatch.onnx",
        &onnx(
            vec![node("Add", "add", &["x", "w"], &["y"])],
            vec![floats("w", &[8], vec![1.0; 3])],
        ),
    );
    says(&c.explain(&mismatch, &x, &[]), &["mismatch.onnx", "\"w\""]);
}

#[test]
fn onnx_external_data_never_leaves_the_models_folder() {
    let c = Case::new("onnx-external");
    let x = [c.input.as_path()];
    let secret = c.file("secret.bin", &[0; 16]);
    let models = c.dir.path("models");
    std::fs::create_dir_all(&models).unwrap();
    let add = || vec![node("Add", "add", &["x", "w"], &["y"])];
    let up = models.join("up.onnx");
    std::fs::write(&up, onnx(add(), vec![external("w", "../secret.bin")])).unwrap();
    says(
        &c.explain(&up, &x, &[]),
        &["up.onnx", "../secret.bin", "inside the model's folder"],
    );
    let absolute = models.join("absolute.onnx");
    std::fs::write(&absolute, onnx(add(), vec![external("w", s(&secret))])).unwrap();
    says(
        &c.explain(&absolute, &x, &[]),
        &["absolute.onnx", "inside the model's folder"],
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&secret, models.join("link.bin")).unwrap();
        let link = models.join("link.onnx");
        std::fs::write(&link, onnx(add(), vec![external("w", "link.bin")])).unwrap();
        says(
            &c.explain(&link, &x, &[]),
            &["link.onnx", "link.bin", "symlink"],
        );
    }
}

#[test]
fn bad_spec_strings() {
    let c = Case::new("spec");
    let x = [c.input.as_path()];
    for (spec, part) in [
        ("conv2d(3,4,3,padding=1), relu, flaten", "flatten"),
        ("conv2d(3,4", "expected"),
        ("linear(99999999999999999999,2)", "linear"),
        ("linear(1048576,1048576)", "limit"),
        ("", "spec"),
    ] {
        says(
            &c.explain(&c.model, &x, &["--arch", spec]),
            &["--arch", part],
        );
    }
}

#[test]
fn corrupt_images() {
    let c = Case::new("images");
    let png = c.file("bad.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00");
    says(&c.explain(&c.model, &[&png], &[]), &["bad.png"]);
    let jpeg = c.file("bad.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00truncated");
    says(&c.explain(&c.model, &[&jpeg], &[]), &["bad.jpg"]);
    let ppm = c.file("bad.ppm", b"P6\n4 4\n255\n\x01\x02");
    says(&c.explain(&c.model, &[&ppm], &[]), &["bad.ppm"]);
    let empty = c.file("empty.png", b"");
    says(&c.explain(&c.model, &[&empty], &[]), &["empty.png"]);
}

#[test]
fn absurd_flags() {
    let c = Case::new("flags");
    let x = [c.input.as_path()];
    let m = &c.model;
    says(
        &c.explain(m, &x, &["--threads", "100000"]),
        &["--threads", "at most 256"],
    );
    says(
        &c.explain(
            m,
            &x,
            &[
                "--method",
                "integrated-gradients",
                "--ig-steps",
                "100000000000",
            ],
        ),
        &["--ig-steps", "at most"],
    );
    says(&c.explain(m, &x, &["--batch-size", "0"]), &["--batch-size"]);
    says(&c.explain(m, &x, &["--samples", "0"]), &["--samples"]);
    says(&c.explain(m, &x, &["--noise", "-1"]), &["--noise"]);
    says(&c.explain(m, &x, &["--target", "-3"]), &["--target"]);
    says(
        &c.explain(m, &x, &["--max-memory", "lots"]),
        &["--max-memory", "\"lots\""],
    );
    says(
        &c.explain(m, &x, &["--max-memory", "1K"]),
        &["--max-memory", "needs about"],
    );
    // Within every bound alone, too much memory together: refused before any work.
    says(
        &c.explain(
            m,
            &x,
            &[
                "--samples",
                "1000000",
                "--batch-size",
                "1000000",
                "--threads",
                "256",
                "--max-memory",
                "1G",
            ],
        ),
        &["--max-memory", "needs about", "(batch size x activations)"],
    );
    // Values clap refuses are one line too.
    says(
        &c.explain(m, &x, &["--threads", "many"]),
        &["--threads", "many"],
    );
    says(&c.explain(m, &x, &["--no-such-flag"]), &["--no-such-flag"]);
}
