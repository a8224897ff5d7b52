//! Spec strings: canonical round trips, exact error messages and positions, seeded weights, and
//! property tests that no input makes the parser panic.

use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::Conv2dOptions;
use smoothgrad_nn::{Conv2d, Linear, Module, NnError, Sequential, StateKind};

fn parse(spec: &str) -> smoothgrad_nn::Result<Sequential> {
    Sequential::from_spec(spec)
}

fn canonical(spec: &str) -> String {
    parse(spec)
        .unwrap_or_else(|e| panic!("{spec:?} should parse:\n{e}"))
        .to_string()
}

/// `(position, message)` of the error for `spec`.
fn spec_error(spec: &str) -> (usize, String) {
    match parse(spec) {
        Err(NnError::Spec {
            position,
            message,
            spec: s,
        }) => {
            assert_eq!(s, spec);
            (position, message)
        }
        Err(other) => panic!("{spec:?}: expected a spec error, found {other:?}"),
        Ok(model) => panic!("{spec:?}: expected an error, parsed {model}"),
    }
}

/// The state dict as names, shapes and bit patterns.
fn state_bits(model: &Sequential) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    model
        .state_dict()
        .into_iter()
        .map(|(name, _, t)| {
            let bits = t.data().iter().map(|x| x.to_bits()).collect();
            (name, t.shape().to_vec(), bits)
        })
        .collect()
}

const CANONICAL: &[&str] = &[
    "conv2d(1,16,3,padding=1), relu, maxpool2d(2), flatten, linear(1568,10)",
    "conv2d(4,8,(3,5),stride=(1,2),padding=(1,2),dilation=2,groups=2,bias=False), \
     batchnorm2d(8,eps=0.001,momentum=0.2,affine=False), leakyrelu(negative_slope=0.2), \
     avgpool2d(2,stride=1,padding=1)",
    "flatten(start_dim=2), linear(4,3,bias=False), sigmoid, tanh, softmax(dim=1), \
     logsoftmax(dim=0)",
    "dropout, dropout(p=0.25), relu, leakyrelu, flatten(start_dim=0,end_dim=2), \
     flatten(end_dim=-2)",
    "maxpool2d((2,3),stride=(1,2)), maxpool2d(3,stride=2,padding=1), batchnorm2d(4)",
    "leakyrelu(negative_slope=-0.5), dropout(p=0), batchnorm2d(3,eps=0.00000001,momentum=1)",
];

#[test]
fn canonical_specs_print_back_unchanged() {
    for spec in CANONICAL {
        assert_eq!(canonical(spec), *spec);
    }
}

#[test]
fn pytorch_style_specs_print_canonically() {
    let cases = [
        (
            "conv2d( 1 , 16 , kernel_size = (3, 3) , padding = (1,1) , padding_mode = \"zeros\" )",
            "conv2d(1,16,3,padding=1)",
        ),
        (
            "conv2d(4,4,3,1,0,1,4,False,'zeros')",
            "conv2d(4,4,3,groups=4,bias=False)",
        ),
        ("conv2d(2,4,(3))", "conv2d(2,4,3)"),
        ("relu(), relu(inplace=True)", "relu, relu"),
        (
            "maxpool2d(kernel_size=2, stride=None, padding=0, dilation=1, return_indices=False, \
             ceil_mode=False)",
            "maxpool2d(2)",
        ),
        (
            "maxpool2d(2, 2), maxpool2d(2, (2,2))",
            "maxpool2d(2), maxpool2d(2)",
        ),
        (
            "avgpool2d(3, 1, 1, False, True, None)",
            "avgpool2d(3,stride=1,padding=1)",
        ),
        (
            "maxpool2d(3, 2, 1, ceil_mode=True), avgpool2d(3, 2, 1, True, False)",
            "maxpool2d(3,stride=2,padding=1,ceil_mode=True), \
             avgpool2d(3,stride=2,padding=1,ceil_mode=True,count_include_pad=False)",
        ),
        ("batchnorm2d(16, 1e-05, 0.1, True, True)", "batchnorm2d(16)"),
        ("batchnorm2d(16, eps=1e-3)", "batchnorm2d(16,eps=0.001)"),
        (
            "dropout(.5, inplace=False), dropout(p=0.)",
            "dropout, dropout(p=0)",
        ),
        ("softmax, logsoftmax()", "softmax(dim=1), logsoftmax(dim=1)"),
        (
            "leakyrelu(0.01, true), leakyrelu(2E-1)",
            "leakyrelu, leakyrelu(negative_slope=0.2)",
        ),
        (
            "flatten(1, -1), flatten(0), flatten(1, -2)",
            "flatten, flatten(start_dim=0), flatten(end_dim=-2)",
        ),
        ("linear(4,2,false)", "linear(4,2,bias=False)"),
        (
            "linear(in_features=4, out_features=2, bias=True,)",
            "linear(4,2)",
        ),
        ("linear(out_features=2, in_features=4)", "linear(4,2)"),
        ("\tlinear(4,2)\n,relu", "linear(4,2), relu"),
    ];
    for (spec, expected) in cases {
        assert_eq!(canonical(spec), expected, "{spec}");
    }
}

