//! Every way a request can be wrong returns the right [`ExplainError`] variant, with a message
//! that says what was expected and what was found, and never panics. Each call runs under
//! `catch_unwind`, so a panic fails the test with its message instead of passing by accident.

#[path = "../common/mod.rs"]
mod common;
mod inputs;
mod models;
mod parameters;
mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad::noise::Noise;
use smoothgrad::{
    Baseline, ExplainError, FnModel, Gradient, GuidedBackprop, IntegratedGradients, Method, Model,
    NoiseLevel, Operator, SmoothGrad, Targets,
};
use smoothgrad_autograd::{Tensor, Var};
use smoothgrad_nn::Sequential;

use common::conv3x3;

/// Runs `f`, which must return an error and must not panic.
fn error_of<T: std::fmt::Debug>(
    what: &str,
    f: impl FnOnce() -> Result<T, ExplainError>,
) -> ExplainError {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => panic!("{what}: expected an error, got {v:?}"),
        Ok(Err(e)) => e,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{what}: panicked instead of returning an error: {msg}")
        }
    }
}

/// The error from SmoothGrad (with `sg`) and, when `base` is set, from the plain gradient with the
/// same batch size: both paths validate the same way.
fn both_errors(
    sg: &SmoothGrad,
    model: &dyn Model<f64>,
    inputs: &Tensor<f64>,
    targets: &Targets,
    base: bool,
) -> ExplainError {
    let e = error_of("smoothgrad", || {
        sg.explain(model, inputs, targets, &Operator::Logit)
    });
    if base {
        let b = error_of("gradient", || {
            Gradient.explain(model, inputs, targets, &Operator::Logit, sg.batch_size)
        });
        assert_eq!(b, e, "the base method and SmoothGrad disagree");
    }
    e
}

fn mlp() -> Sequential<f64> {
    let mut r = ChaCha8Rng::seed_from_u64(0);
    Sequential::new()
        .with(smoothgrad_nn::Linear::new(4, 5, true, &mut r))
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::Linear::new(5, 3, true, &mut r))
}

fn cnn() -> Sequential<f64> {
    let mut r = ChaCha8Rng::seed_from_u64(1);
    Sequential::new()
        .with(conv3x3(2, 3, &mut r))
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::Flatten::default())
        .with(smoothgrad_nn::Linear::new(3 * 16, 4, true, &mut r))
}

fn small() -> SmoothGrad {
    SmoothGrad {
        samples: 3,
        ..SmoothGrad::default()
    }
}

#[test]
fn errors_are_std_errors_and_clone() {
    let e: Box<dyn std::error::Error + Send + Sync> = Box::new(ExplainError::NonFinite {
        input: 0,
        element: 1,
    });
    assert_eq!(
        e.to_string(),
        "input 0 has a non-finite value (NaN or infinity) at element 1"
    );
    let p = ExplainError::parameter("samples", "x");
    assert_eq!(p.clone(), p);
}
