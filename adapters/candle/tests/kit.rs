//! The property-test kit of `smoothgrad`, run over candle models.

use candle_core::{Device, Tensor as CTensor};
use proptest::prelude::*;
use smoothgrad::kit::{self, Case};
use smoothgrad::{Gradient, GradientXInput, IntegratedGradients, Operator, SmoothGrad, Targets};
use smoothgrad_autograd::Tensor;
use smoothgrad_candle::tiny::TinyCnn;
use smoothgrad_candle::{to_candle, Candle};

fn cnn() -> Candle<impl Fn(&CTensor) -> candle_core::Result<CTensor> + Sync> {
    let cnn = TinyCnn::new::<f64>(5).unwrap();
    Candle::new(move |x: &CTensor| cnn.forward(x))
}

fn sg<M>(method: M, samples: usize) -> SmoothGrad<M> {
    SmoothGrad {
        samples,
        seed: 3,
        ..SmoothGrad::new(method)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn noise_zero_gives_the_base_method(inputs in kit::inputs::<f64>(&[2, 1, 6, 6], -1.0..1.0)) {
        let model = cnn();
        let targets = Targets::Multiple(vec![vec![1, 3], vec![0, 2]]);
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
    fn on_a_linear_candle_model_smoothgrad_is_the_gradient(
        inputs in kit::inputs::<f64>(&[3, 5], -2.0..2.0),
        sigma in 0.01f64..3.0,
    ) {
        let w = to_candle(&Tensor::<f64>::randn_seeded(&[4, 5], 9), &Device::Cpu).unwrap();
        let b = to_candle(&Tensor::<f64>::randn_seeded(&[4], 10), &Device::Cpu).unwrap();
        let model = Candle::new(move |x: &CTensor| x.matmul(&w.t()?)?.broadcast_add(&b));
        let targets = Targets::Multiple(vec![vec![0, 3]; 3]);
        let case = Case { model: &model, inputs: &inputs, targets: &targets, operator: &Operator::Logit };
        let r = kit::linear_smoothgrad_is_gradient(&sg(Gradient, 8), &case, &[sigma, 10.0 * sigma], 1e-12);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn results_do_not_depend_on_batch_size_or_threads(inputs in kit::inputs::<f64>(&[2, 1, 6, 6], -1.0..1.0)) {
        let model = cnn();
        let targets = Targets::Multiple(vec![vec![2, 0], vec![3, 1]]);
        let case = Case { model: &model, inputs: &inputs, targets: &targets, operator: &Operator::Logit };
        let r = kit::independent_of_batching(&sg(Gradient, 7), &case, &[1, 3, 7], &[1, 2, 3], 0.0);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

#[test]
fn changing_the_noise_level_changes_the_result() {
    let model = cnn();
    let inputs = Tensor::<f64>::randn_seeded(&[2, 1, 6, 6], 4);
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
    let model = cnn();
    let inputs = Tensor::<f64>::randn_seeded(&[1, 1, 6, 6], 8);
    let targets = Targets::Classes(vec![2]);
    let case = Case {
        model: &model,
        inputs: &inputs,
        targets: &targets,
        operator: &Operator::Logit,
    };
    let mut s = sg(Gradient, 1);
    s.noise.level = smoothgrad::NoiseLevel::Absolute(0.5);
    kit::variance_falls_as_one_over_n(&s, &case, 4, 64, 0.25).unwrap();
}