#[test]
fn canonical_form_is_a_fixed_point() {
    for spec in CANONICAL.iter().copied().chain([
        "conv2d(1,2,(1,7),stride=(3,1))",
        "batchnorm2d(2,eps=1e-300,momentum=0.3333333333333333)",
        "leakyrelu(1e300), dropout(0.1234567890123)",
        "flatten(start_dim=3,end_dim=-4), softmax(dim=7)",
    ]) {
        let once = canonical(spec);
        assert_eq!(canonical(&once), once, "{spec}");
    }
}

#[test]
fn typical_mistakes_have_exact_messages_and_positions() {
    let layer_names = "linear, conv2d, relu, leakyrelu, sigmoid, tanh, softmax, logsoftmax, \
                       maxpool2d, avgpool2d, flatten, batchnorm2d, dropout, identity, gelu, silu, \
                       hardswish, hardsigmoid, relu6, adaptiveavgpool2d, layernorm, layernorm2d, \
                       multiheadattention, residual";
    let cases: Vec<(&str, usize, String)> =
        vec![
        ("", 0, "expected a layer name, found end of input".into()),
        ("   ", 3, "expected a layer name, found end of input".into()),
        ("relu,", 5, "expected a layer name, found end of input".into()),
        ("relu,,tanh", 5, "expected a layer name, found \",\"".into()),
        (
            "conv2(1,16,3)",
            0,
            "unknown layer \"conv2\" at position 0; did you mean \"conv2d\"?".into(),
        ),
        (
            "relu, MaxPool2d(2)",
            6,
            "unknown layer \"MaxPool2d\" at position 6; did you mean \"maxpool2d\"?".into(),
        ),
        (
            "flatten, max_pool2d(2)",
            9,
            "unknown layer \"max_pool2d\" at position 9; did you mean \"maxpool2d\"?".into(),
        ),
        (
            "Conv2d(1,16,3)",
            0,
            "unknown layer \"Conv2d\" at position 0; did you mean \"conv2d\"?".into(),
        ),
        (
            "dense(3,4)",
            0,
            format!("unknown layer \"dense\" at position 0; expected one of: {layer_names}"),
        ),
        (
            "conv2d(1,16)",
            0,
            "conv2d: missing required argument \"kernel_size\"".into(),
        ),
        (
            "linear(3,4,bais=False)",
            11,
            "linear: unexpected keyword argument \"bais\"; did you mean \"bias\"?".into(),
        ),
        (
            "linear(3,4,weight=1)",
            11,
            "linear: unexpected keyword argument \"weight\"; linear takes: in_features, \
             out_features, bias"
                .into(),
        ),
        (
            "relu(inplace=True), sigmoid(inplace=True)",
            28,
            "sigmoid: unexpected keyword argument \"inplace\"; sigmoid takes no arguments".into(),
        ),
        (
            "conv2d(1,16,3,stride=0)",
            21,
            "conv2d: argument \"stride\" expects a positive integer or a pair (h,w), found 0"
                .into(),
        ),
        (
            "conv2d(1,16,3,stride='abc')",
            21,
            "conv2d: argument \"stride\" expects a positive integer or a pair (h,w), found \
             \"abc\""
                .into(),
        ),
        (
            "conv2d(1,16,(3,3,3))",
            12,
            "conv2d: argument \"kernel_size\" expects a positive integer or a pair (h,w), \
             found (3,3,3)"
                .into(),
        ),
        (
            "conv2d(0,16,3)",
            7,
            "conv2d: argument \"in_channels\" expects a positive integer, found 0".into(),
        ),
        (
            "linear(-3,4)",
            7,
            "linear: argument \"in_features\" expects a positive integer, found -3".into(),
        ),
        (
            "linear(3.5,4)",
            7,
            "linear: argument \"in_features\" expects a positive integer, found 3.5".into(),
        ),
        (
            "linear(99999999999999999999,4)",
            7,
            "linear: argument \"in_features\" expects a positive integer, found \
             99999999999999999999 (out of range)"
                .into(),
        ),
        (
            "linear(3,4))",
            11,
            "expected \",\" or end of input after layer, found \")\"".into(),
        ),
        (
            "linear(3 4)",
            9,
            "expected \",\" or \")\" after argument, found 4".into(),
        ),
        (
            "linear(3,4",
            10,
            "expected \",\" or \")\" after argument, found end of input".into(),
        ),
        (
            "linear(3,4,True,5)",
            16,
            "linear: too many positional arguments (expected at most 3, found 4)".into(),
        ),
        (
            "linear(3,4,in_features=3)",
            11,
            "linear: argument \"in_features\" given twice".into(),
        ),
        (
            "linear(in_features=3, 4)",
            22,
            "linear: positional argument follows keyword argument".into(),
        ),
        (
            "linear(3,4,bias=yes)",
            16,
            "expected a value, found \"yes\" (a keyword argument needs \"=\", a string needs \
             quotes)"
                .into(),
        ),
        (
            "linear(3,4,bias=1)",
            16,
            "linear: argument \"bias\" expects True or False, found 1".into(),
        ),
        ("relu @", 5, "unexpected character '@'".into()),
        (
            "conv2d(1,16,3,padding_mode='reflect')",
            27,
            "conv2d: padding_mode=\"reflect\" is not supported (only padding_mode=\"zeros\")"
                .into(),
        ),
        (
            "conv2d(1,16,3,padding='same')",
            22,
            "conv2d: argument \"padding\" expects a non-negative integer or a pair (h,w), found \
             \"same\" (padding='same' is not supported: give the padding, e.g. 1 for a 3x3 \
             kernel)"
                .into(),
        ),
        (
            "conv2d(1,16,3,padding=\"valid\")",
            22,
            "conv2d: argument \"padding\" expects a non-negative integer or a pair (h,w), found \
             \"valid\" (padding='valid' is padding=0)"
                .into(),
        ),
        (
            "maxpool2d(2,return_indices=True)",
            27,
            "maxpool2d: return_indices=True is not supported (only return_indices=False)".into(),
        ),
        (
            "maxpool2d(2,dilation=(1,2))",
            21,
            "maxpool2d: dilation=(1,2) is not supported (only dilation=1)".into(),
        ),
        (
            "avgpool2d(2,divisor_override=3)",
            29,
            "avgpool2d: divisor_override=3 is not supported (only divisor_override=None)".into(),
        ),
        (
            "batchnorm2d(8,track_running_stats=False)",
            34,
            "batchnorm2d: track_running_stats=False is not supported (only \
             track_running_stats=True)"
                .into(),
        ),
        (
            "linear(10,10), softmax(dim=-1)",
            27,
            "softmax: argument \"dim\" expects a non-negative integer, found -1 (negative axes \
             are not supported: count from the front)"
                .into(),
        ),
        (
            "batchnorm2d(8, momentum=None)",
            24,
            "batchnorm2d: argument \"momentum\" expects a finite number, found None".into(),
        ),
        (
            "leakyrelu(1e999)",
            10,
            "leakyrelu: argument \"negative_slope\" expects a finite number, found 1e999".into(),
        ),
        (
            "flatten(start_dim=3,end_dim=1)",
            0,
            "flatten: start_dim 3 comes after end_dim 1".into(),
        ),
        (
            "relu, dropout(1.0)",
            6,
            "dropout: p must be in [0, 1), found 1".into(),
        ),
        (
            "linear(100000,100000)",
            0,
            "linear: a weight of shape [100000, 100000] is larger than the limit of 1073741824 \
             elements"
                .into(),
        ),
        (
            "conv2d(1,2,3), relu, ü",
            21,
            "unexpected character 'ü'".into(),
        ),
        (
            "conv2d(1,16,3,padding_mode='zeros)",
            27,
            "unterminated string: no closing ' before end of input".into(),
        ),
    ];
    for (spec, position, message) in cases {
        assert_eq!(spec_error(spec), (position, message), "{spec}");
    }
}

