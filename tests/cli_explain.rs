//! `smoothgrad explain`, driven through the built binary: the files it writes hold the right
//! tensors, and their values equal what the library computes directly.

mod common;

use std::path::{Path, PathBuf};

use smoothgrad::{
    predicted, Gradient, IntegratedGradients, Method, Noise, NoiseLevel, Operator, SmoothGrad,
    Targets,
};
use smoothgrad_autograd::io::{self, Dtype, TensorFile, Writer};
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::weights;
use smoothgrad_nn::Sequential;

use common::{s, smoothgrad, Scratch, SPEC};

/// The test model, also saved to `model.safetensors`.
fn model(dir: &Scratch) -> (Sequential, PathBuf) {
    let model = Sequential::<f32>::from_spec_seeded(SPEC, 0).unwrap();
    let path = dir.path("model.safetensors");
    weights::save(&model, &path).unwrap();
    (model, path)
}

/// Two random 3x8x8 inputs in `input.safetensors`, with an optional `target` tensor.
fn inputs(dir: &Scratch, targets: Option<&[i64]>) -> (Tensor, PathBuf) {
    let x = Tensor::<f32>::randn_seeded(&[2, 3, 8, 8], 7);
    let path = dir.path("input.safetensors");
    let mut w = Writer::new();
    w.tensor("input", &x);
    if let Some(t) = targets {
        w.i64("target", t, &[t.len()]).unwrap();
    }
    w.write(&path).unwrap();
    (x, path)
}

/// The largest absolute difference between two tensors of one shape.
fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.max_abs_diff(b)
}

/// The plain gradient computed by the library.
fn gradient(model: &Sequential, x: &Tensor, targets: &[usize]) -> Tensor {
    let t = Targets::Classes(targets.to_vec());
    Gradient
        .explain(model, x, &t, &Operator::Logit, 32)
        .unwrap()
        .values
}

/// The classes the command explained, from its output.
fn written_targets(file: &TensorFile) -> Vec<usize> {
    let (t, shape) = file.get_i64("target").unwrap();
    assert_eq!(shape, [t.len()]);
    t.into_iter().map(|v| v as usize).collect()
}

#[test]
fn gradient_equals_the_library_and_names_its_tensors() {
    let dir = Scratch::new("gradient");
    let (net, m) = model(&dir);
    let (x, input) = inputs(&dir, None);
    let out = dir.path("a.safetensors");
    let args = [
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&input),
        "--output",
        s(&out),
    ];
    smoothgrad(&[&args[..], &["--method", "gradient", "--target", "1"]].concat());
    let file = io::read_file(&out).unwrap();
    let names: Vec<&str> = file.names().collect();
    assert_eq!(names, ["attribution", "input", "target"]);
    assert_eq!(file.dtype("attribution").unwrap(), Dtype::F32);
    assert_eq!(file.dtype("target").unwrap(), Dtype::I64);
    assert_eq!(written_targets(&file), [1, 1]);
    assert_eq!(file.metadata()["method"], "gradient");
    let a = file.get::<f32>("attribution").unwrap();
    assert!(max_diff(&a, &gradient(&net, &x, &[1, 1])) < 1e-6);
}

#[test]
fn smoothgrad_family_equals_the_library() {
    let dir = Scratch::new("family");
    let (net, m) = model(&dir);
    let (x, input) = inputs(&dir, None);
    let targets = predicted(&net, &x, 3);
    let sg = SmoothGrad {
        samples: 4,
        seed: 3,
        noise: Noise {
            level: NoiseLevel::Absolute(0.2),
            ..Noise::default()
        },
        ..SmoothGrad::default()
    };
    let t = Targets::Classes(targets.clone());
    let e = sg.explain(&net, &x, &t, &Operator::Logit).unwrap();
    for (method, want) in [
        ("smoothgrad", &e.mean),
        ("smoothgrad-sq", &e.mean_of_squares),
        ("vargrad", &e.variance),
    ] {
        let out = dir.path(&format!("{method}.safetensors"));
        smoothgrad(&[
            "explain",
            "--model",
            s(&m),
            "--input",
            s(&input),
            "--output",
            s(&out),
            "--method",
            method,
            "--samples",
            "4",
            "--seed",
            "3",
            "--noise",
            "0.2",
            "--noise-mode",
            "absolute",
        ]);
        let file = io::read_file(&out).unwrap();
        let names: Vec<&str> = file.names().collect();
        assert_eq!(
            names,
            ["attribution", "input", "std_error", "target"],
            "{method}"
        );
        assert_eq!(written_targets(&file), targets);
        let a = file.get::<f32>("attribution").unwrap();
        assert!(max_diff(&a, want) < 1e-6, "{method}");
        let se = file.get::<f32>("std_error").unwrap();
        assert!(max_diff(&se, &e.std_error) < 1e-6, "{method}");
    }
}

