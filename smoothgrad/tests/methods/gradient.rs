//! The gradient and gradient x input.

use super::*;

#[test]
fn gradient_matches_per_input_tapes_on_a_cnn() {
    let model = relu_cnn(1);
    let inputs = Tensor::<f64>::randn_seeded(&[5, 2, 4, 4], 2);
    let classes = vec![0, 3, 1, 2, 3];
    for batch in [1, 2, 64] {
        let a = Gradient
            .explain(
                &model,
                &inputs,
                &Targets::Classes(classes.clone()),
                &Operator::Logit,
                batch,
            )
            .unwrap();
        assert_eq!(a.values.shape(), inputs.shape());
        for (n, &c) in classes.iter().enumerate() {
            let g = tape_gradient(&model, &row(&inputs, n), |o| o.pick(&[c]));
            assert_close(
                &row(&a.values, n).to_vec(),
                g.data(),
                1e-12,
                1e-14,
                &format!("batch {batch} input {n}"),
            );
        }
    }
}

#[test]
fn gradient_x_input_is_the_input_times_the_gradient() {
    let model = relu_cnn(3);
    let inputs = Tensor::<f64>::randn_seeded(&[3, 2, 4, 4], 4);
    let t = Targets::Classes(vec![1, 1, 0]);
    let g = Gradient
        .explain(&model, &inputs, &t, &Operator::Logit, 2)
        .unwrap()
        .values;
    let gxi = GradientXInput
        .explain(&model, &inputs, &t, &Operator::Logit, 2)
        .unwrap()
        .values;
    assert_eq!(bits(&gxi), bits(&g.zip_map(&inputs, |g, x| g * x)));
}

#[test]
fn base_methods_do_not_depend_on_the_batch_size() {
    let model = relu_cnn(5);
    let inputs = Tensor::<f64>::randn_seeded(&[7, 2, 4, 4], 6);
    let t = Targets::Multiple((0..7).map(|n| vec![n % 4, (n + 1) % 4]).collect());
    let methods: Vec<Box<dyn Fn(usize) -> Tensor<f64>>> = vec![
        Box::new(|b| {
            Gradient
                .explain(&model, &inputs, &t, &Operator::Logit, b)
                .unwrap()
                .values
        }),
        Box::new(|b| {
            GuidedBackprop
                .explain(&model, &inputs, &t, &Operator::LogProbability, b)
                .unwrap()
                .values
        }),
        Box::new(|b| {
            IntegratedGradients {
                steps: 10,
                ..IntegratedGradients::default()
            }
            .explain(&model, &inputs, &t, &Operator::Logit, b)
            .unwrap()
            .values
        }),
    ];
    for (m, f) in methods.iter().enumerate() {
        let reference = f(7);
        for b in [1, 3, 100] {
            assert_eq!(bits(&f(b)), bits(&reference), "method {m}, batch {b}");
        }
    }
}