#[test]
fn layer_constructor_errors_point_at_the_layer() {
    let (position, message) = spec_error("relu, conv2d(3,16,3,groups=2)");
    assert_eq!(position, 6);
    assert!(message.starts_with("conv2d: invalid settings"), "{message}");
    assert!(message.contains("divisible by groups"), "{message}");
    let (position, message) = spec_error("maxpool2d(2,padding=2)");
    assert_eq!(position, 0);
    assert!(
        message.starts_with("maxpool2d: invalid settings"),
        "{message}"
    );
    let (position, message) = spec_error("flatten, batchnorm2d(4,momentum=2)");
    assert_eq!(position, 9);
    assert!(
        message.starts_with("batchnorm2d: invalid settings"),
        "{message}"
    );
}

#[test]
fn error_display_puts_the_caret_under_the_problem() {
    let err = parse("linear(3,4,bais=False)").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid model spec at position 11: linear: unexpected keyword argument \"bais\"; did \
         you mean \"bias\"?\n  linear(3,4,bais=False)\n             ^"
    );
    // The caret counts characters, not bytes.
    let err = parse("relu, ü, é").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid model spec at position 6: unexpected character 'ü'\n  relu, ü, é\n        ^"
    );
}

#[test]
fn layers_get_their_settings() {
    let model = parse(
        "conv2d(4,8,(3,5),stride=2,padding=(1,2),groups=2), batchnorm2d(8), relu, \
         maxpool2d(2), flatten, linear(32,10,bias=False), logsoftmax",
    )
    .unwrap();
    let shapes: Vec<(String, StateKind, Vec<usize>)> = model
        .state_dict()
        .into_iter()
        .map(|(name, kind, t)| (name, kind, t.shape().to_vec()))
        .collect();
    let p = StateKind::Parameter;
    let b = StateKind::Buffer;
    assert_eq!(
        shapes,
        vec![
            ("0.weight".to_string(), p, vec![8, 2, 3, 5]),
            ("0.bias".to_string(), p, vec![8]),
            ("1.weight".to_string(), p, vec![8]),
            ("1.bias".to_string(), p, vec![8]),
            ("1.running_mean".to_string(), b, vec![8]),
            ("1.running_var".to_string(), b, vec![8]),
            ("1.num_batches_tracked".to_string(), b, vec![]),
            ("5.weight".to_string(), p, vec![10, 32]),
        ]
    );
    // [2,4,8,9] -> conv (stride 2, padding (1,2)) [2,8,4,5] -> pool [2,8,2,2] -> flatten [2,32].
    assert_eq!(model.output_shape(&[2, 4, 8, 9]).unwrap(), vec![2, 10]);
    let pooled = parse("avgpool2d(3,stride=1,padding=1)").unwrap();
    assert_eq!(
        pooled.output_shape(&[1, 2, 5, 6]).unwrap(),
        vec![1, 2, 5, 6]
    );
    let f64_model = Sequential::<f64>::from_spec("linear(3,2), tanh").unwrap();
    assert_eq!(f64_model.num_parameters(), 8);
}

