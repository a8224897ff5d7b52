//! Targets: several classes per input, and `Targets::Predicted`.

use super::*;

#[test]
fn multiple_targets_equal_separate_calls_for_every_base_method() {
    let model = relu_cnn(12);
    let inputs = Tensor::<f64>::randn_seeded(&[3, 2, 4, 4], 13);
    let lists = vec![vec![0, 3, 1], vec![2, 2, 0], vec![1, 0, 3]];
    let ig = IntegratedGradients {
        steps: 6,
        ..IntegratedGradients::default()
    };
    let methods: [&dyn Fn(&Targets) -> Tensor<f64>; 4] = [
        &|t| {
            Gradient
                .explain(&model, &inputs, t, &Operator::Logit, 2)
                .unwrap()
                .values
        },
        &|t| {
            GradientXInput
                .explain(&model, &inputs, t, &Operator::Probability, 2)
                .unwrap()
                .values
        },
        &|t| {
            ig.explain(&model, &inputs, t, &Operator::Logit, 2)
                .unwrap()
                .values
        },
        &|t| {
            GuidedBackprop
                .explain(&model, &inputs, t, &Operator::LogProbability, 2)
                .unwrap()
                .values
        },
    ];
    for (m, f) in methods.iter().enumerate() {
        let all = f(&Targets::Multiple(lists.clone()));
        assert_eq!(all.shape(), &[3, 3, 2, 4, 4], "method {m}");
        for j in 0..3 {
            let one = f(&Targets::Classes(lists.iter().map(|l| l[j]).collect()));
            assert_eq!(one.shape(), inputs.shape());
            for n in 0..3 {
                let len = 32;
                let got = &all.data()[(n * 3 + j) * len..(n * 3 + j + 1) * len];
                assert_eq!(
                    got,
                    &one.data()[n * len..(n + 1) * len],
                    "method {m}, input {n}, slot {j}"
                );
            }
        }
    }
}

#[test]
fn multiple_targets_equal_separate_calls_under_smoothgrad() {
    let model = relu_cnn(14);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 2, 4, 4], 15);
    let lists = vec![vec![3, 1], vec![0, 2]];
    let sg = SmoothGrad {
        samples: 10,
        batch_size: 4,
        ..SmoothGrad::default()
    };
    let all = sg
        .explain(
            &model,
            &inputs,
            &Targets::Multiple(lists.clone()),
            &Operator::Logit,
        )
        .unwrap();
    for agg in [
        Aggregation::Mean,
        Aggregation::MeanOfSquares,
        Aggregation::Variance,
    ] {
        assert_eq!(all.get(agg).shape(), &[2, 2, 2, 4, 4]);
    }
    assert_eq!(all.std_error.shape(), &[2, 2, 2, 4, 4]);
    for j in 0..2 {
        let one = sg
            .explain(
                &model,
                &inputs,
                &Targets::Classes(lists.iter().map(|l| l[j]).collect()),
                &Operator::Logit,
            )
            .unwrap();
        for n in 0..2 {
            let len = 32;
            let pick = |t: &Tensor<f64>, at: usize| bits(t)[at * len..(at + 1) * len].to_vec();
            for (a, b) in [
                (&all.mean, &one.mean),
                (&all.mean_of_squares, &one.mean_of_squares),
                (&all.variance, &one.variance),
                (&all.std_error, &one.std_error),
            ] {
                assert_eq!(pick(a, n * 2 + j), pick(b, n), "input {n}, slot {j}");
            }
        }
    }
}

/// One class per input through `Multiple` has no class axis: `[N, ...]`, like `Classes`.
#[test]
fn multiple_targets_with_one_class_keep_the_input_shape() {
    let model = relu_mlp(16, 4, 5, 3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 4], 17);
    let a = Gradient
        .explain(
            &model,
            &inputs,
            &Targets::Multiple(vec![vec![1], vec![2]]),
            &Operator::Logit,
            2,
        )
        .unwrap();
    let b = Gradient
        .explain(
            &model,
            &inputs,
            &Targets::from(vec![1, 2]),
            &Operator::Logit,
            2,
        )
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.values.shape(), &[2, 4]);
}

// ---------------------------------------------------------------------------------------------
// Targets::Predicted.

#[test]
fn predicted_targets_are_the_arg_max() {
    let model = relu_mlp(18, 4, 8, 5);
    let inputs = Tensor::<f64>::randn_seeded(&[6, 4], 19);
    let tape = Tape::new();
    let out = Model::forward(&model, tape.constant(inputs.clone())).value();
    let argmax: Vec<usize> = out
        .data()
        .chunks(5)
        .map(|r| (0..5).fold(0, |b, i| if r[i] > r[b] { i } else { b }))
        .collect();
    assert_eq!(predicted(&model, &inputs, 5), argmax);
    assert!(
        argmax.iter().any(|&c| c != argmax[0]),
        "the inputs should not all predict one class: {argmax:?}"
    );
    let by_prediction = Gradient
        .explain(&model, &inputs, &Targets::Predicted, &Operator::Logit, 4)
        .unwrap();
    let by_class = Gradient
        .explain(
            &model,
            &inputs,
            &Targets::Classes(argmax.clone()),
            &Operator::Logit,
            4,
        )
        .unwrap();
    assert_eq!(by_prediction, by_class);
    let sg = SmoothGrad {
        samples: 5,
        ..SmoothGrad::default()
    };
    assert_eq!(
        sg.explain(&model, &inputs, &Targets::Predicted, &Operator::Logit)
            .unwrap(),
        sg.explain(&model, &inputs, &Targets::Classes(argmax), &Operator::Logit)
            .unwrap()
    );
}

#[test]
fn predicted_breaks_ties_toward_the_first_class() {
    let model = FnModel::new(|x: Var<'_, f64>| {
        // Outputs [s, 2 s, 2 s] for s = sum of the row: ties between classes 1 and 2 (and, for a
        // zero row, between all three).
        let s = x.sum_axes(&[1], true);
        Var::concat(&[s, s * 2.0, s * 2.0], 1)
    });
    let inputs = Tensor::<f64>::from_vec(vec![1.0, 2.0, 0.0, 0.0, -1.0, -1.0], &[3, 2]).unwrap();
    assert_eq!(predicted(&model, &inputs, 3), vec![1, 0, 0]);
}
