//! Spec strings with named layers, groups and residual blocks: canonical round trips, exact error
//! messages, state names, shapes, and torchvision's ResNet-18 and BasicBlocks written as specs,
//! loaded from their `state_dict` and compared with PyTorch's float64 outputs and input gradients.

use autograd::io::{read_file, TensorFile};
use autograd::{Tape, Tensor};
use nn::{Context, Module, NnError, ReLU, Residual, Sequential, Tanh};

fn canonical(spec: &str) -> String {
    Sequential::<f32>::from_spec(spec)
        .unwrap_or_else(|e| panic!("{spec:?} should parse:\n{e}"))
        .to_string()
}

/// `(position, message)` of the error for `spec`.
fn spec_error(spec: &str) -> (usize, String) {
    match Sequential::<f32>::from_spec(spec) {
        Err(NnError::Spec {
            position, message, ..
        }) => (position, message),
        Err(other) => panic!("{spec:?}: expected a spec error, found {other:?}"),
        Ok(model) => panic!("{spec:?}: expected an error, parsed {model}"),
    }
}

fn names(model: &Sequential) -> Vec<String> {
    model.state_dict().into_iter().map(|(n, ..)| n).collect()
}

/// torchvision's `resnet18(num_classes=10)` with widths 8, 16, 32, 64 instead of 64, 128, 256,
/// 512: the model of `fixtures/torchvision/resnet18.safetensors`.
const RESNET18: &str = "\
conv1: conv2d(3,8,7,stride=2,padding=3,bias=False), bn1: batchnorm2d(8), relu: relu, \
maxpool: maxpool2d(3,stride=2,padding=1), \
layer1: (\
residual(conv1: conv2d(8,8,3,padding=1,bias=False), bn1: batchnorm2d(8), relu, \
conv2: conv2d(8,8,3,padding=1,bias=False), bn2: batchnorm2d(8), after=relu), \
residual(conv1: conv2d(8,8,3,padding=1,bias=False), bn1: batchnorm2d(8), relu, \
conv2: conv2d(8,8,3,padding=1,bias=False), bn2: batchnorm2d(8), after=relu)), \
layer2: (\
residual(conv1: conv2d(8,16,3,stride=2,padding=1,bias=False), bn1: batchnorm2d(16), relu, \
conv2: conv2d(16,16,3,padding=1,bias=False), bn2: batchnorm2d(16), \
downsample=(conv2d(8,16,1,stride=2,bias=False), batchnorm2d(16)), after=relu), \
residual(conv1: conv2d(16,16,3,padding=1,bias=False), bn1: batchnorm2d(16), relu, \
conv2: conv2d(16,16,3,padding=1,bias=False), bn2: batchnorm2d(16), after=relu)), \
layer3: (\
residual(conv1: conv2d(16,32,3,stride=2,padding=1,bias=False), bn1: batchnorm2d(32), relu, \
conv2: conv2d(32,32,3,padding=1,bias=False), bn2: batchnorm2d(32), \
downsample=(conv2d(16,32,1,stride=2,bias=False), batchnorm2d(32)), after=relu), \
residual(conv1: conv2d(32,32,3,padding=1,bias=False), bn1: batchnorm2d(32), relu, \
conv2: conv2d(32,32,3,padding=1,bias=False), bn2: batchnorm2d(32), after=relu)), \
layer4: (\
residual(conv1: conv2d(32,64,3,stride=2,padding=1,bias=False), bn1: batchnorm2d(64), relu, \
conv2: conv2d(64,64,3,padding=1,bias=False), bn2: batchnorm2d(64), \
downsample=(conv2d(32,64,1,stride=2,bias=False), batchnorm2d(64)), after=relu), \
residual(conv1: conv2d(64,64,3,padding=1,bias=False), bn1: batchnorm2d(64), relu, \
conv2: conv2d(64,64,3,padding=1,bias=False), bn2: batchnorm2d(64), after=relu)), \
avgpool: adaptiveavgpool2d(1), flatten, fc: linear(64,10)";

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
    nn::weights::load_file_into(&mut model, &fixture(name)).unwrap();
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