#[test]
fn seeded_weights_are_deterministic() {
    let spec = "conv2d(1,4,3), batchnorm2d(4), flatten, linear(36,5), dropout, linear(5,2)";
    let a = Sequential::from_spec_seeded(spec, 7).unwrap();
    let b = Sequential::from_spec_seeded(spec, 7).unwrap();
    assert_eq!(state_bits(&a), state_bits(&b));
    let c = Sequential::from_spec_seeded(spec, 8).unwrap();
    for ((name, _, x), (_, _, y)) in state_bits(&a).iter().zip(state_bits(&c)) {
        // Batch norm (layer 1) starts at fixed values; the linear and conv tensors are drawn.
        assert_eq!(x != &y, !name.starts_with("1."), "{name}");
    }
    let zero = Sequential::from_spec_seeded(spec, 0).unwrap();
    assert_eq!(state_bits(&parse(spec).unwrap()), state_bits(&zero));
}

#[test]
fn weights_are_drawn_layer_by_layer_from_one_chacha8_stream() {
    let seed = 42;
    let model =
        Sequential::from_spec_seeded("linear(4,3), relu, conv2d(2,2,3,bias=False)", seed).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let expected = Sequential::new()
        .with(Linear::<f32>::new(4, 3, true, &mut rng))
        .with(smoothgrad_nn::ReLU)
        .with(Conv2d::<f32>::new(2, 2, [3, 3], Conv2dOptions::default(), false, &mut rng).unwrap());
    assert_eq!(state_bits(&model), state_bits(&expected));
    // Appending layers leaves the earlier ones' weights alone.
    let prefix = Sequential::from_spec_seeded("linear(4,3)", seed).unwrap();
    assert_eq!(state_bits(&prefix)[..], state_bits(&model)[..2]);
}

