//! Output shapes: PyTorch's formulas, and forward agreeing with `output_shape`.

use super::*;

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
    // ceil_mode=True (torch): 5 -> 3 with 2x2 windows; a ResNet stem's 112 -> 57 with 3x3,
    // stride 2, padding 1; and 5 -> 3 (not 4) there, the last window starting in the padding.
    assert_shape(
        &maxpool(new(2).ceil_mode(true)),
        &[1, 1, 5, 5],
        &[1, 1, 3, 3],
    );
    let stem = new(3).stride(2).padding(1).ceil_mode(true);
    assert_shape(&maxpool(stem), &[1, 1, 112, 112], &[1, 1, 57, 57]);
    assert_shape(
        &avgpool(new(2).padding(1).ceil_mode(true)),
        &[1, 1, 5, 5],
        &[1, 1, 3, 3],
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