#[test]
fn named_grouped_and_residual_specs_print_back_unchanged() {
    for spec in [
        "conv1: conv2d(3,64,7,stride=2,padding=3,bias=False), relu",
        "(relu), (tanh, (sigmoid)), ()",
        "layer1: (conv1: linear(4,4), relu), head: (linear(4,2))",
        "residual(relu)",
        "residual(linear(4,4), downsample=linear(4,4))",
        "residual(a: linear(4,4), relu, b: linear(4,4), downsample=(), after=(relu, tanh))",
        "residual(residual(relu, after=relu), downsample=residual(tanh)), flatten",
        "_x: residual(x1: (relu), after=relu)",
    ] {
        assert_eq!(canonical(spec), spec);
    }
}

#[test]
fn pytorch_style_block_specs_print_canonically() {
    let cases = [
        (
            "conv1 : conv2d( 3 , 8 , 3 ) ,relu",
            "conv1: conv2d(3,8,3), relu",
        ),
        ("( relu , tanh , )", "(relu, tanh)"),
        (
            "residual( relu , downsample = ( tanh , ) , )",
            "residual(relu, downsample=(tanh))",
        ),
        (
            "b: residual(relu,after=relu())",
            "b: residual(relu, after=relu)",
        ),
    ];
    for (spec, expected) in cases {
        assert_eq!(canonical(spec), expected, "{spec}");
        assert_eq!(canonical(expected), expected, "{spec}");
    }
}

#[test]
fn block_mistakes_have_exact_messages_and_positions() {
    let cases: Vec<(&str, usize, &str)> =
        vec![
        (
            "conv2d(1,2,3), layer1: (relu, tanh",
            34,
            "expected \",\" or \")\" closing the group opened at position 23, found end of input",
        ),
        (
            "relu, residual()",
            6,
            "residual: the body needs at least one layer: residual(layer, ...)",
        ),
        (
            "residual(downsample=(linear(2,2)))",
            0,
            "residual: the body needs at least one layer: residual(layer, ...)",
        ),
        (
            "residual(relu, downsampel=(linear(2,2)))",
            15,
            "residual: unexpected keyword argument \"downsampel\"; did you mean \"downsample\"?",
        ),
        (
            "relu, resdual(conv1: conv2d(1,2,3))",
            6,
            "unknown layer \"resdual\" at position 6; did you mean \"residual\"?",
        ),
        (
            "conv1: conv2d(1,2,3), relu, conv1: conv2d(2,2,3)",
            28,
            "duplicate name \"conv1\" (first at position 0)",
        ),
        (
            "residual(downsample: relu, downsample=(tanh))",
            27,
            "duplicate name \"downsample\" (first at position 9)",
        ),
        (
            "residual(relu, downsample=tanh, relu)",
            32,
            "residual: body layer follows keyword argument",
        ),
        (
            "layer1: (conv1: conv2d(1,2,3,bais=False))",
            29,
            "conv2d: unexpected keyword argument \"bais\"; did you mean \"bias\"?",
        ),
        (
            "residual(relu, downsample=(linear(2,0)))",
            36,
            "linear: argument \"out_features\" expects a positive integer, found 0",
        ),
        ("1: relu", 0, "expected a layer name, found 1"),
        ("a: relu)", 7, "expected \",\" or end of input after layer, found \")\""),
    ];
    for (spec, position, message) in cases {
        assert_eq!(spec_error(spec), (position, message.to_string()), "{spec}");
    }
}

#[test]
fn block_errors_display_a_caret_under_the_problem() {
    let err = Sequential::<f32>::from_spec("l1: (relu, l1: tanh), l1: relu").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid model spec at position 22: duplicate name \"l1\" (first at position 0)\n  \
         l1: (relu, l1: tanh), l1: relu\n                        ^"
    );
}

