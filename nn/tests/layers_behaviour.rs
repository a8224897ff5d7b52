//! The layers' behaviour against PyTorch's, on hand-computed cases: output shapes (PyTorch's
//! formulas, and forward agreeing with `output_shape`), shape errors, `state_dict` names and order,
//! default initialisation, batch normalization's statistics, dropout, the canonical spec printed by
//! `Display`, and what the two kinds of `Context` differentiate.

use autograd::{Conv2dOptions, Pool2dOptions, Tape, Tensor};
use nn::{
    AvgPool2d, BatchNorm2d, Context, Conv2d, Dropout, Flatten, LeakyReLU, Linear, LogSoftmax,
    MaxPool2d, Module, NnError, ReLU, Sequential, Sigmoid, Softmax, StateKind, Tanh,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_slice(data, shape).unwrap()
}

fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol,
            "element {i}: {a} vs expected {e}\n  actual {actual:?}\n  expected {expected:?}"
        );
    }
}

/// The output of `layer` on `x`, in an inference context.
fn run(layer: &dyn Module<f64>, x: &Tensor<f64>) -> Tensor<f64> {
    let tape = Tape::new();
    let mut cx = Context::inference(&tape);
    layer.forward(tape.constant(x.clone()), &mut cx).value()
}

/// Checks `output_shape(input) == expected` and that forward really produces that shape.
fn assert_shape(layer: &dyn Module<f64>, input: &[usize], expected: &[usize]) {
    assert_eq!(
        layer.output_shape(input).unwrap(),
        expected,
        "{layer} on {input:?}"
    );
    let y = run(layer, &Tensor::from_fn(input, |i| (i % 7) as f64 - 3.0));
    assert_eq!(y.shape(), expected, "{layer}: forward on {input:?}");
}

/// Checks that `output_shape(input)` is a shape error naming `layer` (by its spec) and the input
/// shape, and whose message contains each of `needles`; returns the `Display` text.
fn assert_shape_error(layer: &dyn Module<f64>, input: &[usize], needles: &[&str]) -> String {
    let err = layer
        .output_shape(input)
        .expect_err(&format!("{layer} should reject {input:?}"));
    let NnError::Shape {
        layer: name,
        message,
    } = &err
    else {
        panic!("{layer} on {input:?}: expected NnError::Shape, got {err:?}");
    };
    assert_eq!(name, &layer.to_string());
    let text = err.to_string();
    assert_eq!(text, format!("layer {name}: {message}"));
    assert!(text.contains(&format!("{input:?}")), "{text}");
    for needle in needles {
        assert!(text.contains(needle), "{text:?} should contain {needle:?}");
    }
    text
}

/// PyTorch's `Conv2d` output size: `floor((in + 2 p - d (k - 1) - 1) / s) + 1`, `None` below 1.
fn torch_conv_out(size: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    let num = (size + 2 * p) as i64 - (d * (k - 1)) as i64 - 1;
    (num >= 0).then(|| num as usize / s + 1)
}

/// PyTorch's `MaxPool2d` / `AvgPool2d` output size (`ceil_mode=False`, no dilation).
fn torch_pool_out(size: usize, k: usize, s: usize, p: usize) -> Option<usize> {
    torch_conv_out(size, k, s, p, 1)
}

fn conv(
    cin: usize,
    cout: usize,
    k: [usize; 2],
    opts: Conv2dOptions,
    bias: bool,
    seed: u64,
) -> Conv2d<f64> {
    Conv2d::new(cin, cout, k, opts, bias, &mut rng(seed)).unwrap()
}

fn maxpool(opts: Pool2dOptions) -> MaxPool2d {
    MaxPool2d::new(opts).unwrap()
}

fn avgpool(opts: Pool2dOptions) -> AvgPool2d {
    AvgPool2d::new(opts).unwrap()
}

/// conv2d(1,4,3,padding=1), relu, batchnorm2d(4), flatten, linear(64,3), for 4x4 inputs.
fn pytorch_order_model() -> Sequential<f64> {
    let mut r = rng(0);
    Sequential::new()
        .with(
            Conv2d::new(
                1,
                4,
                [3, 3],
                Conv2dOptions::default().padding(1),
                true,
                &mut r,
            )
            .unwrap(),
        )
        .with(ReLU)
        .with(BatchNorm2d::new(4, 1e-5, 0.1, true).unwrap())
        .with(Flatten::default())
        .with(Linear::new(64, 3, true, &mut r))
}

// ---------------------------------------------------------------------------------------------
// Output shapes

#[test]
fn linear_output_shape_keeps_leading_axes() {
    let layer = Linear::<f64>::new(5, 3, true, &mut rng(0));
    assert_shape(&layer, &[2, 5], &[2, 3]);
    assert_shape(&layer, &[1, 5], &[1, 3]);
    assert_shape(&layer, &[2, 4, 5], &[2, 4, 3]);
    assert_shape(&layer, &[2, 1, 3, 5], &[2, 1, 3, 3]);
}

#[test]
fn conv2d_output_shape_follows_pytorchs_formula_on_hand_cases() {
    let d = Conv2dOptions::default;
    // MNIST's first layer keeps 28x28 with padding 1.
    assert_shape(
        &conv(1, 16, [3, 3], d().padding(1), true, 0),
        &[2, 1, 28, 28],
        &[2, 16, 28, 28],
    );
    // No padding: 28 - 3 + 1.
    assert_shape(
        &conv(1, 4, [3, 3], d(), true, 0),
        &[1, 1, 28, 28],
        &[1, 4, 26, 26],
    );
    // Rectangular kernel, stride 2: floor((32 - 3) / 2) + 1 = 15, floor((32 - 5) / 2) + 1 = 14.
    assert_shape(
        &conv(3, 8, [3, 5], d().stride(2), false, 0),
        &[1, 3, 32, 32],
        &[1, 8, 15, 14],
    );
    // Dilation 2: effective kernel 5; floor((10 - 5) / 1) + 1 = 6.
    assert_shape(
        &conv(2, 2, [3, 3], d().dilation(2), true, 0),
        &[1, 2, 10, 10],
        &[1, 2, 6, 6],
    );
    // Stride 3, padding 2, kernel 4: floor((7 + 4 - 4) / 3) + 1 = 3.
    assert_shape(
        &conv(1, 1, [4, 4], d().stride(3).padding(2), true, 0),
        &[1, 1, 7, 7],
        &[1, 1, 3, 3],
    );
    // Groups: 4 input channels in 2 groups.
    assert_shape(
        &conv(4, 6, [3, 3], d().groups(2), true, 0),
        &[3, 4, 5, 5],
        &[3, 6, 3, 3],
    );
    // Depthwise, asymmetric padding and stride: H floor((5 + 2 - 3) / 1) + 1 = 5,
    // W floor((6 + 0 - 3) / 2) + 1 = 2.
    let opts = d().groups(3).padding2([1, 0]).stride2([1, 2]);
    assert_shape(
        &conv(3, 3, [3, 3], opts, true, 0),
        &[1, 3, 5, 6],
        &[1, 3, 5, 2],
    );
    // A kernel as large as the padded input: one output.
    assert_shape(
        &conv(1, 1, [5, 5], d().padding(1), true, 0),
        &[1, 1, 3, 3],
        &[1, 1, 1, 1],
    );
}