#[test]
fn smoothgrad_without_noise_is_the_gradient() {
    let dir = Scratch::new("no-noise");
    let (net, m) = model(&dir);
    let (x, input) = inputs(&dir, None);
    let out = dir.path("a.safetensors");
    smoothgrad(&[
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&input),
        "--output",
        s(&out),
        "--samples",
        "3",
        "--noise",
        "0",
    ]);
    let file = io::read_file(&out).unwrap();
    let targets = written_targets(&file);
    assert_eq!(targets, predicted(&net, &x, 3));
    let a = file.get::<f32>("attribution").unwrap();
    assert!(max_diff(&a, &gradient(&net, &x, &targets)) < 1e-6);
    let se = file.get::<f32>("std_error").unwrap();
    assert!(se.data().iter().all(|v| v.abs() < 1e-6));
}

#[test]
fn the_seed_alone_fixes_the_result() {
    let dir = Scratch::new("seed");
    let (_, m) = model(&dir);
    let (_, input) = inputs(&dir, None);
    let run = |name: &str, threads: &str, batch: &str| {
        let out = dir.path(name);
        smoothgrad(&[
            "explain",
            "--model",
            s(&m),
            "--input",
            s(&input),
            "--output",
            s(&out),
            "--samples",
            "5",
            "--threads",
            threads,
            "--batch-size",
            batch,
        ]);
        io::read_file(&out)
            .unwrap()
            .get::<f32>("attribution")
            .unwrap()
    };
    let a = run("a.safetensors", "1", "1");
    let b = run("b.safetensors", "2", "4");
    assert!(max_diff(&a, &b) < 1e-6);
}

#[test]
fn file_targets_override_the_flag() {
    let dir = Scratch::new("file-targets");
    let (net, m) = model(&dir);
    let (x, input) = inputs(&dir, Some(&[2, 0]));
    let out = dir.path("a.safetensors");
    smoothgrad(&[
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&input),
        "--output",
        s(&out),
        "--method",
        "gradient",
        "--target",
        "1",
    ]);
    let file = io::read_file(&out).unwrap();
    assert_eq!(written_targets(&file), [2, 0]);
    let a = file.get::<f32>("attribution").unwrap();
    assert!(max_diff(&a, &gradient(&net, &x, &[2, 0])) < 1e-6);
}

#[test]
fn integrated_gradients_equals_the_library() {
    let dir = Scratch::new("ig");
    let (net, m) = model(&dir);
    let (x, input) = inputs(&dir, Some(&[0, 2]));
    let out = dir.path("a.safetensors");
    smoothgrad(&[
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&input),
        "--output",
        s(&out),
        "--method",
        "integrated-gradients",
        "--ig-steps",
        "4",
    ]);
    let ig = IntegratedGradients {
        steps: 4,
        ..IntegratedGradients::default()
    };
    let t = Targets::Classes(vec![0, 2]);
    let want = ig
        .explain(&net, &x, &t, &Operator::Logit, 32)
        .unwrap()
        .values;
    let a = io::read_file(&out)
        .unwrap()
        .get::<f32>("attribution")
        .unwrap();
    assert!(max_diff(&a, &want) < 1e-6);
}