#[test]
fn named_children_name_the_state_and_unnamed_ones_keep_their_index() {
    let model: Sequential = Sequential::from_spec(
        "conv1: conv2d(3,4,3,bias=False), linear(2,2), layer1: (linear(2,3), b: linear(3,2)), \
         residual(l: linear(2,2), linear(2,2), downsample=(linear(2,2)), after=linear(2,2))",
    )
    .unwrap();
    assert_eq!(
        names(&model),
        [
            "conv1.weight",
            "1.weight",
            "1.bias",
            "layer1.0.weight",
            "layer1.0.bias",
            "layer1.b.weight",
            "layer1.b.bias",
            "3.l.weight",
            "3.l.bias",
            "3.1.weight",
            "3.1.bias",
            "3.downsample.0.weight",
            "3.downsample.0.bias",
            "3.after.weight",
            "3.after.bias",
        ]
    );
    assert_eq!(
        [model.name(0), model.name(1), model.name(2)],
        ["conv1", "1", "layer1"]
    );
    // The forward pass binds parameters under the same names.
    let model = Sequential::<f32>::from_spec("layer1: (linear(2,3), b: linear(3,2))").unwrap();
    let tape = Tape::new();
    let mut cx = Context::training(&tape, 0);
    model.forward(tape.var(Tensor::zeros(&[1, 2])), &mut cx);
    let bound: Vec<&str> = cx.bound().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(bound, names(&model));
}

#[test]
fn residual_adds_the_body_to_the_shortcut() {
    let body = "linear(3,3), tanh";
    let model = Sequential::<f64>::from_spec_seeded(
        &format!("residual({body}, downsample=linear(3,3), after=relu)"),
        5,
    )
    .unwrap();
    // The same weights: drawn in the same order (body, then downsample).
    let parts = Sequential::<f64>::from_spec_seeded(&format!("{body}, linear(3,3)"), 5).unwrap();
    let x = Tensor::from_fn(&[4, 3], |i| (i as f64 * 0.37).sin() * 2.0);
    let tape = Tape::new();
    let mut cx = Context::inference(&tape);
    let xv = tape.constant(x.clone());
    let y = model.forward(xv, &mut cx).value();
    let h = parts.forward_range(xv, &mut cx, 0..2).value();
    let s = parts.forward_range(xv, &mut cx, 2..3).value();
    let expected = h.zip_map(&s, |a, b| (a + b).max(0.0));
    assert_eq!(y.max_abs_diff(&expected), 0.0);
    // Identity shortcut.
    let identity = Sequential::<f64>::from_spec_seeded(&format!("residual({body})"), 5).unwrap();
    let y = identity.forward(xv, &mut cx).value();
    assert_eq!(y.max_abs_diff(&h.zip_map(&x, |a, b| a + b)), 0.0);
}

#[test]
fn residual_shape_errors_say_which_branch_and_where() {
    let model: Sequential = Sequential::from_spec("layer1: (relu, residual(linear(4,8)))").unwrap();
    assert_eq!(
        model.output_shape(&[2, 4]).unwrap_err().to_string(),
        "layer layer1.1 (residual): the body's output [2, 8] differs from the input (identity \
         shortcut) [2, 4], and the two are added; project the input with downsample=(...)"
    );
    let model: Sequential =
        Sequential::from_spec("residual(linear(4,8), downsample=(linear(4,6)))").unwrap();
    assert_eq!(
        model.output_shape(&[2, 4]).unwrap_err().to_string(),
        "layer 0 (residual): the body's output [2, 8] differs from the downsample output [2, 6], \
         and the two are added"
    );
    // An error inside a branch names the layer by its path, as the state does.
    let model: Sequential =
        Sequential::from_spec("layer1: (residual(conv1: linear(4,4), downsample=(linear(5,4))))")
            .unwrap();
    let err = model.output_shape(&[2, 4]).unwrap_err().to_string();
    assert!(
        err.starts_with("layer layer1.0.downsample.0 (linear(5,4)): "),
        "{err}"
    );
    let err = model.output_shape(&[2, 3]).unwrap_err().to_string();
    assert!(
        err.starts_with("layer layer1.0.conv1 (linear(4,4)): "),
        "{err}"
    );
    // Unnamed, unnested layers keep their old label.
    let err = Sequential::<f32>::from_spec("relu, linear(4,4)")
        .unwrap()
        .output_shape(&[2, 3]);
    assert!(err
        .unwrap_err()
        .to_string()
        .starts_with("layer 1 (linear(4,4)): "));
}