#[test]
fn every_prefix_of_valid_specs_parses_or_fails_cleanly() {
    for spec in CANONICAL.iter().chain(BASES) {
        for end in (0..=spec.len()).filter(|&i| spec.is_char_boundary(i)) {
            check_no_panic(&spec[..end]);
        }
    }
}

/// Parses `spec`, checking that an error points inside it, on a char boundary, and displays.
fn check_no_panic(spec: &str) {
    if let Err(e) = parse(spec) {
        let NnError::Spec { position, .. } = &e else {
            panic!("{spec:?}: not a spec error: {e:?}");
        };
        assert!(*position <= spec.len(), "{spec:?}: {e:?}");
        assert!(spec.is_char_boundary(*position), "{spec:?}: {e:?}");
        assert!(!e.to_string().is_empty());
    }
}

const BASES: &[&str] = &[
    "conv2d(1,16,3,padding=1), relu, maxpool2d(2), flatten, linear(1568,10)",
    "conv2d(3, 8, kernel_size=(3, 5), stride=2, bias=False, padding_mode='zeros'), \
     batchnorm2d(8, eps=1e-3)",
    "linear(64,32), dropout(p=.25, inplace=True), leakyrelu(-0.2), softmax(dim=1)",
    "avgpool2d(2, stride=None, ceil_mode=False), flatten(1, -1), tanh, sigmoid, logsoftmax()",
    "relu, ünïcödé, linear(2,2)",
    "c1: conv2d(1,2,3), g: (relu, residual(b: linear(2,2), downsample=(linear(2,2)), \
     after=relu))",
];

/// Tokens from which random token soups are built (joined by spaces, so numbers stay small).
const TOKENS: &[&str] = &[
    "conv2d",
    "linear",
    "relu",
    "maxpool2d",
    "avgpool2d",
    "flatten",
    "batchnorm2d",
    "dropout",
    "softmax",
    "leakyrelu",
    "tanh",
    "(",
    ")",
    ",",
    "=",
    "-",
    "0",
    "1",
    "3",
    "2.5",
    "1e-5",
    ".5",
    "True",
    "None",
    "'zeros'",
    "\"same\"",
    "stride",
    "padding",
    "kernel_size",
    "bias",
    "dim",
    "p",
    "(2,3)",
    "groups",
    "end_dim",
    ":",
    "residual",
    "downsample",
    "after",
];