#[test]
fn models_ending_in_softmax_are_explained_before_it() {
    let dir = Scratch::new("softmax");
    let (net, _) = model(&dir);
    let with_softmax = Sequential::<f32>::from_spec_seeded(&format!("{SPEC}, softmax"), 0).unwrap();
    let m = dir.path("softmax.safetensors");
    weights::save(&with_softmax, &m).unwrap();
    let (x, input) = inputs(&dir, Some(&[1, 2]));
    let logit = dir.path("logit.safetensors");
    let prob = dir.path("prob.safetensors");
    let common = [
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&input),
        "--method",
        "gradient",
    ];
    smoothgrad(&[&common[..], &["--output", s(&logit)]].concat());
    smoothgrad(
        &[
            &common[..],
            &["--output", s(&prob), "--operator", "probability"],
        ]
        .concat(),
    );
    let read = |p: &Path| io::read_file(p).unwrap().get::<f32>("attribution").unwrap();
    assert!(max_diff(&read(&logit), &gradient(&net, &x, &[1, 2])) < 1e-6);
    let t = Targets::Classes(vec![1, 2]);
    let want = Gradient
        .explain(&net, &x, &t, &Operator::Probability, 32)
        .unwrap()
        .values;
    assert!(max_diff(&read(&prob), &want) < 1e-6);
}

#[test]
fn arch_loads_weights_saved_without_a_spec() {
    let dir = Scratch::new("arch");
    let (net, _) = model(&dir);
    let bare = dir.path("bare.safetensors");
    let mut w = Writer::new();
    for (name, _, t) in net.state_dict() {
        w.tensor(&name, &t);
    }
    w.write(&bare).unwrap();
    let (x, input) = inputs(&dir, Some(&[0, 1]));
    let out = dir.path("a.safetensors");
    smoothgrad(&[
        "explain",
        "--model",
        s(&bare),
        "--arch",
        SPEC,
        "--input",
        s(&input),
        "--output",
        s(&out),
        "--method",
        "gradient",
    ]);
    let a = io::read_file(&out)
        .unwrap()
        .get::<f32>("attribution")
        .unwrap();
    assert!(max_diff(&a, &gradient(&net, &x, &[0, 1])) < 1e-6);
}

#[test]
fn images_are_batched_and_normalized() {
    let dir = Scratch::new("images");
    let (net, m) = model(&dir);
    let mut paths = Vec::new();
    let mut data = Vec::new();
    for k in 0..2 {
        let pixels: Vec<f32> = (0..192)
            .map(|i| ((i * 7 + k * 50) % 256) as f32 / 255.0)
            .collect();
        let image = smoothgrad_viz::Image::new(3, 8, 8, pixels).unwrap();
        let path = dir.path(&format!("img{k}.png"));
        smoothgrad_viz::save_png(&path, &image).unwrap();
        data.extend(
            smoothgrad_viz::load(&path)
                .unwrap()
                .data()
                .iter()
                .map(|v| (v - 0.5) / 0.25),
        );
        paths.push(path);
    }
    let x = Tensor::from_vec(data, &[2, 3, 8, 8]).unwrap();
    let out = dir.path("a.safetensors");
    smoothgrad(&[
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&paths[0]),
        s(&paths[1]),
        "--normalize",
        "0.5,0.25",
        "--output",
        s(&out),
        "--method",
        "gradient",
        "--target",
        "2",
    ]);
    let a = io::read_file(&out)
        .unwrap()
        .get::<f32>("attribution")
        .unwrap();
    assert!(max_diff(&a, &gradient(&net, &x, &[2, 2])) < 1e-6);
}

#[test]
fn png_output_writes_one_picture_per_input() {
    let dir = Scratch::new("png");
    let (_, m) = model(&dir);
    let (_, input) = inputs(&dir, None);
    let out = dir.path("map.png");
    smoothgrad(&[
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&input),
        "--output",
        s(&out),
        "--samples",
        "4",
        "--colormap",
        "inferno",
    ]);
    assert!(!out.exists());
    for k in 0..2 {
        let img = smoothgrad_viz::load(dir.path(&format!("map-{k}.png"))).unwrap();
        assert_eq!((img.channels(), img.height(), img.width()), (3, 8, 8));
    }
}

