//! Each layer alone: gradients with respect to its input and its parameters.

use super::*;

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn linear_gradients((input, out, bias, seed) in linear_case()) {
        let inp = *input.shape().last().unwrap();
        let weight = uniform(&[out, inp], -1.0, 1.0, seed);
        let b = bias.then(|| uniform(&[out], -1.0, 1.0, seed ^ 1));
        let mut layer = Linear::from_weights(weight, b).unwrap();
        let report = assert_layer(&mut layer, &input, seed)?;
        let expected: Vec<&str> = if bias { vec!["weight", "bias"] } else { vec!["weight"] };
        prop_assert_eq!(report.params, expected);
        prop_assert_eq!(report.compared, input.numel() + out * inp + if bias { out } else { 0 });
    }

    #[test]
    fn conv2d_gradients(case in conv_case()) {
        let mut layer = Conv2d::<f64>::new(
            case.in_channels,
            case.out_channels,
            case.kernel,
            case.options,
            case.bias,
            &mut rng(case.seed),
        )
        .unwrap();
        let report = assert_layer(&mut layer, &case.input, case.seed)?;
        let expected: Vec<&str> = if case.bias { vec!["weight", "bias"] } else { vec!["weight"] };
        prop_assert_eq!(report.params, expected);
    }

    #[test]
    fn relu_gradients(input in shape(4, 4).prop_flat_map(|s| {
        tensor_away_from(s, -2.0..2.0, vec![0.0], 1e-3)
    })) {
        let report = assert_layer(&mut ReLU, &input, 1)?;
        prop_assert!(report.params.is_empty());
    }

    #[test]
    fn leaky_relu_gradients(
        input in shape(4, 4).prop_flat_map(|s| tensor_away_from(s, -2.0..2.0, vec![0.0], 1e-3)),
        negative_slope in 0.0..0.5f64,
    ) {
        assert_layer(&mut LeakyReLU { negative_slope }, &input, 2)?;
    }

    #[test]
    fn sigmoid_and_tanh_gradients(
        input in shape(4, 4).prop_flat_map(|s| tensor_of_shape(s, -3.0..3.0)),
    ) {
        assert_layer(&mut Sigmoid, &input, 3)?;
        assert_layer(&mut Tanh, &input, 4)?;
    }

    #[test]
    fn softmax_and_log_softmax_gradients(
        (input, dim) in shape_and_dim(4, 4)
            .prop_flat_map(|(s, dim)| (tensor_of_shape(s, -3.0..3.0), Just(dim))),
        seed in any::<u64>(),
    ) {
        assert_layer(&mut Softmax { dim }, &input, seed)?;
        assert_layer(&mut LogSoftmax { dim }, &input, seed)?;
    }

    #[test]
    fn max_pool2d_gradients(
        (opts, input) in pool_case()
            .prop_flat_map(|(opts, s)| (Just(opts), distinct_tensor(s, 4.0))),
        seed in any::<u64>(),
    ) {
        assert_layer(&mut MaxPool2d::new(opts).unwrap(), &input, seed)?;
    }

    #[test]
    fn avg_pool2d_gradients(
        (opts, input) in pool_case()
            .prop_flat_map(|(opts, s)| (Just(opts), tensor_of_shape(s, -2.0..2.0))),
        seed in any::<u64>(),
    ) {
        assert_layer(&mut AvgPool2d::new(opts).unwrap(), &input, seed)?;
    }

    #[test]
    fn flatten_gradients_and_values(
        (input, start, end, negative_end) in shape(5, 3).prop_flat_map(|s| {
            let rank = s.len();
            (0..rank).prop_flat_map(move |start| {
                (tensor_of_shape(s.clone(), -2.0..2.0), Just(start), start..rank, any::<bool>())
            })
        }),
    ) {
        let rank = input.rank();
        let end_dim = if negative_end { end as isize - rank as isize } else { end as isize };
        let mut layer = Flatten { start_dim: start, end_dim };
        let s = input.shape();
        let expected: Vec<usize> = [
            &s[..start],
            &[s[start..=end].iter().product()],
            &s[end + 1..],
        ]
        .concat();
        prop_assert_eq!(Module::<f64>::output_shape(&layer, s).unwrap(), expected);
        // CHW order: the elements are unchanged, only the shape is.
        let tape = Tape::new();
        let y = layer.forward(tape.constant(input.clone()), &mut Context::inference(&tape));
        prop_assert_eq!(y.value().to_vec(), input.to_vec());
        assert_layer(&mut layer, &input, 5)?;
    }

    #[test]
    fn batchnorm2d_training_gradients(
        input in batchnorm_input(),
        affine in any::<bool>(),
        seed in any::<u64>(),
    ) {
        prop_assume!(min_channel_variance(&input) > 0.01);
        let c = input.shape()[1];
        let mut layer = BatchNorm2d::<f64>::new(c, 1e-5, 0.1, affine).unwrap();
        layer.set_training(true);
        if affine {
            set_state(&mut layer, "weight", &uniform(&[c], -2.0, 2.0, seed));
            set_state(&mut layer, "bias", &uniform(&[c], -1.0, 1.0, seed ^ 1));
        }
        let report = assert_layer(&mut layer, &input, seed)?;
        let expected: Vec<&str> = if affine { vec!["weight", "bias"] } else { vec![] };
        prop_assert_eq!(report.params, expected);
    }

    #[test]
    fn batchnorm2d_eval_gradients(
        input in (1..=2usize, 1..=3usize, 1..=3usize, 1..=3usize)
            .prop_flat_map(|(n, c, h, w)| tensor_of_shape(vec![n, c, h, w], -2.0..2.0)),
        seed in any::<u64>(),
    ) {
        let c = input.shape()[1];
        let mut layer = BatchNorm2d::<f64>::new(c, 1e-5, 0.1, true).unwrap();
        set_state(&mut layer, "weight", &uniform(&[c], -2.0, 2.0, seed));
        set_state(&mut layer, "bias", &uniform(&[c], -1.0, 1.0, seed ^ 1));
        let mean = uniform(&[c], -1.0, 1.0, seed ^ 2);
        let var = uniform(&[c], 0.2, 2.0, seed ^ 3);
        set_state(&mut layer, "running_mean", &mean);
        set_state(&mut layer, "running_var", &var);
        let report = assert_layer(&mut layer, &input, seed)?;
        prop_assert_eq!(report.params, vec!["weight", "bias"]);
        // Evaluation never moves the running statistics.
        let (m, v) = layer.running_stats();
        prop_assert_eq!(m, mean);
        prop_assert_eq!(v, var);
    }

    #[test]
    fn dropout_eval_is_the_identity(
        input in shape(4, 4).prop_flat_map(|s| tensor_of_shape(s, -2.0..2.0)),
        p in 0.0..0.95f64,
    ) {
        let mut layer = Dropout::new(p).unwrap();
        let tape = Tape::new();
        let y = Module::<f64>::forward(&layer, tape.constant(input.clone()), &mut Context::training(&tape, 3));
        prop_assert_eq!(y.value(), input.clone());
        assert_layer(&mut layer, &input, 6)?;
    }

    #[test]
    fn dropout_training_gradients_with_a_fixed_mask(
        input in shape(4, 5).prop_flat_map(|s| tensor_of_shape(s, -2.0..2.0)),
        p in 0.05..0.95f64,
    ) {
        let mut layer = Dropout::new(p).unwrap();
        Module::<f64>::set_training(&mut layer, true);
        // Each element is dropped or scaled by 1 / (1 - p).
        let tape = Tape::new();
        let y = layer.forward(tape.constant(input.clone()), &mut Context::training(&tape, CONTEXT_SEED));
        for (yi, xi) in y.value().data().iter().zip(input.data()) {
            prop_assert!(*yi == 0.0 || (yi - xi / (1.0 - p)).abs() <= 1e-12 * xi.abs().max(1.0));
        }
        assert_layer(&mut layer, &input, 7)?;
    }
}