fn mutate(spec: &str, edits: &[(u8, usize, char)]) -> String {
    let mut chars: Vec<char> = spec.chars().collect();
    for &(op, at, c) in edits {
        if chars.is_empty() {
            break;
        }
        let i = at % chars.len();
        match op % 4 {
            0 => {
                chars.remove(i);
            }
            1 => chars.insert(i, chars[i]),
            2 => chars.insert(i, c),
            _ => chars.truncate(i),
        }
    }
    chars.into_iter().collect()
}

/// A random valid layer, written with random optional arguments and spacing.
fn layer_strategy() -> impl Strategy<Value = String> {
    let size = 1usize..6;
    prop_oneof![
        (size.clone(), size.clone(), any::<bool>())
            .prop_map(|(i, o, bias)| format!("linear({i}, {o}, bias={})", py(bias))),
        (
            1usize..4,
            1usize..4,
            1usize..4,
            1usize..4,
            1usize..4,
            0usize..3
        )
            .prop_map(|(g, i, o, kh, kw, pad)| format!(
                "conv2d({},{},({kh},{kw}),stride={kh},padding={pad},dilation=({kw},1),groups={g})",
                g * i,
                g * o
            )),
        (
            1usize..5,
            0usize..3,
            prop::option::of(1usize..4),
            any::<bool>()
        )
            .prop_map(|(k, pad, stride, max)| {
                let stride = stride.map_or("None".to_string(), |s| s.to_string());
                let name = if max { "maxpool2d" } else { "avgpool2d" };
                format!("{name}({},stride={stride},padding={})", 2 * k, pad.min(k))
            }),
        (0usize..4, -4isize..4).prop_map(|(s, e)| format!(
            "flatten({s}, {})",
            if e >= 0 { e.max(s as isize) } else { e }
        )),
        (1usize..8, 1u32..1000, 0u32..=100, any::<bool>()).prop_map(|(c, eps, m, affine)| format!(
            "batchnorm2d({c}, eps={eps}e-6, momentum={}, affine={})",
            f64::from(m) / 100.0,
            py(affine)
        )),
        (0u32..100).prop_map(|p| format!("dropout({})", f64::from(p) / 100.0)),
        (-100i32..100).prop_map(|s| format!("leakyrelu(negative_slope={})", f64::from(s) / 64.0)),
        (0usize..4, any::<bool>()).prop_map(|(d, log)| format!(
            "{}(dim={d})",
            if log { "logsoftmax" } else { "softmax" }
        )),
        Just("relu(inplace=True)".to_string()),
        Just("sigmoid".to_string()),
        Just("tanh()".to_string()),
    ]
}

fn py(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(spec in any::<String>()) {
        check_no_panic(&spec);
    }

    #[test]
    fn spec_alphabet_strings_never_panic(spec in "[a-z0-9_(),=.'\" -]{0,48}") {
        check_no_panic(&spec);
    }

    #[test]
    fn token_soups_never_panic(
        tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..24),
    ) {
        check_no_panic(&tokens.join(" "));
    }

    #[test]
    fn mutated_valid_specs_never_panic(
        base in prop::sample::select(BASES),
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<char>()), 1..4),
    ) {
        check_no_panic(&mutate(base, &edits));
    }

    #[test]
    fn generated_specs_round_trip(layers in prop::collection::vec(layer_strategy(), 1..6)) {
        let spec = layers.join(" , ");
        let model = parse(&spec).map_err(|e| TestCaseError::fail(format!("{spec}\n{e}")))?;
        let printed = model.to_string();
        let reparsed = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}\n{e}")))?;
        prop_assert_eq!(reparsed.to_string(), printed.clone());
        prop_assert_eq!(reparsed.len(), layers.len());
        let shapes = |m: &Sequential| -> Vec<Vec<usize>> {
            m.state_dict().iter().map(|(_, _, t)| t.shape().to_vec()).collect()
        };
        prop_assert_eq!(shapes(&reparsed), shapes(&model));
    }
}
