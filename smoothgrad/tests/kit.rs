//! The property-test kit (`smoothgrad::kit`, feature `proptest`) run against our own methods and
//! models: the same checks the framework adapters run.

use proptest::prelude::*;
use smoothgrad::kit::{self, Case};
use smoothgrad::{
    Gradient, GradientXInput, GuidedBackprop, IntegratedGradients, NoiseLevel, Operator,
    SmoothGrad, Targets,
};
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::Sequential;

fn tanh_mlp(seed: u64) -> Sequential<f64> {
    Sequential::from_spec_seeded("linear(5,8), tanh, linear(8,3)", seed).unwrap()
}

fn relu_cnn(seed: u64) -> Sequential<f64> {
    Sequential::from_spec_seeded(
        "conv2d(1,3,3,padding=1), relu, maxpool2d(2), flatten, linear(12,4)",
        seed,
    )
    .unwrap()
}

fn sg<M>(method: M, samples: usize) -> SmoothGrad<M> {
    SmoothGrad {
        samples,
        seed: 9,
        ..SmoothGrad::new(method)
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 8,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn noise_zero_gives_every_base_method(inputs in kit::inputs::<f64>(&[2, 1, 4, 4], -1.0..1.0)) {
        let model = relu_cnn(1);
        let targets = Targets::Multiple(vec![vec![0, 3], vec![2, 1]]);
        let case = Case { model: &model, inputs: &inputs, targets: &targets, operator: &Operator::Logit };
        // Our tape gives every row the same bits whatever the batch: exact equality.
        let r = kit::zero_noise_is_base_method(&sg(Gradient, 5), &case, 0.0);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        let r = kit::zero_noise_is_base_method(&sg(GradientXInput, 3), &case, 0.0);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        let r = kit::zero_noise_is_base_method(&sg(GuidedBackprop, 3), &case, 0.0);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        let ig = IntegratedGradients { steps: 6, ..IntegratedGradients::default() };
        let r = kit::zero_noise_is_base_method(&sg(ig, 2), &case, 1e-14);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn on_a_linear_model_smoothgrad_is_the_gradient(
        inputs in kit::inputs::<f64>(&[3, 6], -2.0..2.0),
        sigma in 0.01f64..5.0,
        seed in 0u64..1000,
    ) {
        let model: Sequential<f64> = Sequential::from_spec_seeded("linear(6,4)", seed).unwrap();
        let targets = Targets::Multiple(vec![vec![1, 3]; 3]);
        for operator in [Operator::Logit, Operator::Output(2)] {
            let case = Case { model: &model, inputs: &inputs, targets: &targets, operator: &operator };
            let r = kit::linear_smoothgrad_is_gradient(&sg(Gradient, 6), &case, &[sigma, 4.0 * sigma], 1e-12);
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
    }

    #[test]
    fn results_do_not_depend_on_batch_size_or_threads(inputs in kit::inputs::<f64>(&[2, 5], -1.0..1.0)) {
        let model = tanh_mlp(2);
        let targets = Targets::Multiple(vec![vec![2, 0], vec![1, 1]]);
        let case = Case { model: &model, inputs: &inputs, targets: &targets, operator: &Operator::Probability };
        let r = kit::independent_of_batching(&sg(Gradient, 9), &case, &[1, 4, 9], &[1, 2, 3], 0.0);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        let r = kit::independent_of_batching(&sg(GradientXInput, 5), &case, &[2, 5], &[1, 3], 0.0);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

#[test]
fn changing_the_noise_level_changes_the_result() {
    let model = tanh_mlp(3);
    let inputs = Tensor::<f64>::randn_seeded(&[2, 5], 4);
    let targets = Targets::Classes(vec![0, 2]);
    let case = Case {
        model: &model,
        inputs: &inputs,
        targets: &targets,
        operator: &Operator::Logit,
    };
    kit::noise_level_matters(&sg(Gradient, 16), &case, (0.1, 1.0), 0.05).unwrap();
    // The check can fail: on a linear model, no noise level changes anything.
    let linear: Sequential<f64> = Sequential::from_spec_seeded("linear(5,3)", 1).unwrap();
    let case = Case {
        model: &linear,
        inputs: &inputs,
        targets: &targets,
        operator: &Operator::Logit,
    };
    let err = kit::noise_level_matters(&sg(Gradient, 16), &case, (0.1, 1.0), 0.05).unwrap_err();
    assert!(
        err.starts_with("expected noise 0.1 and 1 to give results at least 0.05 apart"),
        "{err}"
    );
}

#[test]
fn the_estimates_variance_falls_as_one_over_n() {
    let model = tanh_mlp(5);
    let inputs = Tensor::<f64>::randn_seeded(&[1, 5], 6);
    let targets = Targets::Classes(vec![1]);
    let case = Case {
        model: &model,
        inputs: &inputs,
        targets: &targets,
        operator: &Operator::Logit,
    };
    let mut s = sg(Gradient, 1);
    s.noise.level = NoiseLevel::Absolute(0.5);
    kit::variance_falls_as_one_over_n(&s, &case, 4, 64, 0.25).unwrap();
    // Too few seeds is refused rather than passed.
    let err = kit::variance_falls_as_one_over_n(&s, &case, 4, 1, 0.5).unwrap_err();
    assert!(err.starts_with("expected n >= 1 and seeds >= 2"), "{err}");
}

#[test]
fn the_checks_see_a_broken_explainer() {
    // A model whose rows interact (each output sums the whole batch) breaks batch independence,
    // and the kit says so.
    let interacting = smoothgrad::FnModel::new(|x: smoothgrad_autograd::Var<'_, f64>| {
        let total = x.sum_axes(&[0], true);
        (x * total).sum_axes(&[1], true)
    });
    let inputs = Tensor::<f64>::randn_seeded(&[1, 3], 2);
    let targets = Targets::Classes(vec![0]);
    let case = Case {
        model: &interacting,
        inputs: &inputs,
        targets: &targets,
        operator: &Operator::Logit,
    };
    let err =
        kit::independent_of_batching(&sg(Gradient, 6), &case, &[1, 6], &[1], 0.0).unwrap_err();
    assert!(
        err.starts_with("batch size 6, 1 threads vs batch size 1, 1 threads: mean"),
        "{err}"
    );
}
