//! The property-test kit of `smoothgrad`, run over burn models.

use burn_tensor::Tensor;
use proptest::prelude::*;
use smoothgrad::kit::{self, Case};
use smoothgrad::{
    Gradient, GradientXInput, IntegratedGradients, NoiseLevel, Operator, SmoothGrad, Targets,
};
use smoothgrad_burn::tiny::TinyMlp;
use smoothgrad_burn::{tensor, Burn};

type B = burn_autodiff::Autodiff<burn_ndarray::NdArray<f64>>;
type Model = Burn<B, Box<dyn Fn(Tensor<B, 2>) -> Tensor<B, 2> + Sync>, 2>;

fn mlp() -> Model {
    let mlp = TinyMlp::<B>::new::<f64>(6);
    Burn::new(Box::new(move |x| mlp.forward(x)))
}

fn sg<M>(method: M, samples: usize) -> SmoothGrad<M> {
    SmoothGrad {
        samples,
        seed: 5,
        ..SmoothGrad::new(method)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn noise_zero_gives_the_base_method(inputs in kit::inputs::<f64>(&[2, 6], -1.0..1.0)) {
        let model = mlp();
        let targets = Targets::Multiple(vec![vec![1, 2], vec![0, 1]]);
        let case = Case { model: &model, inputs: &inputs, targets: &targets, operator: &Operator::Logit };
        let r = kit::zero_noise_is_base_method(&sg(Gradient, 4), &case, 1e-12);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        let r = kit::zero_noise_is_base_method(&sg(GradientXInput, 3), &case, 1e-12);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        let ig = IntegratedGradients { steps: 8, ..IntegratedGradients::default() };
        let r = kit::zero_noise_is_base_method(&sg(ig, 2), &case, 1e-12);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn on_a_linear_burn_model_smoothgrad_is_the_gradient(
        inputs in kit::inputs::<f64>(&[3, 5], -2.0..2.0),
        sigma in 0.01f64..3.0,
    ) {
        let w: Tensor<B, 2> = tensor::<B, f64, 2>(&smoothgrad_autograd::Tensor::randn_seeded(&[5, 4], 9));
        let b: Tensor<B, 2> = tensor::<B, f64, 2>(&smoothgrad_autograd::Tensor::randn_seeded(&[1, 4], 10));
        let model: Model = Burn::new(Box::new(move |x| x.matmul(w.clone()) + b.clone()));
        let targets = Targets::Multiple(vec![vec![0, 3]; 3]);
        let case = Case { model: &model, inputs: &inputs, targets: &targets, operator: &Operator::Logit };
        let r = kit::linear_smoothgrad_is_gradient(&sg(Gradient, 8), &case, &[sigma, 10.0 * sigma], 1e-12);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn results_do_not_depend_on_batch_size_or_threads(inputs in kit::inputs::<f64>(&[2, 6], -1.0..1.0)) {
        let model = mlp();
        let targets = Targets::Multiple(vec![vec![2, 0], vec![1, 1]]);
        let case = Case { model: &model, inputs: &inputs, targets: &targets, operator: &Operator::Logit };
        let r = kit::independent_of_batching(&sg(Gradient, 7), &case, &[1, 3, 7], &[1, 2, 3], 0.0);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

#[test]
fn changing_the_noise_level_changes_the_result() {
    let model = mlp();
    let inputs = smoothgrad_autograd::Tensor::<f64>::randn_seeded(&[2, 6], 4);
    let targets = Targets::Classes(vec![0, 1]);
    let case = Case {
        model: &model,
        inputs: &inputs,
        targets: &targets,
        operator: &Operator::Logit,
    };
    kit::noise_level_matters(&sg(Gradient, 16), &case, (0.1, 1.0), 0.05).unwrap();
}

#[test]
fn the_estimates_variance_falls_as_one_over_n() {
    let model = mlp();
    let inputs = smoothgrad_autograd::Tensor::<f64>::randn_seeded(&[1, 6], 8);
    let targets = Targets::Classes(vec![2]);
    let case = Case {
        model: &model,
        inputs: &inputs,
        targets: &targets,
        operator: &Operator::Logit,
    };
    let mut s = sg(Gradient, 1);
    s.noise.level = NoiseLevel::Absolute(0.5);
    kit::variance_falls_as_one_over_n(&s, &case, 4, 64, 0.25).unwrap();
}
