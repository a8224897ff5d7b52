//! The adapter's gradients are candle's own: sample by sample over the engine's noisy copies, for
//! several targets per input, and SmoothGrad at noise 0 is candle's input gradient.

use candle_core::{Device, IndexOp, Var};
use smoothgrad::noise::Noise;
use smoothgrad::{Differentiable, NoiseLevel, Operator, SmoothGrad, Targets};
use smoothgrad_autograd::Tensor;
use smoothgrad_candle::tiny::TinyCnn;
use smoothgrad_candle::Candle;

/// candle's gradient of logit `class` of one sample `[1, 6, 6]`, computed alone.
fn candle_gradient(cnn: &TinyCnn, x: &[f64], class: usize) -> Vec<f64> {
    let v = Var::from_vec(x.to_vec(), (1, 1, 6, 6), &Device::Cpu).unwrap();
    let z = cnn.forward(v.as_tensor()).unwrap();
    let grads = z.i((0, class)).unwrap().backward().unwrap();
    let g = grads.get(v.as_tensor()).unwrap();
    g.flatten_all().unwrap().to_vec1().unwrap()
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (p, q)) in a.iter().zip(b).enumerate() {
        assert!(
            (p - q).abs() <= tol * (1.0 + q.abs()),
            "{what}: element {i}: {p} vs {q}"
        );
    }
}

fn setup() -> (TinyCnn, Tensor<f64>, Vec<Vec<usize>>) {
    let inputs = Tensor::<f64>::randn_seeded(&[3, 1, 6, 6], 11);
    let targets = vec![vec![0, 3], vec![1, 2], vec![2, 0]];
    (TinyCnn::new::<f64>(3).unwrap(), inputs, targets)
}

#[test]
fn every_noisy_sample_has_candles_gradient_for_every_target() {
    let (cnn, inputs, targets) = setup();
    let reference = TinyCnn::new::<f64>(3).unwrap();
    let model = Candle::new(move |x: &candle_core::Tensor| cnn.forward(x));
    let sg = SmoothGrad {
        samples: 5,
        seed: 21,
        noise: Noise {
            level: NoiseLevel::Relative(0.2),
            ..Noise::default()
        },
        ..SmoothGrad::default()
    };
    let e = sg
        .explain(
            &model,
            &inputs,
            &Targets::Multiple(targets.clone()),
            &Operator::Logit,
        )
        .unwrap();
    assert_eq!(e.mean.shape(), &[3, 2, 1, 6, 6]);
    let len = 36;
    for (n, classes) in targets.iter().enumerate() {
        let x = &inputs.data()[n * len..(n + 1) * len];
        let sigma = sg.noise.sigma(x);
        // The engine's noisy copies of input n, rebuilt from its public streams.
        let mut noisy = Vec::new();
        for i in 0..sg.samples {
            sg.noise.extend_noisy(x, sigma, sg.seed, n, i, &mut noisy);
        }
        let batch = Tensor::from_vec(noisy.clone(), &[sg.samples, 1, 6, 6]).unwrap();
        let per_sample = vec![classes.clone(); sg.samples];
        let scored = model.scores_and_gradients(&batch, &per_sample, &Operator::Logit);
        for (j, &class) in classes.iter().enumerate() {
            let mut sum = vec![0.0; len];
            for i in 0..sg.samples {
                let own = candle_gradient(&reference, &noisy[i * len..(i + 1) * len], class);
                let ours = &scored[j].gradients.data()[i * len..(i + 1) * len];
                assert_close(
                    ours,
                    &own,
                    1e-12,
                    &format!("input {n}, sample {i}, class {class}"),
                );
                for (s, g) in sum.iter_mut().zip(&own) {
                    *s += g / sg.samples as f64;
                }
            }
            // SmoothGrad is the mean of candle's own gradients over those samples.
            let start = (n * 2 + j) * len;
            assert_close(
                &e.mean.data()[start..start + len],
                &sum,
                1e-12,
                &format!("SmoothGrad of input {n}, class {class}"),
            );
        }
    }
}

#[test]
fn smoothgrad_at_noise_zero_is_candles_input_gradient() {
    let (cnn, inputs, targets) = setup();
    let reference = TinyCnn::new::<f64>(3).unwrap();
    let model = Candle::new(move |x: &candle_core::Tensor| cnn.forward(x));
    let sg = SmoothGrad {
        samples: 4,
        batch_size: 3,
        noise: Noise {
            level: NoiseLevel::Absolute(0.0),
            ..Noise::default()
        },
        ..SmoothGrad::default()
    };
    let e = sg
        .explain(
            &model,
            &inputs,
            &Targets::Multiple(targets.clone()),
            &Operator::Logit,
        )
        .unwrap();
    for (n, classes) in targets.iter().enumerate() {
        for (j, &class) in classes.iter().enumerate() {
            let own = candle_gradient(&reference, &inputs.data()[n * 36..(n + 1) * 36], class);
            let start = (n * 2 + j) * 36;
            assert_close(
                &e.mean.data()[start..start + 36],
                &own,
                1e-12,
                &format!("input {n}, class {class}"),
            );
            assert!(e.variance.data()[start..start + 36]
                .iter()
                .all(|v| v.abs() < 1e-20));
        }
    }
}

#[test]
fn a_probability_score_is_pulled_back_through_candle() {
    // dS/dx for S = softmax(z)_c, against candle differentiating its own softmax.
    let (cnn, inputs, _) = setup();
    let reference = TinyCnn::new::<f64>(3).unwrap();
    let model = Candle::new(move |x: &candle_core::Tensor| cnn.forward(x));
    let x = inputs.select_rows(0..1);
    let scored = model.scores_and_gradients(&x, &[vec![2]], &Operator::Probability);
    let v = Var::from_vec(x.to_vec(), (1, 1, 6, 6), &Device::Cpu).unwrap();
    let z = reference.forward(v.as_tensor()).unwrap();
    let exp = z.exp().unwrap();
    let p = exp.broadcast_div(&exp.sum_keepdim(1).unwrap()).unwrap();
    let prob = p.i((0, 2)).unwrap();
    let own = prob.backward().unwrap();
    let own: Vec<f64> = own
        .get(v.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_close(
        scored[0].gradients.data(),
        &own,
        1e-10,
        "probability gradient",
    );
    let p_value: f64 = prob.to_scalar().unwrap();
    assert!((scored[0].scores.data()[0] - p_value).abs() < 1e-12);
}

#[test]
fn a_shape_the_candle_model_rejects_is_an_input_error() {
    let (cnn, _, _) = setup();
    let model = Candle::new(move |x: &candle_core::Tensor| cnn.forward(x));
    let wrong = Tensor::<f64>::zeros(&[2, 1, 5, 5]);
    let err = SmoothGrad::default()
        .explain(
            &model,
            &wrong,
            &Targets::Classes(vec![0, 1]),
            &Operator::Logit,
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("the candle model rejects input of shape [1, 1, 5, 5]"),
        "{msg}"
    );
}
