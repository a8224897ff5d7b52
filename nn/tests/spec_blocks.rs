//! Spec strings with named layers, groups and residual blocks: canonical round trips, exact error
//! messages, state names, shapes, forward values, train/eval. torchvision's models written as
//! specs are in `spec_torchvision.rs`.

use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Module, NnError, ReLU, Residual, Sequential, Tanh};

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
    let err = |r: smoothgrad_nn::Result<()>| r.unwrap_err().to_string();
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
