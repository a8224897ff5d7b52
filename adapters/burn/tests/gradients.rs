//! The adapter's gradients are burn's own: sample by sample over the engine's noisy copies, for
//! several targets per input, and SmoothGrad at noise 0 is burn's input gradient.

use burn_tensor::Tensor;
use smoothgrad::noise::Noise;
use smoothgrad::{Differentiable, NoiseLevel, Operator, SmoothGrad, Targets};
use smoothgrad_burn::tiny::TinyMlp;
use smoothgrad_burn::{from_burn, tensor, Burn};

/// burn's CPU backend with autodiff, in `f64`, for tight comparisons.
type B = burn_autodiff::Autodiff<burn_ndarray::NdArray<f64>>;

/// burn's gradient of logit `class` of one sample `[6]`, computed alone.
fn burn_gradient(mlp: &TinyMlp<B>, x: &[f64], class: usize) -> Vec<f64> {
    let ours = smoothgrad_autograd::Tensor::from_vec(x.to_vec(), &[1, 6]).unwrap();
    let input: Tensor<B, 2> = tensor::<B, f64, 2>(&ours).require_grad();
    let z = mlp.forward(input.clone());
    let grads = z.slice([0..1, class..class + 1]).sum().backward();
    from_burn::<_, f64, 2>(input.grad(&grads).unwrap()).to_vec()
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

type Model = Burn<B, Box<dyn Fn(Tensor<B, 2>) -> Tensor<B, 2> + Sync>, 2>;

fn setup() -> (
    Model,
    TinyMlp<B>,
    smoothgrad_autograd::Tensor<f64>,
    Vec<Vec<usize>>,
) {
    let mlp = TinyMlp::<B>::new::<f64>(4);
    let model: Model = Burn::new(Box::new(move |x| mlp.forward(x)));
    let inputs = smoothgrad_autograd::Tensor::<f64>::randn_seeded(&[3, 6], 12);
    let targets = vec![vec![0, 2], vec![1, 0], vec![2, 1]];
    (model, TinyMlp::<B>::new::<f64>(4), inputs, targets)
}

#[test]
fn every_noisy_sample_has_burns_gradient_for_every_target() {
    let (model, reference, inputs, targets) = setup();
    let sg = SmoothGrad {
        samples: 5,
        seed: 17,
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
    assert_eq!(e.mean.shape(), &[3, 2, 6]);
    for (n, classes) in targets.iter().enumerate() {
        let x = &inputs.data()[n * 6..(n + 1) * 6];
        let sigma = sg.noise.sigma(x);
        // The engine's noisy copies of input n, rebuilt from its public streams.
        let mut noisy = Vec::new();
        for i in 0..sg.samples {
            sg.noise.extend_noisy(x, sigma, sg.seed, n, i, &mut noisy);
        }
        let batch = smoothgrad_autograd::Tensor::from_vec(noisy.clone(), &[sg.samples, 6]).unwrap();
        let scored = model.scores_and_gradients(
            &batch,
            &vec![classes.clone(); sg.samples],
            &Operator::Logit,
        );
        for (j, &class) in classes.iter().enumerate() {
            let mut sum = [0.0; 6];
            for i in 0..sg.samples {
                let own = burn_gradient(&reference, &noisy[i * 6..(i + 1) * 6], class);
                let ours = &scored[j].gradients.data()[i * 6..(i + 1) * 6];
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
            // SmoothGrad is the mean of burn's own gradients over those samples.
            let start = (n * 2 + j) * 6;
            assert_close(
                &e.mean.data()[start..start + 6],
                &sum,
                1e-12,
                &format!("SmoothGrad of input {n}, class {class}"),
            );
        }
    }
}

#[test]
fn smoothgrad_at_noise_zero_is_burns_input_gradient() {
    let (model, reference, inputs, targets) = setup();
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
            let own = burn_gradient(&reference, &inputs.data()[n * 6..(n + 1) * 6], class);
            let start = (n * 2 + j) * 6;
            assert_close(
                &e.mean.data()[start..start + 6],
                &own,
                1e-12,
                &format!("input {n}, class {class}"),
            );
            assert!(e.variance.data()[start..start + 6]
                .iter()
                .all(|v| v.abs() < 1e-20));
        }
    }
}

#[test]
fn a_log_probability_score_is_pulled_back_through_burn() {
    // dS/dx for S = log softmax(z)_c, against burn differentiating its own log-softmax.
    let (model, reference, inputs, _) = setup();
    let x = inputs.select_rows(1..2);
    let scored = model.scores_and_gradients(&x, &[vec![2]], &Operator::LogProbability);
    let input: Tensor<B, 2> = tensor::<B, f64, 2>(&x).require_grad();
    let z = reference.forward(input.clone());
    let s = burn_tensor::activation::log_softmax(z, 1)
        .slice([0..1, 2..3])
        .sum();
    let value = from_burn::<_, f64, 1>(s.clone()).to_vec()[0];
    let grads = s.backward();
    let own = from_burn::<_, f64, 2>(input.grad(&grads).unwrap()).to_vec();
    assert_close(
        scored[0].gradients.data(),
        &own,
        1e-10,
        "log-probability gradient",
    );
    assert!((scored[0].scores.data()[0] - value).abs() < 1e-12);
}

#[test]
fn an_input_of_another_rank_is_an_input_error() {
    let (model, _, _, _) = setup();
    let wrong = smoothgrad_autograd::Tensor::<f64>::zeros(&[2, 1, 6]);
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
        msg.contains("the burn model takes inputs of rank 2, found shape [1, 1, 6] (rank 3)"),
        "{msg}"
    );
}
