//! torchvision's ResNet-18 and BasicBlocks written as spec strings (`residual(...)`, named layers
//! and groups): their `state_dict` keys are torchvision's, and loaded with the fixtures' weights
//! they give PyTorch's float64 outputs and input gradients. The fixtures are
//! `fixtures/torchvision` (see its README).

use smoothgrad_autograd::io::{read_file, TensorFile};
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Module, Sequential};

fn canonical(spec: &str) -> String {
    Sequential::<f32>::from_spec(spec)
        .unwrap_or_else(|e| panic!("{spec:?} should parse:\n{e}"))
        .to_string()
}

fn names(model: &Sequential) -> Vec<String> {
    model.state_dict().into_iter().map(|(n, ..)| n).collect()
}

/// torchvision's `resnet18(num_classes=10)` with widths 8, 16, 32, 64 instead of 64, 128, 256,
/// 512: the model of `fixtures/torchvision/resnet18.safetensors`.
const RESNET18: &str = include_str!("fixtures/torchvision/resnet18.spec");

/// A fixture file of `nn/tests/fixtures/torchvision`.
fn fixture(name: &str) -> TensorFile {
    let path = format!(
        "{}/tests/fixtures/torchvision/{name}.safetensors",
        env!("CARGO_MANIFEST_DIR")
    );
    read_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The spec's model in f64 with the fixture's weights, in eval mode.
fn load_f64(spec: &str, name: &str) -> Sequential<f64> {
    let mut model = Sequential::<f64>::from_spec(spec).unwrap();
    smoothgrad_nn::weights::load_file_into(&mut model, &fixture(name)).unwrap();
    model.set_training(false);
    model
}

/// `max |a - b| / max |b|`.
fn relative_error(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let scale = b.data().iter().fold(0.0f64, |m, x| m.max(x.abs()));
    a.max_abs_diff(b) / scale
}

/// The model's output and the gradient of `Σ output ⊙ seed` with respect to the input.
fn output_and_grad(
    model: &Sequential<f64>,
    input: &Tensor<f64>,
    seed: impl FnOnce(&[usize]) -> Tensor<f64>,
) -> (Tensor<f64>, Tensor<f64>) {
    let tape = Tape::new();
    let x = tape.var(input.clone());
    let y = model.forward(x, &mut Context::inference(&tape));
    let grads = tape.backward_with(y, seed(&y.shape()));
    (y.value(), grads.wrt(x))
}

#[test]
fn resnet18_spec_is_canonical_and_its_state_dict_is_torchvisions() {
    assert_eq!(canonical(RESNET18), RESNET18);
    let model = Sequential::<f32>::from_spec(RESNET18).unwrap();
    assert_eq!(model.output_shape(&[2, 3, 32, 32]).unwrap(), vec![2, 10]);
    let file = fixture("resnet18");
    let ours: Vec<(String, Vec<usize>)> = model
        .state_dict()
        .into_iter()
        .map(|(n, _, t)| (n, t.shape().to_vec()))
        .collect();
    let mut theirs: Vec<(String, Vec<usize>)> = file
        .names()
        .map(|n| (n.to_string(), file.shape(n).unwrap().to_vec()))
        .collect();
    assert_eq!(ours.len(), 122);
    let mut sorted = ours.clone();
    sorted.sort();
    theirs.sort();
    assert_eq!(sorted, theirs);
    // The order is torchvision's too: module registration order, body before downsample.
    let keys: Vec<&str> = ours.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(keys[..2], ["conv1.weight", "bn1.weight"]);
    let down = keys
        .iter()
        .position(|k| *k == "layer2.0.downsample.0.weight");
    assert_eq!(keys[down.unwrap() - 1], "layer2.0.bn2.num_batches_tracked");
    assert_eq!(keys[down.unwrap() + 6], "layer2.1.conv1.weight");
    assert_eq!(keys[120..], ["fc.weight", "fc.bias"]);
}

#[test]
fn resnet18_spec_matches_pytorch_logits_and_input_gradient() {
    let model = load_f64(RESNET18, "resnet18");
    let io = fixture("resnet18_io");
    let input = io.get::<f64>("input").unwrap();
    let (target, _) = io.get_i64("target").unwrap();
    let (logits, grad) = output_and_grad(&model, &input, |shape| {
        Tensor::from_fn(shape, |i| {
            let (row, class) = (i / shape[1], i % shape[1]);
            if target[row] == class as i64 {
                1.0
            } else {
                0.0
            }
        })
    });
    let err = relative_error(&logits, &io.get("logits").unwrap());
    assert!(err < 1e-10, "logits: {err:e}");
    let err = relative_error(&grad, &io.get("grad").unwrap());
    assert!(err < 1e-10, "input gradient: {err:e}");
}

const BASIC_BLOCK: &str = "residual(\
conv1: conv2d(8,8,3,padding=1,bias=False), bn1: batchnorm2d(8), relu, \
conv2: conv2d(8,8,3,padding=1,bias=False), bn2: batchnorm2d(8), after=relu)";

const BASIC_BLOCK_DOWN: &str = "residual(\
conv1: conv2d(8,16,3,stride=2,padding=1,bias=False), bn1: batchnorm2d(16), relu, \
conv2: conv2d(16,16,3,padding=1,bias=False), bn2: batchnorm2d(16), \
downsample=(conv2d(8,16,1,stride=2,bias=False), batchnorm2d(16)), after=relu)";

/// A one-block spec (`residual(...)`, whose state is named `0.conv1.weight`, ...) with the weights
/// of a block fixture (named as the block's own, `conv1.weight`), in eval mode.
fn load_block(spec: &str, name: &str) -> Sequential<f64> {
    let mut model = Sequential::<f64>::from_spec(spec).unwrap();
    let file = fixture(name);
    let mut loaded = Vec::new();
    model.visit_state_mut(&mut |full, _, t| {
        let key = full.strip_prefix("0.").unwrap();
        *t = match file.get::<f64>(key) {
            Ok(value) => value,
            Err(_) => {
                let (values, shape) = file.get_i64(key).unwrap();
                Tensor::from_vec(values.iter().map(|&v| v as f64).collect(), &shape).unwrap()
            }
        };
        assert_eq!(t.shape(), file.shape(key).unwrap(), "{key}");
        loaded.push(key.to_string());
    });
    let mut expected: Vec<String> = file.names().map(str::to_string).collect();
    expected.sort();
    loaded.sort();
    assert_eq!(
        loaded, expected,
        "{name}: the block's state names are torchvision's"
    );
    model.set_training(false);
    model
}

#[test]
fn basic_block_specs_match_torchvision() {
    for (spec, name) in [
        (BASIC_BLOCK, "basic_block"),
        (BASIC_BLOCK_DOWN, "basic_block_down"),
    ] {
        assert_eq!(canonical(spec), spec);
        let model = load_block(spec, name);
        let io = fixture(&format!("{name}_io"));
        let w = io.get::<f64>("w").unwrap();
        let (output, grad) = output_and_grad(&model, &io.get("input").unwrap(), |_| w.clone());
        let err = relative_error(&output, &io.get("output").unwrap());
        assert!(err < 1e-12, "{name} output: {err:e}");
        let err = relative_error(&grad, &io.get("grad").unwrap());
        assert!(err < 1e-12, "{name} input gradient: {err:e}");
    }
}

/// The full-size ResNet-18 spec of the `spec` module's documentation.
fn documented_resnet18() -> String {
    let source = include_str!("../src/spec/mod.rs");
    let mut lines = source
        .lines()
        .skip_while(|l| !l.starts_with("//! ResNet-18, torchvision's `resnet18()`"))
        .skip_while(|l| *l != "//! ```text")
        .skip(1)
        .take_while(|l| *l != "//! ```")
        .map(|l| l.strip_prefix("//! ").unwrap());
    let first = lines.next().expect("the documented ResNet-18");
    lines.fold(first.to_string(), |s, l| s + " " + l)
}

#[test]
fn documented_resnet18_is_torchvisions_resnet18() {
    let spec = documented_resnet18();
    let model = Sequential::<f32>::from_spec(&spec).unwrap();
    assert_eq!(
        model.output_shape(&[1, 3, 224, 224]).unwrap(),
        vec![1, 1000]
    );
    // torchvision.models.resnet18().  Its parameter count, and the fixture's key list (the
    // reduced model has the same keys).
    assert_eq!(model.num_parameters(), 11_689_512);
    let reduced = Sequential::<f32>::from_spec(RESNET18).unwrap();
    assert_eq!(names(&model), names(&reduced));
    let shape = |m: &Sequential, key: &str| {
        let found = m.state_dict().into_iter().find(|(n, ..)| n == key);
        found.unwrap().2.shape().to_vec()
    };
    assert_eq!(
        shape(&model, "layer4.0.downsample.0.weight"),
        [512, 256, 1, 1]
    );
    assert_eq!(shape(&model, "fc.weight"), [1000, 512]);
    // The documented layout is the canonical form, line breaks aside.
    let flat = spec.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(canonical(&spec), flat.replace("( ", "("));
}