#[test]
fn a_saved_graph_is_explained_before_its_softmax() {
    let dir = Scratch::new("graph");
    let (net, _) = model(&dir);
    // The test model as a graph: the chain's layers as nodes, a skip connection that adds zero
    // (the logits minus themselves, plus the logits), then softmax.
    let mut g = smoothgrad_nn::GraphBuilder::<f32>::new();
    let mut v = g.input();
    let chain = Sequential::<f32>::from_spec_seeded(SPEC, 0).unwrap();
    for (i, layer) in chain.into_layers().into_iter().enumerate() {
        v = g.module_boxed(&format!("features.{i}"), layer, v);
    }
    let zero = g.op("zero", smoothgrad_nn::TensorOp::Sub, &[v, v]);
    let skip = g.add("skip", v, zero);
    let out = g.module("softmax", smoothgrad_nn::Softmax::default(), skip);
    let graph = g.finish(out).unwrap();
    let m = dir.path("graph.safetensors");
    weights::save(&graph, &m).unwrap();
    let (x, input) = inputs(&dir, Some(&[0, 2]));
    let out = dir.path("out.safetensors");
    smoothgrad(&[
        "explain",
        "--model",
        s(&m),
        "--input",
        s(&input),
        "--method",
        "gradient",
        "--output",
        s(&out),
    ]);
    let a = io::read_file(&out)
        .unwrap()
        .get::<f32>("attribution")
        .unwrap();
    assert!(max_diff(&a, &gradient(&net, &x, &[0, 2])) < 1e-6);
}

/// torchvision's ResNet-18 (widths / 8, its own keys) as one `--arch` string with nested
/// residual blocks.
const RESNET18: &str = include_str!("../nn/tests/fixtures/torchvision/resnet18.spec");

#[test]
fn arch_with_residual_blocks_explains_torchvisions_resnet18() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("nn/tests/fixtures/torchvision");
    let dir = Scratch::new("resnet18_arch");
    let out = dir.path("maps.safetensors");
    // The fixture's `input` (F64) and `target` (I64) are read as they are; the weights are
    // `resnet18().state_dict()` as PyTorch saved it.
    smoothgrad(&[
        "explain",
        "--model",
        s(&fixtures.join("resnet18.safetensors")),
        "--arch",
        RESNET18,
        "--input",
        s(&fixtures.join("resnet18_io.safetensors")),
        "--method",
        "gradient",
        "--output",
        s(&out),
    ]);
    let reference = io::read_file(fixtures.join("resnet18_io.safetensors")).unwrap();
    let expected = reference.get::<f64>("grad").unwrap();
    let found = io::read_file(&out)
        .unwrap()
        .get::<f64>("attribution")
        .unwrap();
    assert_eq!(found.shape(), expected.shape());
    let scale = expected.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let error = found.max_abs_diff(&expected) / scale;
    assert!(error <= 1e-4, "off by {error:e} of the gradient's max");
}

#[test]
fn an_onnx_export_explains_as_pytorch_differentiates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let io_file = root.join("nn/tests/fixtures/torchvision/resnet18_io.safetensors");
    let dir = Scratch::new("resnet18_onnx");
    let out = dir.path("maps.safetensors");
    // `torch.onnx.export(model, torch.randn(1, 3, 32, 32), ...)`: exported with batch 1, explained
    // on a batch of 2 in one graph run.
    smoothgrad(&[
        "explain",
        "--model",
        s(&root.join("onnx/tests/fixtures/resnet18.onnx")),
        "--input",
        s(&io_file),
        "--method",
        "gradient",
        "--output",
        s(&out),
    ]);
    let expected = io::read_file(&io_file).unwrap().get::<f64>("grad").unwrap();
    let found = io::read_file(&out)
        .unwrap()
        .get::<f64>("attribution")
        .unwrap();
    let scale = expected.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let error = found.max_abs_diff(&expected) / scale;
    assert!(error <= 1e-4, "off by {error:e} of the gradient's max");
}