#[test]
fn train_and_eval_reach_every_branch() {
    let mut model: Sequential = Sequential::from_spec(
        "residual(relu, downsample=(batchnorm2d(2))), residual(dropout, after=relu)",
    )
    .unwrap();
    model.set_training(false);
    assert!(!model.is_training());
    model.set_training(true);
    assert!(model.is_training());
    for spec in ["residual(batchnorm2d(2))", "residual(relu, after=dropout)"] {
        let mut m: Sequential = Sequential::from_spec(spec).unwrap();
        m.set_training(true);
        assert!(m.is_training(), "{spec}");
        m.set_training(false);
        assert!(!m.is_training(), "{spec}");
    }
}

#[test]
fn rust_built_blocks_print_as_specs() {
    let mut inner = Sequential::<f32>::new();
    inner.push_named("act", Box::new(Tanh)).unwrap();
    inner.push(ReLU);
    let mut model = Sequential::<f32>::new();
    model.push_named("block", Box::new(inner)).unwrap();
    let body = Sequential::new().with(ReLU);
    let residual = Residual::new(body)
        .unwrap()
        .with_downsample(Box::new(Sequential::new().with(Tanh)))
        .with_after(Box::new(ReLU));
    assert_eq!(residual.body().len(), 1);
    assert!(residual.downsample().is_some() && residual.after().is_some());
    model.push(residual);
    let text = model.to_string();
    assert_eq!(
        text,
        "block: (act: tanh, relu), residual(relu, downsample=(tanh), after=relu)"
    );
    assert_eq!(canonical(&text), text);
    assert_eq!(format!("{model:?}"), format!("Sequential({text})"));
}

#[test]
fn push_named_refuses_bad_and_duplicate_names() {
    let mut model = Sequential::<f32>::new();
    model.push_named("a", Box::new(ReLU)).unwrap();
    let err = |r: nn::Result<()>| r.unwrap_err().to_string();
    assert_eq!(
        err(model.push_named("a", Box::new(ReLU))),
        "two layers are named \"a\""
    );
    for bad in ["", "1", "a.b", "conv 1", "é"] {
        assert_eq!(
            err(model.push_named(bad, Box::new(ReLU))),
            format!(
                "layer name {bad:?} is not an identifier (a letter or _, then letters, digits \
                 and _)"
            )
        );
    }
    assert_eq!(model.len(), 1);
    assert!(Residual::new(Sequential::<f32>::new()).is_err());
}

#[test]
fn arbitrary_block_text_never_panics() {
    let tokens = [
        "residual",
        "(",
        ")",
        ",",
        ":",
        "=",
        "downsample",
        "after",
        "relu",
        "a",
        "linear(2,2)",
        "1",
    ];
    // Every string of up to 4 tokens.
    let mut specs = vec![String::new()];
    for _ in 0..4 {
        let longer: Vec<String> = specs
            .iter()
            .flat_map(|s| tokens.iter().map(move |t| format!("{s} {t}")))
            .collect();
        for spec in &longer {
            if let Err(e) = Sequential::<f32>::from_spec(spec) {
                let NnError::Spec { position, .. } = e else {
                    panic!("{spec:?}: {e:?}");
                };
                assert!(position <= spec.len(), "{spec:?}");
            } else {
                let printed = canonical(spec);
                assert_eq!(canonical(&printed), printed, "{spec:?}");
            }
        }
        specs = longer;
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
