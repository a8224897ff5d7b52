//! Noise 0 is the base method, exactly.

use super::*;

/// SmoothGrad over `method` with noise `Absolute(0)` and `Relative(0)` equals `method` itself,
/// bit for bit, with zero variance and standard error, on a ReLU MLP and a ReLU CNN.
fn check_zero_noise<M: Method<f64> + Clone>(method: M) {
    let mlp = relu_mlp::<f64>(3, 5, 8, 3);
    let cnn = relu_cnn::<f64>(4);
    let cases: [(&dyn Model<f64>, Tensor<f64>, Vec<usize>); 2] = [
        (&mlp, Tensor::randn_seeded(&[4, 5], 10), vec![0, 2, 1, 2]),
        (&cnn, Tensor::randn_seeded(&[3, 2, 4, 4], 11), vec![3, 0, 1]),
    ];
    for (model, inputs, classes) in &cases {
        let targets = Targets::Classes(classes.clone());
        let base = method
            .explain(*model, inputs, &targets, &Operator::Logit, 32)
            .unwrap();
        for level in [NoiseLevel::Absolute(0.0), NoiseLevel::Relative(0.0)] {
            for samples in [1, 7] {
                let e = SmoothGrad {
                    batch_size: 3,
                    ..sg(method.clone(), samples, level)
                }
                .explain(*model, inputs, &targets, &Operator::Logit)
                .unwrap();
                let what = format!(
                    "{} {level:?} samples {samples} input {:?}",
                    method.name(),
                    inputs.shape()
                );
                assert_eq!(e.mean.shape(), base.values.shape(), "{what}");
                assert!(
                    bits(&e.mean) == bits(&base.values),
                    "{what}: mean differs from the base method"
                );
                assert!(
                    e.variance.data().iter().all(|&v| v == 0.0),
                    "{what}: variance"
                );
                assert!(
                    e.std_error.data().iter().all(|&v| v == 0.0),
                    "{what}: std error"
                );
                let sq = base.values.map(|v| v * v);
                assert!(
                    bits(&e.mean_of_squares) == bits(&sq),
                    "{what}: mean of squares"
                );
                assert_eq!(e.samples, vec![samples; inputs.shape()[0]], "{what}");
            }
        }
    }
}

#[test]
fn zero_noise_equals_gradient() {
    check_zero_noise(Gradient);
}

#[test]
fn zero_noise_equals_gradient_x_input() {
    check_zero_noise(GradientXInput);
}

#[test]
fn zero_noise_equals_integrated_gradients() {
    check_zero_noise(IntegratedGradients {
        steps: 16,
        internal_batch_size: 5,
        ..IntegratedGradients::default()
    });
    check_zero_noise(IntegratedGradients {
        steps: 9,
        rule: Rule::Trapezoid,
        baseline: Baseline::Constant(0.25),
        internal_batch_size: 64,
    });
}

#[test]
fn zero_noise_equals_guided_backprop() {
    check_zero_noise(GuidedBackprop);
}
