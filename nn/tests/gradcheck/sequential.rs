//! Whole `Sequential` models in training mode: every parameter by its `state_dict` name.

use super::*;

/// conv2d(2,3,3,padding=1), batchnorm2d(3), relu, maxpool2d(2), flatten, linear(12,4), training.
fn small_cnn(seed: u64) -> Sequential<f64> {
    let mut r = rng(seed);
    let mut model = Sequential::new()
        .with(
            Conv2d::new(
                2,
                3,
                [3, 3],
                Conv2dOptions::default().padding(1),
                true,
                &mut r,
            )
            .unwrap(),
        )
        .with(BatchNorm2d::new(3, 1e-5, 0.1, true).unwrap())
        .with(ReLU)
        .with(MaxPool2d::new(Pool2dOptions::new(2)).unwrap())
        .with(Flatten::default())
        .with(Linear::new(12, 4, true, &mut r));
    model.set_training(true);
    // A non-trivial affine transform in the batch norm.
    set_state(&mut model, "1.weight", &uniform(&[3], 0.5, 2.0, seed ^ 1));
    set_state(&mut model, "1.bias", &uniform(&[3], -0.5, 0.5, seed ^ 2));
    model
}

/// Whether `x` (the input of a ReLU then 2x2 max pool) is at least `margin` from every kink: no
/// value near 0, and in each window the two largest positive values apart.
fn away_from_kinks(x: &Tensor<f64>, margin: f64) -> bool {
    if x.data().iter().any(|v| v.abs() < margin) {
        return false;
    }
    let s = x.shape();
    let (h, w) = (s[2], s[3]);
    (0..s[0] * s[1]).all(|plane| {
        (0..h / 2).all(|i| {
            (0..w / 2).all(|j| {
                let mut win: Vec<f64> = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .iter()
                    .map(|(a, b)| x.data()[plane * h * w + (2 * i + a) * w + 2 * j + b].max(0.0))
                    .collect();
                win.sort_by(|a, b| b.total_cmp(a));
                win[0] == 0.0 || win[0] - win[1] >= margin
            })
        })
    })
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn sequential_gradients_for_every_parameter_by_state_dict_name(
        input in tensor_of_shape(vec![2, 2, 4, 4], -2.0..2.0),
        seed in any::<u64>(),
    ) {
        let mut model = small_cnn(seed);
        // The ReLU's input (after conv and batch norm) must be away from its kinks.
        let tape = Tape::new();
        let mut cx = Context::training(&tape, CONTEXT_SEED);
        let pre = model.forward_range(tape.constant(input.clone()), &mut cx, 0..2).value();
        prop_assume!(away_from_kinks(&pre, 1e-4));

        let report = assert_layer(&mut model, &input, seed)?;
        let state_params: Vec<String> = model
            .state_dict()
            .into_iter()
            .filter(|(_, kind, _)| *kind == StateKind::Parameter)
            .map(|(name, _, _)| name)
            .collect();
        prop_assert_eq!(&report.params, &state_params);
        prop_assert_eq!(report.params, vec!["0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"]);
        prop_assert_eq!(report.compared, 64 + 54 + 3 + 3 + 3 + 48 + 4);
    }

    #[test]
    fn sequential_with_dropout_leaky_relu_avg_pool_and_log_softmax(
        input in tensor_away_from(vec![2, 1, 4, 4], -2.0..2.0, vec![0.0], 1e-3),
        seed in any::<u64>(),
    ) {
        let mut r = rng(seed);
        let mut model = Sequential::new()
            .with(LeakyReLU { negative_slope: 0.2 })
            .with(Conv2d::new(1, 2, [2, 2], Conv2dOptions::default().stride(2), false, &mut r).unwrap())
            .with(Tanh)
            .with(AvgPool2d::new(Pool2dOptions::new(2).stride(1)).unwrap())
            .with(Flatten::default())
            .with(Dropout::new(0.3).unwrap())
            .with(Linear::new(2, 3, true, &mut r))
            .with(LogSoftmax { dim: 1 });
        model.set_training(true);
        let report = assert_layer(&mut model, &input, seed)?;
        prop_assert_eq!(report.params, vec!["1.weight", "6.weight", "6.bias"]);
    }
}