#[test]
fn conv2d_output_shape_matches_pytorchs_formula_over_a_grid() {
    let mut checked = 0;
    for k in 1..=3 {
        for s in 1..=3 {
            for p in 0..=2 {
                for dil in 1..=2 {
                    let opts = Conv2dOptions::default().stride(s).padding(p).dilation(dil);
                    let layer = conv(2, 3, [k, k + 1], opts, true, 1);
                    for h in 1..=7 {
                        let w = h + 1;
                        let input = [2, 2, h, w];
                        let expected = torch_conv_out(h, k, s, p, dil).zip(torch_conv_out(
                            w,
                            k + 1,
                            s,
                            p,
                            dil,
                        ));
                        match expected {
                            Some((oh, ow)) => assert_shape(&layer, &input, &[2, 3, oh, ow]),
                            None => {
                                assert_shape_error(&layer, &input, &["does not fit"]);
                            }
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 3 * 3 * 3 * 2 * 7);
}

#[test]
fn pooling_output_shapes_follow_pytorchs_formula() {
    let new = Pool2dOptions::new;
    // PyTorch's default stride is the kernel: 28 -> 14, and 5 -> 2 (floor, ceil_mode=False).
    assert_shape(&maxpool(new(2)), &[2, 16, 28, 28], &[2, 16, 14, 14]);
    assert_shape(&maxpool(new(2)), &[1, 1, 5, 5], &[1, 1, 2, 2]);
    // Same-size pooling: 3x3, stride 1, padding 1.
    assert_shape(
        &maxpool(new(3).stride(1).padding(1)),
        &[1, 2, 7, 6],
        &[1, 2, 7, 6],
    );
    // Overlapping windows: floor((7 - 3) / 2) + 1 = 3.
    assert_shape(&avgpool(new(3).stride(2)), &[1, 1, 7, 7], &[1, 1, 3, 3]);
    // Rectangular window with its default stride: 6 / 2 = 3, 6 / 3 = 2.
    assert_shape(
        &avgpool(Pool2dOptions::new2([2, 3])),
        &[1, 1, 6, 6],
        &[1, 1, 3, 2],
    );

    for k in 1..=3 {
        for s in 1..=3 {
            for p in 0..=k / 2 {
                let opts = new(k).stride(s).padding(p);
                for h in 1..=6 {
                    let input = [1, 2, h, h + 2];
                    let expected = torch_pool_out(h, k, s, p).zip(torch_pool_out(h + 2, k, s, p));
                    for layer in [&maxpool(opts) as &dyn Module<f64>, &avgpool(opts)] {
                        match expected {
                            Some((oh, ow)) => assert_shape(layer, &input, &[1, 2, oh, ow]),
                            None => {
                                assert_shape_error(layer, &input, &["does not fit"]);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn flatten_output_shapes_follow_pytorch() {
    let f = |start_dim, end_dim| Flatten { start_dim, end_dim };
    assert_shape(&Flatten::default(), &[2, 3, 4, 5], &[2, 60]);
    assert_shape(&Flatten::default(), &[2, 7], &[2, 7]);
    assert_shape(&f(0, -1), &[2, 3, 4], &[24]);
    assert_shape(&f(1, 2), &[2, 3, 4, 5], &[2, 12, 5]);
    assert_shape(&f(1, -2), &[2, 3, 4, 5], &[2, 12, 5]);
    assert_shape(&f(2, 2), &[2, 3, 4], &[2, 3, 4]);
    assert_shape(&f(2, -1), &[2, 3, 4, 5], &[2, 3, 20]);
}

#[test]
fn shape_preserving_layers_keep_the_shape() {
    let layers: Vec<Box<dyn Module<f64>>> = vec![
        Box::new(ReLU),
        Box::new(LeakyReLU::default()),
        Box::new(Sigmoid),
        Box::new(Tanh),
        Box::new(Softmax { dim: 1 }),
        Box::new(LogSoftmax { dim: 3 }),
        Box::new(Dropout::new(0.5).unwrap()),
        Box::new(BatchNorm2d::new(3, 1e-5, 0.1, true).unwrap()),
    ];
    for layer in &layers {
        assert_shape(layer.as_ref(), &[2, 3, 4, 5], &[2, 3, 4, 5]);
    }
}

// ---------------------------------------------------------------------------------------------
// Shape errors

#[test]
fn output_shape_errors_name_the_layer_and_the_shapes() {
    let linear = Linear::<f64>::new(4, 3, true, &mut rng(0));
    let text = assert_shape_error(&linear, &[2, 5], &["linear(4,3)", "4"]);
    assert_eq!(
        text,
        "layer linear(4,3): expected input [batch, ..., 4], found [2, 5]"
    );
    assert_shape_error(&linear, &[4], &["linear(4,3)"]);

    let c = conv(3, 8, [3, 3], Conv2dOptions::default(), true, 0);
    // Wrong channel count: names both shapes (the weight's too).
    assert_shape_error(
        &c,
        &[1, 4, 8, 8],
        &["conv2d(3,8,3)", "[8, 3, 3, 3]", "4 channels"],
    );
    // Too small for the kernel.
    assert_shape_error(&c, &[1, 3, 2, 8], &["conv2d(3,8,3)", "does not fit"]);
    // Not NCHW.
    assert_shape_error(&c, &[3, 8, 8], &["conv2d(3,8,3)", "rank 4"]);

    let mp = maxpool(Pool2dOptions::new(2));
    assert_shape_error(&mp, &[1, 1, 1, 1], &["maxpool2d(2)", "does not fit"]);
    assert_shape_error(&mp, &[4, 4], &["maxpool2d(2)", "rank 4"]);
    let ap = avgpool(Pool2dOptions::new(3).stride(2));
    assert_shape_error(&ap, &[2, 1, 2, 5], &["avgpool2d(3,stride=2)"]);

    let bn = BatchNorm2d::<f64>::new(16, 1e-5, 0.1, true).unwrap();
    let text = assert_shape_error(&bn, &[2, 8, 4, 4], &["batchnorm2d(16)"]);
    assert_eq!(
        text,
        "layer batchnorm2d(16): expected input [N, 16, H, W], found [2, 8, 4, 4]"
    );
    assert_shape_error(&bn, &[2, 16, 4], &["batchnorm2d(16)"]);

    assert_shape_error(
        &Flatten {
            start_dim: 3,
            end_dim: -1,
        },
        &[2, 3],
        &["flatten(start_dim=3)"],
    );
    assert_shape_error(
        &Flatten {
            start_dim: 2,
            end_dim: 1,
        },
        &[2, 3, 4],
        &["flatten"],
    );
    assert_shape_error(
        &Flatten {
            start_dim: 0,
            end_dim: -4,
        },
        &[2, 3],
        &["flatten"],
    );

    let text = assert_shape_error(&Softmax { dim: 2 }, &[4, 10], &["softmax(dim=2)"]);
    assert_eq!(
        text,
        "layer softmax(dim=2): dim 2 is out of range for input [4, 10]"
    );
    assert_shape_error(&LogSoftmax { dim: 1 }, &[4], &["logsoftmax(dim=1)"]);
}

#[test]
fn sequential_output_shape_range_names_the_failing_layer_by_index() {
    // The design's example spec, built by hand: 16 channels of 14x14 are 3136 features, not 1568,
    // so on 28x28 inputs the linear layer (index 4) is the one that fails.
    let mut r = rng(0);
    let model: Sequential<f64> = Sequential::new()
        .with(
            Conv2d::new(
                1,
                16,
                [3, 3],
                Conv2dOptions::default().padding(1),
                true,
                &mut r,
            )
            .unwrap(),
        )
        .with(ReLU)
        .with(maxpool(Pool2dOptions::new(2)))
        .with(Flatten::default())
        .with(Linear::new(1568, 10, true, &mut r));
    let err = model.output_shape(&[2, 1, 28, 28]).unwrap_err();
    assert_eq!(
        err,
        NnError::Shape {
            layer: "4 (linear(1568,10))".into(),
            message: "expected input [batch, ..., 1568], found [2, 3136]".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "layer 4 (linear(1568,10)): expected input [batch, ..., 1568], found [2, 3136]"
    );
    // The layers before it accept the input, with PyTorch's shapes.
    assert_eq!(
        model.output_shape_range(&[2, 1, 28, 28], 0..4).unwrap(),
        [2, 3136]
    );
    assert_eq!(
        model.output_shape_range(&[2, 1, 28, 28], 0..3).unwrap(),
        [2, 16, 14, 14]
    );
    assert_eq!(model.output_shape_range(&[2, 1568], 4..5).unwrap(), [2, 10]);
    assert_eq!(model.output_shape_range(&[2, 7], 2..2).unwrap(), [2, 7]);
    // The first layer fails on 3 channels: index 0.
    let err = model.output_shape_range(&[1, 3, 8, 8], 0..5).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("layer 0 (conv2d(1,16,3,padding=1)): "),
        "{err}"
    );
    // A sub-range is indexed in the whole model.
    let err = model.output_shape_range(&[1, 5], 2..5).unwrap_err();
    assert!(
        err.to_string().starts_with("layer 2 (maxpool2d(2)): "),
        "{err}"
    );
}

#[test]
fn sequential_output_shape_range_rejects_ranges_outside_the_model() {
    let model = pytorch_order_model();
    #[allow(clippy::reversed_empty_ranges)] // a reversed range is one of the cases
    for range in [0..6, 3..2, 6..6] {
        let err = model
            .output_shape_range(&[1, 1, 4, 4], range.clone())
            .unwrap_err();
        let NnError::Config(message) = &err else {
            panic!("{range:?}: expected NnError::Config, got {err:?}");
        };
        assert!(message.contains(&format!("{range:?}")), "{message}");
        assert!(message.contains("5 layers"), "{message}");
    }
}

// ---------------------------------------------------------------------------------------------
// state_dict names and initialisation

#[test]
fn state_dict_names_follow_pytorch_order() {
    let model = pytorch_order_model();
    let state = model.state_dict();
    let names: Vec<&str> = state.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "0.weight",
            "0.bias",
            "2.weight",
            "2.bias",
            "2.running_mean",
            "2.running_var",
            "2.num_batches_tracked",
            "4.weight",
            "4.bias"
        ]
    );
    let kinds: Vec<StateKind> = state.iter().map(|(_, k, _)| *k).collect();
    use StateKind::{Buffer as B, Parameter as P};
    assert_eq!(kinds, [P, P, P, P, B, B, B, P, P]);
    let shapes: Vec<&[usize]> = state.iter().map(|(_, _, t)| t.shape()).collect();
    assert_eq!(
        shapes,
        [
            &[4, 1, 3, 3][..],
            &[4],
            &[4],
            &[4],
            &[4],
            &[4],
            &[],
            &[3, 64],
            &[3]
        ]
    );
    assert_eq!(model.num_parameters(), 36 + 4 + 4 + 4 + 192 + 3);
    // BatchNorm starts as PyTorch's: weight 1, bias 0, running mean 0, variance 1, no batches.
    assert_eq!(state[2].2.to_vec(), [1.0; 4]);
    assert_eq!(state[3].2.to_vec(), [0.0; 4]);
    assert_eq!(state[4].2.to_vec(), [0.0; 4]);
    assert_eq!(state[5].2.to_vec(), [1.0; 4]);
    assert_eq!(state[6].2.to_vec(), [0.0]);

    // Without affine, no weight or bias (as PyTorch's affine=False).
    let bn = BatchNorm2d::<f64>::new(2, 1e-5, 0.1, false).unwrap();
    let mut names = Vec::new();
    bn.visit_state(&mut |n, _, _| names.push(n.to_string()));
    assert_eq!(
        names,
        ["running_mean", "running_var", "num_batches_tracked"]
    );
    // Without bias, only the weight.
    let lin = Linear::<f64>::new(3, 2, false, &mut rng(0));
    let mut names = Vec::new();
    lin.visit_state(&mut |n, _, _| names.push(n.to_string()));
    assert_eq!(names, ["weight"]);
}

#[test]
fn visit_state_mut_replaces_tensors_by_name() {
    let mut model = pytorch_order_model();
    model.visit_state_mut(&mut |name, _, t| {
        if name == "4.bias" {
            *t = Tensor::from_slice(&[1.0, 2.0, 3.0], &[3]).unwrap();
        }
    });
    let state = model.state_dict();
    let bias = state.iter().find(|(n, _, _)| n == "4.bias").unwrap();
    assert_eq!(bias.2.to_vec(), [1.0, 2.0, 3.0]);
}

/// The largest `|w|` of a tensor.
fn max_abs(t: &Tensor<f64>) -> f64 {
    t.data().iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[test]
fn default_init_is_pytorchs_uniform_within_one_over_sqrt_fan_in() {
    let cases: Vec<(Box<dyn Module<f64>>, f64)> = vec![
        (
            Box::new(Linear::<f64>::new(100, 64, true, &mut rng(1))),
            100.0,
        ),
        (
            Box::new(Linear::<f64>::new(784, 32, true, &mut rng(2))),
            784.0,
        ),
        // fan_in = in_channels * kH * kW.
        (
            Box::new(conv(3, 64, [3, 5], Conv2dOptions::default(), true, 3)),
            45.0,
        ),
        // With groups, fan_in counts the channels of one group: 8 / 4 * 3 * 3.
        (
            Box::new(conv(
                8,
                64,
                [3, 3],
                Conv2dOptions::default().groups(4),
                true,
                4,
            )),
            18.0,
        ),
    ];
    for (layer, fan_in) in &cases {
        let bound = 1.0 / f64::sqrt(*fan_in);
        layer.visit_state(&mut |name, _, t| {
            let m = max_abs(t);
            assert!(m <= bound, "{layer} {name}: max |w| {m} > bound {bound}");
            if t.numel() >= 64 {
                // Uniform over the whole interval: close to the bound, mean near 0.
                assert!(
                    m > 0.9 * bound,
                    "{layer} {name}: max |w| {m} far below {bound}"
                );
                let mean = t.data().iter().sum::<f64>() / t.numel() as f64;
                assert!(mean.abs() < 0.2 * bound, "{layer} {name}: mean {mean}");
            }
        });
    }
    // The same seed gives the same weights; another seed others.
    let a = Linear::<f64>::new(10, 5, true, &mut rng(7));
    let b = Linear::<f64>::new(10, 5, true, &mut rng(7));
    let c = Linear::<f64>::new(10, 5, true, &mut rng(8));
    assert_eq!(a.weight, b.weight);
    assert_eq!(a.bias, b.bias);
    assert_ne!(a.weight, c.weight);
}

#[test]
fn constructors_reject_impossible_settings() {
    let d = Conv2dOptions::default;
    let bad_convs = [
        (3, 8, [3, 3], d().groups(2)),
        (4, 6, [3, 3], d().groups(4)),
        (0, 8, [3, 3], d()),
        (3, 8, [0, 3], d()),
        (3, 8, [3, 3], d().stride(0)),
        (3, 8, [3, 3], d().dilation(0)),
    ];
    for (cin, cout, k, opts) in bad_convs {
        let r = Conv2d::<f64>::new(cin, cout, k, opts, true, &mut rng(0));
        assert!(
            matches!(r, Err(NnError::Config(_))),
            "{cin} {cout} {k:?} {opts:?}"
        );
    }
    // PyTorch: "pad should be at most half of effective kernel size".
    assert!(matches!(
        MaxPool2d::new(Pool2dOptions::new(2).padding(2)),
        Err(NnError::Config(_))
    ));
    assert!(matches!(
        AvgPool2d::new(Pool2dOptions::new(3).padding(2)),
        Err(NnError::Config(_))
    ));
    assert!(MaxPool2d::new(Pool2dOptions::new(2).padding(1)).is_ok());
    assert!(matches!(
        MaxPool2d::new(Pool2dOptions::new(0)),
        Err(NnError::Config(_))
    ));
    assert!(matches!(Dropout::new(-0.1), Err(NnError::Config(_))));
    assert!(matches!(Dropout::new(f64::NAN), Err(NnError::Config(_))));
    assert!(matches!(
        BatchNorm2d::<f64>::new(0, 1e-5, 0.1, true),
        Err(NnError::Config(_))
    ));
    assert!(matches!(
        BatchNorm2d::<f64>::new(4, 0.0, 0.1, true),
        Err(NnError::Config(_))
    ));
    assert!(matches!(
        BatchNorm2d::<f64>::new(4, 1e-5, 1.5, true),
        Err(NnError::Config(_))
    ));
    let w = Tensor::<f64>::zeros(&[3, 2]);
    assert!(matches!(
        Linear::from_weights(w.clone(), Some(Tensor::zeros(&[2]))),
        Err(NnError::Config(_))
    ));
    assert!(matches!(
        Linear::from_weights(Tensor::<f64>::zeros(&[6]), None),
        Err(NnError::Config(_))
    ));
    let lin = Linear::from_weights(w, Some(Tensor::zeros(&[3]))).unwrap();
    assert_eq!((lin.in_features(), lin.out_features()), (2, 3));
}

// ---------------------------------------------------------------------------------------------
// Values on hand cases

#[test]
fn linear_computes_x_w_transposed_plus_b() {
    let w = t(&[1.0, 2.0, 3.0, -1.0, 0.0, 0.5], &[2, 3]);
    let b = t(&[0.5, -1.0], &[2]);
    let layer = Linear::from_weights(w, Some(b)).unwrap();
    let y = run(&layer, &t(&[1.0, 1.0, 1.0, 2.0, 0.0, -2.0], &[2, 3]));
    // [1+2+3+0.5, -1+0+0.5-1], [2-6+0.5, -2-1-1]
    assert_close(y.data(), &[6.5, -1.5, -3.5, -4.0], 1e-12);
}

#[test]
fn conv2d_is_pytorchs_cross_correlation() {
    // A direct loop over PyTorch's definition, with stride, padding, dilation, groups and bias.
    let opts = Conv2dOptions::default()
        .stride2([2, 1])
        .padding2([1, 2])
        .dilation2([1, 2])
        .groups(2);
    let layer = conv(4, 6, [2, 3], opts, true, 11);
    let x = Tensor::<f64>::randn_seeded(&[2, 4, 5, 6], 12);
    let y = run(&layer, &x);
    let (w, b) = (&layer.weight, layer.bias.as_ref().unwrap());
    let (oh, ow) = (
        torch_conv_out(5, 2, 2, 1, 1).unwrap(),
        torch_conv_out(6, 3, 1, 2, 2).unwrap(),
    );
    assert_eq!(y.shape(), [2, 6, oh, ow]);
    let mut expected = Vec::new();
    for n in 0..2 {
        for o in 0..6 {
            let g = o / 3;
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = b.data()[o];
                    for c in 0..2 {
                        for p in 0..2 {
                            for q in 0..3 {
                                let r = (i * 2 + p) as i64 - 1;
                                let s = (j + q * 2) as i64 - 2;
                                if r < 0 || s < 0 || r >= 5 || s >= 6 {
                                    continue;
                                }
                                let xv = x.get(&[n, g * 2 + c, r as usize, s as usize]).unwrap();
                                acc += w.get(&[o, c, p, q]).unwrap() * xv;
                            }
                        }
                    }
                    expected.push(acc);
                }
            }
        }
    }
    assert_close(y.data(), &expected, 1e-12);
}

#[test]
fn pooling_values_follow_pytorch() {
    // Max pool pads with -inf: an all-negative image keeps its own values at the border.
    let x = t(
        &[-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0],
        &[1, 1, 3, 3],
    );
    let y = run(&maxpool(Pool2dOptions::new(3).stride(1).padding(1)), &x);
    assert_eq!(
        y.to_vec(),
        [-1.0, -1.0, -2.0, -1.0, -1.0, -2.0, -4.0, -4.0, -5.0]
    );
    // Average pool counts the padding (count_include_pad=True): corners 4/9, edges 6/9.
    let y = run(
        &avgpool(Pool2dOptions::new(3).stride(1).padding(1)),
        &Tensor::ones(&[1, 1, 3, 3]),
    );
    let (c, e) = (4.0 / 9.0, 6.0 / 9.0);
    assert_close(y.data(), &[c, e, c, e, 1.0, e, c, e, c], 1e-12);
    // 2x2 windows, the default stride; the odd last row and column are dropped.
    let x = Tensor::from_fn(&[1, 1, 3, 5], |i| i as f64);
    assert_eq!(
        run(&maxpool(Pool2dOptions::new(2)), &x).to_vec(),
        [6.0, 8.0]
    );
    assert_close(
        run(&avgpool(Pool2dOptions::new(2)), &x).data(),
        &[3.0, 5.0],
        1e-12,
    );
}

#[test]
fn activations_follow_pytorch_on_hand_values() {
    let x = t(&[-2.0, -0.5, 0.0, 1.5], &[1, 4]);
    assert_eq!(run(&ReLU, &x).to_vec(), [0.0, 0.0, 0.0, 1.5]);
    assert_close(
        run(
            &LeakyReLU {
                negative_slope: 0.2,
            },
            &x,
        )
        .data(),
        &[-0.4, -0.1, 0.0, 1.5],
        1e-15,
    );
    assert_close(
        run(&LeakyReLU::default(), &x).data(),
        &[-0.02, -0.005, 0.0, 1.5],
        1e-15,
    );
    let sig: Vec<f64> = x.data().iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    assert_close(run(&Sigmoid, &x).data(), &sig, 1e-15);
    let tanh: Vec<f64> = x.data().iter().map(|v| v.tanh()).collect();
    assert_close(run(&Tanh, &x).data(), &tanh, 1e-15);

    // Softmax along dim 0 of a [2, 3] tensor normalizes each column.
    let x = t(&[1.0, 2.0, 3.0, 1.0, 0.0, 5.0], &[2, 3]);
    let e = f64::exp;
    let col = |a: f64, b: f64| [e(a) / (e(a) + e(b)), e(b) / (e(a) + e(b))];
    let (c0, c1, c2) = (col(1.0, 1.0), col(2.0, 0.0), col(3.0, 5.0));
    let expected = [c0[0], c1[0], c2[0], c0[1], c1[1], c2[1]];
    assert_close(run(&Softmax { dim: 0 }, &x).data(), &expected, 1e-15);
    let logs: Vec<f64> = expected.iter().map(|p| p.ln()).collect();
    assert_close(run(&LogSoftmax { dim: 0 }, &x).data(), &logs, 1e-14);
    // Along dim 1 each row sums to 1.
    let y = run(&Softmax::default(), &x);
    assert_close(
        &[y.data()[..3].iter().sum(), y.data()[3..].iter().sum()],
        &[1.0, 1.0],
        1e-15,
    );
}

#[test]
fn flatten_keeps_chw_order() {
    let x = Tensor::from_fn(&[2, 2, 2, 3], |i| i as f64);
    let y = run(&Flatten::default(), &x);
    assert_eq!(y.shape(), [2, 12]);
    assert_eq!(y.to_vec(), x.to_vec());
    assert_eq!(y.get(&[1, 7]).unwrap(), x.get(&[1, 1, 0, 1]).unwrap());
}

// ---------------------------------------------------------------------------------------------
// BatchNorm2d

/// `[N=2, C=2, H=1, W=2]`: channel 0 holds 1, 2, 3, 6 (mean 3, biased variance 3.5, unbiased
/// 14/3), channel 1 holds 0, 0, 2, 2 (mean 1, biased variance 1, unbiased 4/3).
fn bn_batch() -> Tensor<f64> {
    t(&[1.0, 2.0, 0.0, 0.0, 3.0, 6.0, 2.0, 2.0], &[2, 2, 1, 2])
}

/// The elements of channel `c` of an `[N, C, H, W]` tensor.
fn channel(x: &Tensor<f64>, c: usize) -> Vec<f64> {
    let s = x.shape();
    let hw = s[2] * s[3];
    (0..s[0])
        .flat_map(|n| x.data()[(n * s[1] + c) * hw..(n * s[1] + c + 1) * hw].to_vec())
        .collect()
}

#[test]
fn batchnorm2d_training_normalizes_each_channel_with_batch_statistics() {
    let mut bn = BatchNorm2d::<f64>::new(2, 1e-5, 0.1, true).unwrap();
    assert!(!bn.is_training(), "starts in evaluation mode");
    bn.set_training(true);
    assert!(bn.is_training());
    let y = run(&bn, &bn_batch());
    let s0 = (3.5f64 + 1e-5).sqrt();
    let s1 = (1.0f64 + 1e-5).sqrt();
    assert_close(
        &channel(&y, 0),
        &[-2.0 / s0, -1.0 / s0, 0.0, 3.0 / s0],
        1e-12,
    );
    assert_close(
        &channel(&y, 1),
        &[-1.0 / s1, -1.0 / s1, 1.0 / s1, 1.0 / s1],
        1e-12,
    );
    // Mean 0 and (biased) variance var / (var + eps) ~ 1 per channel.
    for (c, var) in [(0, 3.5), (1, 1.0)] {
        let v = channel(&y, c);
        let mean = v.iter().sum::<f64>() / 4.0;
        let biased = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0;
        assert!(mean.abs() < 1e-12, "channel {c}: mean {mean}");
        assert!(
            (biased - var / (var + 1e-5)).abs() < 1e-12,
            "channel {c}: variance {biased}"
        );
    }

    // With an affine transform: y * weight + bias per channel.
    bn.visit_state_mut(&mut |name, _, t| match name {
        "weight" => *t = Tensor::from_slice(&[2.0, -1.0], &[2]).unwrap(),
        "bias" => *t = Tensor::from_slice(&[0.5, 3.0], &[2]).unwrap(),
        _ => {}
    });
    let y = run(&bn, &bn_batch());
    assert_close(
        &channel(&y, 0),
        &[-4.0 / s0 + 0.5, -2.0 / s0 + 0.5, 0.5, 6.0 / s0 + 0.5],
        1e-12,
    );
    assert_close(
        &channel(&y, 1),
        &[
            1.0 / s1 + 3.0,
            1.0 / s1 + 3.0,
            3.0 - 1.0 / s1,
            3.0 - 1.0 / s1,
        ],
        1e-12,
    );
}

#[test]
fn batchnorm2d_running_statistics_move_by_momentum_with_unbiased_variance() {
    let mut bn = BatchNorm2d::<f64>::new(2, 1e-5, 0.1, true).unwrap();
    bn.set_training(true);
    run(&bn, &bn_batch());
    let (mean, var) = bn.running_stats();
    // 0.9 * init + 0.1 * batch; init mean 0, variance 1; unbiased variance (n / (n - 1)).
    assert_close(mean.data(), &[0.1 * 3.0, 0.1 * 1.0], 1e-12);
    assert_close(
        var.data(),
        &[0.9 + 0.1 * 14.0 / 3.0, 0.9 + 0.1 * 4.0 / 3.0],
        1e-12,
    );
    let batches = bn.state_dict_value("num_batches_tracked");
    assert_eq!(batches.to_vec(), [1.0]);
    assert_eq!(batches.shape(), [] as [usize; 0]);

    // A second batch moves them again, from where they are.
    let x2 = t(&[0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 1.0, 3.0], &[2, 2, 1, 2]);
    // Channel 0: 0, 0, 2, 2 -> mean 1, unbiased 4/3; channel 1: 1, 1, 1, 3 -> mean 1.5,
    // unbiased 1.
    run(&bn, &x2);
    let (mean2, var2) = bn.running_stats();
    assert_close(
        mean2.data(),
        &[0.9 * 0.3 + 0.1 * 1.0, 0.9 * 0.1 + 0.1 * 1.5],
        1e-12,
    );
    assert_close(
        var2.data(),
        &[
            0.9 * var.data()[0] + 0.1 * 4.0 / 3.0,
            0.9 * var.data()[1] + 0.1 * 1.0,
        ],
        1e-12,
    );
    assert_eq!(bn.state_dict_value("num_batches_tracked").to_vec(), [2.0]);

    // Another momentum: 0.5.
    let mut bn = BatchNorm2d::<f64>::new(2, 1e-5, 0.5, false).unwrap();
    bn.set_training(true);
    run(&bn, &bn_batch());
    let (mean, var) = bn.running_stats();
    assert_close(mean.data(), &[1.5, 0.5], 1e-12);
    assert_close(
        var.data(),
        &[0.5 + 0.5 * 14.0 / 3.0, 0.5 + 0.5 * 4.0 / 3.0],
        1e-12,
    );
}

/// A small extension to read one named state tensor.
trait StateValue {
    fn state_dict_value(&self, name: &str) -> Tensor<f64>;
}

impl<M: Module<f64>> StateValue for M {
    fn state_dict_value(&self, name: &str) -> Tensor<f64> {
        let mut found = None;
        self.visit_state(&mut |n, _, t| {
            if n == name {
                found = Some(t.clone());
            }
        });
        found.unwrap_or_else(|| panic!("no state named {name}"))
    }
}

#[test]
fn batchnorm2d_eval_uses_running_statistics_and_leaves_them() {
    let mut bn = BatchNorm2d::<f64>::new(2, 1e-3, 0.1, true).unwrap();
    bn.visit_state_mut(&mut |name, _, t| {
        let v: &[f64] = match name {
            "weight" => &[2.0, 0.5],
            "bias" => &[1.0, -1.0],
            "running_mean" => &[1.0, -2.0],
            "running_var" => &[4.0, 0.25],
            _ => return,
        };
        *t = Tensor::from_slice(v, &[2]).unwrap();
    });
    let x = bn_batch();
    let y = run(&bn, &x);
    let (s0, s1) = ((4.0f64 + 1e-3).sqrt(), (0.25f64 + 1e-3).sqrt());
    let e0: Vec<f64> = channel(&x, 0)
        .iter()
        .map(|v| (v - 1.0) / s0 * 2.0 + 1.0)
        .collect();
    let e1: Vec<f64> = channel(&x, 1)
        .iter()
        .map(|v| (v + 2.0) / s1 * 0.5 - 1.0)
        .collect();
    assert_close(&channel(&y, 0), &e0, 1e-12);
    assert_close(&channel(&y, 1), &e1, 1e-12);
    let (mean, var) = bn.running_stats();
    assert_eq!(mean.to_vec(), [1.0, -2.0]);
    assert_eq!(var.to_vec(), [4.0, 0.25]);
    assert_eq!(bn.state_dict_value("num_batches_tracked").to_vec(), [0.0]);
    // Training then evaluation on a Sequential switches every layer.
    let mut model = Sequential::new().with(bn).with(Dropout::new(0.5).unwrap());
    assert!(!model.is_training());
    model.set_training(true);
    assert!(model.is_training());
    model.set_training(false);
    assert!(!model.is_training());
    assert_close(run(&model, &x).data(), y.data(), 0.0);
}

#[test]
fn batchnorm2d_training_rejects_one_value_per_channel() {
    let mut bn = BatchNorm2d::<f64>::new(3, 1e-5, 0.1, true).unwrap();
    bn.set_training(true);
    let err = bn.output_shape(&[1, 3, 1, 1]).unwrap_err();
    assert!(matches!(err, NnError::Shape { .. }), "{err:?}");
    assert!(err.to_string().contains("batchnorm2d(3)"), "{err}");
    assert!(err.to_string().contains("[1, 3, 1, 1]"), "{err}");
    // Two values per channel are enough, in any axis; evaluation takes one.
    assert!(bn.output_shape(&[2, 3, 1, 1]).is_ok());
    assert!(bn.output_shape(&[1, 3, 1, 2]).is_ok());
    bn.set_training(false);
    assert!(bn.output_shape(&[1, 3, 1, 1]).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Dropout

#[test]
fn dropout_training_zeroes_about_p_and_scales_the_rest() {
    for p in [0.2, 0.5, 0.8] {
        let mut layer = Dropout::new(p).unwrap();
        Module::<f64>::set_training(&mut layer, true);
        assert!(Module::<f64>::is_training(&layer));
        let x = Tensor::from_fn(&[4, 5000], |i| 1.0 + (i % 13) as f64);
        let tape = Tape::new();
        let y = layer
            .forward(tape.constant(x.clone()), &mut Context::training(&tape, 42))
            .value();
        let mut zeros = 0;
        for (yi, xi) in y.data().iter().zip(x.data()) {
            if *yi == 0.0 {
                zeros += 1;
            } else {
                assert!((yi - xi / (1.0 - p)).abs() < 1e-12, "p {p}: {yi} from {xi}");
            }
        }
        let frac = zeros as f64 / x.numel() as f64;
        // 20000 draws: the standard error is at most 0.0036; allow 5 of them.
        assert!((frac - p).abs() < 0.018, "p {p}: dropped fraction {frac}");
        // The expectation is kept: the mean of y is close to the mean of x.
        let (my, mx) = (
            y.data().iter().sum::<f64>() / y.numel() as f64,
            x.data().iter().sum::<f64>() / x.numel() as f64,
        );
        assert!((my - mx).abs() < 0.1 * mx, "p {p}: mean {my} vs {mx}");
    }
}

#[test]
fn dropout_masks_depend_on_the_context_seed_only() {
    let mut layer = Dropout::new(0.5).unwrap();
    Module::<f64>::set_training(&mut layer, true);
    let x = Tensor::<f64>::ones(&[64]);
    let mask = |seed: u64| {
        let tape = Tape::new();
        layer
            .forward(
                tape.constant(x.clone()),
                &mut Context::training(&tape, seed),
            )
            .value()
    };
    assert_eq!(mask(1), mask(1));
    assert_ne!(mask(1), mask(2));
    // Inference contexts use a fixed seed too: dropout still runs in training mode (as PyTorch's
    // module mode decides, not the context) and is reproducible.
    let inf = |_: ()| {
        let tape = Tape::new();
        layer
            .forward(tape.constant(x.clone()), &mut Context::inference(&tape))
            .value()
    };
    assert_eq!(inf(()), inf(()));
    // The gradient is the mask: a constant, scaled by 1 / (1 - p).
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = layer.forward(xv, &mut Context::training(&tape, 1));
    let g = tape.backward(y.sum()).wrt(xv);
    assert_eq!(g.to_vec(), mask(1).to_vec());
}

#[test]
fn dropout_eval_and_p_zero_are_the_identity() {
    let x = Tensor::<f64>::randn_seeded(&[3, 4, 5], 9);
    let layer = Dropout::new(0.9).unwrap();
    let tape = Tape::new();
    let y = layer
        .forward(tape.constant(x.clone()), &mut Context::training(&tape, 0))
        .value();
    assert_eq!(y, x);
    let mut zero = Dropout::new(0.0).unwrap();
    Module::<f64>::set_training(&mut zero, true);
    assert_eq!(run(&zero, &x), x);
}

// ---------------------------------------------------------------------------------------------
// Display: the canonical spec

#[test]
fn display_gives_the_canonical_spec() {
    let d = Conv2dOptions::default;
    let p = Pool2dOptions::new;
    let cases: Vec<(Box<dyn Module<f64>>, &str)> = vec![
        (
            Box::new(conv(1, 16, [3, 3], d().padding(1), true, 0)),
            "conv2d(1,16,3,padding=1)",
        ),
        (
            Box::new(conv(3, 8, [3, 5], d().stride(2), false, 0)),
            "conv2d(3,8,(3,5),stride=2,bias=False)",
        ),
        (
            Box::new(conv(
                4,
                8,
                [3, 3],
                d().stride2([1, 2]).padding2([1, 0]).dilation(2).groups(2),
                true,
                0,
            )),
            "conv2d(4,8,3,stride=(1,2),padding=(1,0),dilation=2,groups=2)",
        ),
        (Box::new(maxpool(p(2))), "maxpool2d(2)"),
        (
            Box::new(maxpool(p(3).stride(1).padding(1))),
            "maxpool2d(3,stride=1,padding=1)",
        ),
        (Box::new(avgpool(p(2))), "avgpool2d(2)"),
        (
            Box::new(avgpool(Pool2dOptions::new2([2, 3]).stride(1))),
            "avgpool2d((2,3),stride=1)",
        ),
        (Box::new(ReLU), "relu"),
        (Box::new(Sigmoid), "sigmoid"),
        (Box::new(Tanh), "tanh"),
        (
            Box::new(LeakyReLU {
                negative_slope: 0.2,
            }),
            "leakyrelu(negative_slope=0.2)",
        ),
        (Box::new(LeakyReLU::default()), "leakyrelu"),
        (Box::new(Softmax { dim: 1 }), "softmax(dim=1)"),
        (Box::new(LogSoftmax { dim: 0 }), "logsoftmax(dim=0)"),
        (Box::new(Flatten::default()), "flatten"),
        (
            Box::new(Flatten {
                start_dim: 2,
                end_dim: -1,
            }),
            "flatten(start_dim=2)",
        ),
        (
            Box::new(Flatten {
                start_dim: 0,
                end_dim: 2,
            }),
            "flatten(start_dim=0,end_dim=2)",
        ),
        (
            Box::new(BatchNorm2d::<f64>::new(16, 1e-5, 0.1, true).unwrap()),
            "batchnorm2d(16)",
        ),
        (
            Box::new(BatchNorm2d::<f64>::new(8, 1e-3, 0.01, false).unwrap()),
            "batchnorm2d(8,eps=0.001,momentum=0.01,affine=False)",
        ),
        (Box::new(Dropout::new(0.2).unwrap()), "dropout(p=0.2)"),
        (Box::new(Dropout::new(0.5).unwrap()), "dropout"),
        (
            Box::new(Linear::<f64>::new(1568, 10, true, &mut rng(0))),
            "linear(1568,10)",
        ),
        (
            Box::new(Linear::<f64>::new(4, 2, false, &mut rng(0))),
            "linear(4,2,bias=False)",
        ),
    ];
    for (layer, spec) in &cases {
        assert_eq!(layer.to_string(), *spec);
    }
    // A Sequential joins its layers' specs with ", ".
    let mut model = Sequential::<f64>::new();
    for (layer, _) in cases.into_iter().take(4) {
        model.push_boxed(layer);
    }
    assert_eq!(
        model.to_string(),
        "conv2d(1,16,3,padding=1), conv2d(3,8,(3,5),stride=2,bias=False), \
         conv2d(4,8,3,stride=(1,2),padding=(1,0),dilation=2,groups=2), maxpool2d(2)"
    );
    assert_eq!(format!("{model:?}"), format!("Sequential({model})"));
    assert_eq!(Sequential::<f64>::new().to_string(), "");
    assert_eq!(
        pytorch_order_model().to_string(),
        "conv2d(1,4,3,padding=1), relu, batchnorm2d(4), flatten, linear(64,3)"
    );
}

// ---------------------------------------------------------------------------------------------
// Contexts and forward_range

#[test]
fn inference_context_binds_parameters_as_constants_and_gives_them_no_gradient() {
    let model = pytorch_order_model();
    let tape = Tape::new();
    let x = tape.var(Tensor::randn_seeded(&[2, 1, 4, 4], 3));
    let mut cx = Context::inference(&tape);
    let y = model.forward(x, &mut cx);
    let grads = tape.backward(y.sum());
    let names: Vec<&str> = cx.bound().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    );
    for (name, var) in cx.bound() {
        assert!(!var.requires_grad(), "{name} is a variable");
        assert!(grads.get(*var).is_none(), "{name} received a gradient");
    }
    // The input still gets its gradient.
    let gx = grads.get(x).expect("input gradient");
    assert_eq!(gx.shape(), [2, 1, 4, 4]);
    assert!(gx.data().iter().any(|g| *g != 0.0));
}

#[test]
fn training_context_gives_every_parameter_a_gradient_under_its_state_dict_name() {
    let mut model = pytorch_order_model();
    model.set_training(true);
    let tape = Tape::new();
    let x = tape.constant(Tensor::randn_seeded(&[2, 1, 4, 4], 3));
    let mut cx = Context::training(&tape, 0);
    let y = model.forward(x, &mut cx);
    // Weighted so that the batch norm's parameters get a non-zero gradient.
    let u = tape.constant(Tensor::randn_seeded(&[2, 3], 4));
    let grads = tape.backward((y * u).sum());
    assert!(grads.get(x).is_none(), "a constant input gets no gradient");
    let state = model.state_dict();
    let params: Vec<&(String, StateKind, Tensor<f64>)> = state
        .iter()
        .filter(|(_, k, _)| *k == StateKind::Parameter)
        .collect();
    assert_eq!(cx.bound().len(), params.len());
    for ((name, var), (state_name, _, value)) in cx.bound().iter().zip(params) {
        assert_eq!(name, state_name);
        assert!(var.requires_grad(), "{name}");
        let g = grads
            .get(*var)
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        assert_eq!(g.shape(), value.shape(), "{name}");
        assert!(
            g.data().iter().any(|v| *v != 0.0),
            "{name}: gradient is all zeros"
        );
    }
    // The linear bias's gradient is the cotangent summed over the batch.
    let gb = grads.get(cx.bound()[5].1).unwrap();
    let u = Tensor::<f64>::randn_seeded(&[2, 3], 4);
    let expected: Vec<f64> = (0..3).map(|j| u.data()[j] + u.data()[3 + j]).collect();
    assert_close(gb.data(), &expected, 1e-12);
}

#[test]
fn forward_range_equals_the_first_layers_applied_in_turn() {
    let mut model = pytorch_order_model();
    // Non-trivial running statistics so that the batch norm is not the identity.
    model.visit_state_mut(&mut |name, _, t| {
        if name == "2.running_mean" {
            *t = Tensor::from_slice(&[0.1, -0.2, 0.3, 0.0], &[4]).unwrap();
        }
    });
    let x = Tensor::<f64>::randn_seeded(&[2, 1, 4, 4], 5);
    let mut expected = x.clone();
    for k in 0..=model.len() {
        let tape = Tape::new();
        let mut cx = Context::inference(&tape);
        let y = model
            .forward_range(tape.constant(x.clone()), &mut cx, 0..k)
            .value();
        assert_eq!(y, expected, "forward_range(0..{k})");
        assert_eq!(
            y.shape(),
            model.output_shape_range(x.shape(), 0..k).unwrap()
        );
        // The rest of the model from there gives the whole model's output.
        let rest = model
            .forward_range(tape.constant(y.clone()), &mut cx, k..model.len())
            .value();
        assert_eq!(rest, run(&model, &x), "forward_range({k}..)");
        if k < model.len() {
            expected = run(model.layers()[k].as_ref(), &expected);
        }
    }
    assert_eq!(
        model.forward_range_names(),
        ["0.weight", "0.bias", "2.weight", "2.bias"]
    );
}

/// The names `forward_range(0..3)` binds: those of the first three layers, prefixed by index.
trait RangeNames {
    fn forward_range_names(&self) -> Vec<String>;
}

impl RangeNames for Sequential<f64> {
    fn forward_range_names(&self) -> Vec<String> {
        let tape = Tape::new();
        let mut cx = Context::inference(&tape);
        self.forward_range(tape.constant(Tensor::zeros(&[1, 1, 4, 4])), &mut cx, 0..3);
        cx.bound().iter().map(|(n, _)| n.clone()).collect()
    }
}

#[test]
fn context_names_parameters_with_scopes() {
    let tape = Tape::<f64>::new();
    let mut cx = Context::training(&tape, 0);
    assert_eq!(cx.full_name("weight"), "weight");
    cx.scoped("3", |cx| {
        assert_eq!(cx.full_name("bias"), "3.bias");
        cx.scoped("1", |cx| {
            cx.param("weight", &Tensor::zeros(&[1]));
        });
    });
    assert_eq!(cx.full_name("weight"), "weight");
    assert_eq!(cx.bound()[0].0, "3.1.weight");
    // Nested Sequentials name as PyTorch's: "1.0.weight".
    let inner = Sequential::new().with(Linear::<f64>::new(2, 2, true, &mut rng(0)));
    let outer = Sequential::new().with(ReLU).with(inner);
    let names: Vec<String> = outer.state_dict().into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, ["1.0.weight", "1.0.bias"]);
    let tape = Tape::new();
    let mut cx = Context::inference(&tape);
    outer.forward(tape.constant(Tensor::zeros(&[1, 2])), &mut cx);
    let bound: Vec<&str> = cx.bound().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(bound, ["1.0.weight", "1.0.bias"]);
}
