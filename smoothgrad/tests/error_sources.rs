//! Errors keep their causes: an input shape the model rejects becomes
//! [`ExplainError::InputRejected`], whose [`source`](Error::source) is the model's own error (an
//! [`NnError::Shape`] for a `Sequential`), down to the root cause.

mod common;

use std::error::Error;

use smoothgrad::metrics::Deletion;
use smoothgrad::{Cut, ExplainError, FnModel, Operator, SmoothGrad, Targets};
use smoothgrad_autograd::{Tensor, Var};
use smoothgrad_nn::{NnError, Sequential};

use common::{conv3x3, rng};

/// `e` and each error below it, top first.
fn chain<'a>(e: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    std::iter::successors(Some(e), |&e| e.source()).collect()
}

/// A convolution on 2 channels, then a linear layer to 4 classes, for 4x4 images.
fn cnn() -> Sequential<f64> {
    let mut r = rng(1);
    Sequential::new()
        .with(conv3x3(2, 3, &mut r))
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::Flatten::default())
        .with(smoothgrad_nn::Linear::new(3 * 16, 4, true, &mut r))
        .with(smoothgrad_nn::Softmax::default())
}

fn small() -> SmoothGrad {
    SmoothGrad {
        samples: 2,
        ..SmoothGrad::default()
    }
}

#[test]
fn a_wrong_channel_count_keeps_the_layers_error_as_the_source() {
    let inputs = Tensor::<f64>::zeros(&[3, 3, 4, 4]);
    let e = small()
        .explain(
            &cnn(),
            &inputs,
            &Targets::Classes(vec![0; 3]),
            &Operator::Logit,
        )
        .unwrap_err();
    let ExplainError::InputRejected { message, .. } = &e else {
        panic!("expected InputRejected, found {e:?}")
    };
    let errors = chain(&e);
    assert_eq!(errors.len(), 2, "{e:?}");
    let nn_error = errors[1].downcast_ref::<NnError>().unwrap();
    let NnError::Shape { layer, .. } = nn_error else {
        panic!("expected a shape error, found {nn_error:?}")
    };
    assert_eq!(layer, "0 (conv2d(2,3,3,padding=1))");
    // The message frames the layer's own words and names the caller's shape.
    assert_eq!(
        *message,
        format!("{nn_error} (inputs [3, 3, 4, 4], checked one at a time)")
    );
    assert_eq!(e.to_string(), format!("input shape: {message}"));
}

#[test]
fn a_cut_model_and_a_metric_keep_the_source_too() {
    let model = cnn();
    let cut = Cut::before_softmax(&model);
    let e = small()
        .explain(
            &cut,
            &Tensor::<f64>::zeros(&[1, 1, 4, 4]),
            &Targets::Classes(vec![0]),
            &Operator::Logit,
        )
        .unwrap_err();
    let nn_error = e.source().unwrap().downcast_ref::<NnError>().unwrap();
    assert!(matches!(nn_error, NnError::Shape { .. }), "{nn_error:?}");

    let map = vec![0.0f32; 16];
    let e = Deletion::<f64>::default()
        .curve(&cut, &Tensor::<f64>::zeros(&[1, 4, 4]), &map, 0)
        .unwrap_err();
    assert!(matches!(e, ExplainError::InputRejected { .. }), "{e:?}");
    let nn_error = e.source().unwrap().downcast_ref::<NnError>().unwrap();
    assert_eq!(e.to_string(), format!("input shape: {nn_error}"));
    assert!(nn_error.source().is_none());
}

#[test]
fn a_closure_models_panic_message_is_the_root_cause() {
    let w = Tensor::<f64>::zeros(&[3, 4]);
    let model = FnModel::new(move |x: Var<'_, f64>| x.matmul_t(x.tape().constant(w.clone())));
    let e = small()
        .explain(
            &model,
            &Tensor::zeros(&[2, 5]),
            &Targets::Classes(vec![0, 0]),
            &Operator::Logit,
        )
        .unwrap_err();
    let errors = chain(&e);
    assert_eq!(errors.len(), 2, "{e:?}");
    assert!(
        errors[1]
            .to_string()
            .starts_with("the model rejects input of shape [1, 5]: "),
        "{}",
        errors[1]
    );
    assert!(errors[1].source().is_none());
}

#[test]
fn leaf_errors_have_no_source_and_errors_compare_by_kind_and_message() {
    let e = small()
        .explain(
            &cnn(),
            &Tensor::<f64>::zeros(&[4]),
            &Targets::Classes(vec![0; 4]),
            &Operator::Logit,
        )
        .unwrap_err();
    assert!(matches!(e, ExplainError::InputShape(_)), "{e:?}");
    assert!(e.source().is_none());
    let rejected = small()
        .explain(
            &cnn(),
            &Tensor::<f64>::zeros(&[1, 1, 4, 4]),
            &Targets::Classes(vec![0]),
            &Operator::Logit,
        )
        .unwrap_err();
    assert_eq!(rejected.clone(), rejected);
    assert_ne!(rejected, e);
    let boxed: Box<dyn Error + Send + Sync> = Box::new(rejected);
    assert!(boxed.source().is_some());
}
