//! Shape errors name the layer and the shapes.

use super::*;

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
