//! Every way a request can be wrong returns the right [`ExplainError`] variant, with a message
//! that says what was expected and what was found, and never panics. Each call runs under
//! `catch_unwind`, so a panic fails the test with its message instead of passing by accident.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use autograd::{Tensor, Var};
use nn::Sequential;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad::noise::Noise;
use smoothgrad::{
    Baseline, ExplainError, FnModel, Gradient, GuidedBackprop, IntegratedGradients, Method, Model,
    NoiseLevel, Operator, SmoothGrad, Targets,
};

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
        .with(nn::Linear::new(4, 5, true, &mut r))
        .with(nn::ReLU)
        .with(nn::Linear::new(5, 3, true, &mut r))
}

fn cnn() -> Sequential<f64> {
    let mut r = ChaCha8Rng::seed_from_u64(1);
    Sequential::new()
        .with(conv3x3(2, 3, &mut r))
        .with(nn::ReLU)
        .with(nn::Flatten::default())
        .with(nn::Linear::new(3 * 16, 4, true, &mut r))
}

fn small() -> SmoothGrad {
    SmoothGrad {
        samples: 3,
        ..SmoothGrad::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Input shapes.

#[test]
fn wrong_channel_count_for_a_conv() {
    let inputs = Tensor::<f64>::zeros(&[3, 3, 4, 4]);
    let e = both_errors(
        &small(),
        &cnn(),
        &inputs,
        &Targets::Classes(vec![0; 3]),
        true,
    );
    let ExplainError::InputRejected { .. } = &e else {
        panic!("expected InputRejected, got {e:?}")
    };
    let text = e.to_string();
    // The layer's own wording belongs to nn; pin the engine's framing and the facts.
    assert!(
        text.starts_with("input shape: layer 0 (conv2d(2,3,3,padding=1)): "),
        "{text}"
    );
    assert!(
        text.contains("has 3 channels") && text.contains("expects 2"),
        "{text}"
    );
}

/// The shape in the message should be the one the caller passed, `[3, 3, 4, 4]`; the engine
/// validates a batch of one and reports `[1, 3, 4, 4]`, which the caller never wrote.
#[test]

fn shape_errors_name_the_callers_shape() {
    let inputs = Tensor::<f64>::zeros(&[3, 3, 4, 4]);
    let text = both_errors(
        &small(),
        &cnn(),
        &inputs,
        &Targets::Classes(vec![0; 3]),
        false,
    )
    .to_string();
    assert!(text.contains("[3, 3, 4, 4]"), "{text}");
}

#[test]
fn input_of_the_wrong_rank_for_a_conv() {
    let inputs = Tensor::<f64>::zeros(&[2, 32]);
    let e = both_errors(
        &small(),
        &cnn(),
        &inputs,
        &Targets::Classes(vec![0, 1]),
        true,
    );
    assert!(matches!(e, ExplainError::InputRejected { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.starts_with("input shape: layer 0 (conv2d(2,3,3,padding=1)): "),
        "{text}"
    );
    assert!(
        text.contains("[1, 32]") && text.contains("rank 4"),
        "{text}"
    );
}

#[test]
fn rank_one_input() {
    let inputs = Tensor::<f64>::zeros(&[4]);
    let e = both_errors(
        &small(),
        &mlp(),
        &inputs,
        &Targets::Classes(vec![0; 4]),
        true,
    );
    assert_eq!(
        e,
        ExplainError::InputShape(
            "expected a batch [N, ...] with N >= 1 and at least one more axis, found [4]".into()
        )
    );
    assert_eq!(
        e.to_string(),
        "input shape: expected a batch [N, ...] with N >= 1 and at least one more axis, found [4]"
    );
    let scalar = Tensor::<f64>::scalar(1.0);
    let e = both_errors(&small(), &mlp(), &scalar, &Targets::Classes(vec![]), true);
    assert!(e.to_string().ends_with("found []"), "{e}");
}

#[test]
fn empty_batch() {
    let inputs = Tensor::<f64>::zeros(&[0, 4]);
    let e = both_errors(&small(), &mlp(), &inputs, &Targets::Classes(vec![]), true);
    assert_eq!(
        e.to_string(),
        "input shape: expected a batch [N, ...] with N >= 1 and at least one more axis, found [0, 4]"
    );
}

#[test]
fn wrong_feature_count_for_a_linear_model() {
    let inputs = Tensor::<f64>::zeros(&[2, 7]);
    let e = both_errors(
        &small(),
        &mlp(),
        &inputs,
        &Targets::Classes(vec![0, 0]),
        true,
    );
    let text = e.to_string();
    assert!(
        text.starts_with("input shape: layer 0 (linear(4,5)): "),
        "{text}"
    );
    assert!(text.contains("4") && text.contains("[1, 7]"), "{text}");
}

#[test]
fn outputs_that_are_not_batch_by_classes() {
    // A linear model takes [N, 2, 4] and returns [N, 2, 3]: not [N, K].
    let inputs = Tensor::<f64>::zeros(&[2, 2, 4]);
    let e = both_errors(
        &small(),
        &mlp(),
        &inputs,
        &Targets::Classes(vec![0, 0]),
        true,
    );
    assert_eq!(
        e,
        ExplainError::OutputShape(
            "expected [batch, K] with K >= 1 for input [1, 2, 4], found [1, 2, 3]".into()
        )
    );
    assert_eq!(
        e.to_string(),
        "model output: expected [batch, K] with K >= 1 for input [1, 2, 4], found [1, 2, 3]"
    );
    // A closure with one score per row, [N], and one with no outputs, [N, 0].
    let rank1 = FnModel::new(|x: Var<'_, f64>| x.sum_axes(&[1], false));
    let e = both_errors(
        &small(),
        &rank1,
        &Tensor::zeros(&[2, 4]),
        &Targets::Classes(vec![0, 0]),
        true,
    );
    assert_eq!(
        e.to_string(),
        "model output: expected [batch, K] with K >= 1 for input [1, 4], found [1]"
    );
    let empty = FnModel::new(|x: Var<'_, f64>| x.narrow(1, 0, 0));
    let e = both_errors(
        &small(),
        &empty,
        &Tensor::zeros(&[2, 4]),
        &Targets::Classes(vec![0, 0]),
        true,
    );
    assert_eq!(
        e.to_string(),
        "model output: expected [batch, K] with K >= 1 for input [1, 4], found [1, 0]"
    );
}

/// A closure model knows nothing of shapes: the default `Model::output_shape` runs it once on
/// zeros and turns the op's panic into an error that carries the op's message.
#[test]
fn a_closure_model_that_panics_on_a_shape_is_an_error() {
    let w = Tensor::<f64>::ones(&[3, 4]);
    let model = FnModel::new(move |x: Var<'_, f64>| x.matmul_t(x.tape().constant(w.clone())));
    let e = both_errors(
        &small(),
        &model,
        &Tensor::zeros(&[2, 5]),
        &Targets::Classes(vec![0, 0]),
        true,
    );
    let ExplainError::InputRejected { message: m, .. } = &e else {
        panic!("expected InputRejected, got {e:?}")
    };
    assert!(
        m.starts_with("the model rejects input of shape [1, 5]: "),
        "{m}"
    );
    assert!(
        m.contains("matmul_t") && m.contains("[1, 5]") && m.contains("[3, 4]"),
        "{m}"
    );
    assert!(e
        .to_string()
        .starts_with("input shape: the model rejects input of shape [1, 5]: "));
    // And the same model explains a shape it accepts.
    let ok = small().explain(
        &model,
        &Tensor::zeros(&[2, 4]),
        &Targets::Classes(vec![0, 2]),
        &Operator::Logit,
    );
    assert!(ok.is_ok());
}

/// A closure that panics with a non-string payload still gives an error.
#[test]
fn a_closure_model_with_an_opaque_panic_is_an_error() {
    let model = FnModel::new(|x: Var<'_, f64>| {
        if x.shape()[1] != 4 {
            std::panic::panic_any(42u32);
        }
        x
    });
    let e = both_errors(
        &small(),
        &model,
        &Tensor::zeros(&[1, 3]),
        &Targets::Classes(vec![0]),
        true,
    );
    assert_eq!(
        e.to_string(),
        "input shape: the model rejects input of shape [1, 3]: the model panicked \
         (inputs [1, 3], checked one at a time)"
    );
}

// ---------------------------------------------------------------------------------------------
// Non-finite inputs.

#[test]
fn non_finite_inputs_name_the_input_and_the_element() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut data = vec![0.5; 3 * 4];
        data[7] = bad; // input 1, element 3
        let inputs = Tensor::from_vec(data, &[3, 4]).unwrap();
        let e = both_errors(
            &small(),
            &mlp(),
            &inputs,
            &Targets::Classes(vec![0; 3]),
            true,
        );
        assert_eq!(
            e,
            ExplainError::NonFinite {
                input: 1,
                element: 3
            },
            "{bad}"
        );
        assert_eq!(
            e.to_string(),
            "input 1 has a non-finite value (NaN or infinity) at element 3"
        );
        // With Predicted targets too (the check comes before the model runs).
        let e = both_errors(&small(), &mlp(), &inputs, &Targets::Predicted, true);
        assert_eq!(
            e,
            ExplainError::NonFinite {
                input: 1,
                element: 3
            }
        );
    }
    // An image: the element is the flat index within [C, H, W]; the first bad element is named.
    let mut data = vec![0.0; 2 * 2 * 4 * 4];
    data[32 + 16 + 2 * 4 + 3] = f64::NAN; // input 1, channel 1, row 2, column 3
    data[32 + 31] = f64::INFINITY;
    let inputs = Tensor::from_vec(data, &[2, 2, 4, 4]).unwrap();
    let e = both_errors(
        &small(),
        &cnn(),
        &inputs,
        &Targets::Classes(vec![0, 0]),
        true,
    );
    assert_eq!(
        e.to_string(),
        "input 1 has a non-finite value (NaN or infinity) at element 27"
    );
}

// ---------------------------------------------------------------------------------------------
// Targets.

#[test]
fn targets_out_of_range() {
    let inputs = Tensor::<f64>::zeros(&[2, 4]);
    let e = both_errors(
        &small(),
        &mlp(),
        &inputs,
        &Targets::Classes(vec![0, 7]),
        true,
    );
    assert_eq!(
        e,
        ExplainError::TargetOutOfRange {
            input: 1,
            target: 7,
            classes: 3
        }
    );
    assert_eq!(
        e.to_string(),
        "target 7 for input 1 is out of range: the model has 3 outputs (0..3)"
    );
    let e = both_errors(
        &small(),
        &mlp(),
        &inputs,
        &Targets::Multiple(vec![vec![0, 2], vec![1, 3]]),
        true,
    );
    assert_eq!(
        e.to_string(),
        "target 3 for input 1 is out of range: the model has 3 outputs (0..3)"
    );
}

#[test]
fn wrong_number_of_targets() {
    let inputs = Tensor::<f64>::zeros(&[2, 4]);
    let e = both_errors(&small(), &mlp(), &inputs, &Targets::Classes(vec![0]), true);
    assert_eq!(
        e,
        ExplainError::Targets("expected one entry per input (2), found 1".into())
    );
    assert_eq!(
        e.to_string(),
        "targets: expected one entry per input (2), found 1"
    );
    let e = both_errors(
        &small(),
        &mlp(),
        &inputs,
        &Targets::Multiple(vec![vec![0], vec![1], vec![2]]),
        true,
    );
    assert_eq!(
        e.to_string(),
        "targets: expected one entry per input (2), found 3"
    );
}

#[test]
fn ragged_or_empty_class_lists() {
    let inputs = Tensor::<f64>::zeros(&[3, 4]);
    let e = both_errors(
        &small(),
        &mlp(),
        &inputs,
        &Targets::Multiple(vec![vec![0, 1], vec![2, 0], vec![1]]),
        true,
    );
    assert_eq!(
        e.to_string(),
        "targets: every input needs the same number of classes: input 0 has 2, input 2 has 1"
    );
    let e = both_errors(
        &small(),
        &mlp(),
        &inputs,
        &Targets::Multiple(vec![vec![1], vec![], vec![0]]),
        true,
    );
    assert_eq!(
        e.to_string(),
        "targets: input 1 lists no class to explain (expected at least one)"
    );
    let e = both_errors(
        &small(),
        &mlp(),
        &inputs,
        &Targets::Multiple(vec![vec![], vec![], vec![]]),
        true,
    );
    assert!(matches!(e, ExplainError::Targets(_)), "{e:?}");
    assert!(e.to_string().contains("input 0 lists no class"), "{e}");
}

/// Every list empty gives "input 0 has 0, input 0 has 0": true, but it reads like a comparison of
/// an input with itself. It should say that input 0 lists no class.
#[test]
fn all_empty_class_lists_say_so() {
    let inputs = Tensor::<f64>::zeros(&[2, 4]);
    let e = both_errors(
        &small(),
        &mlp(),
        &inputs,
        &Targets::Multiple(vec![vec![], vec![]]),
        false,
    );
    assert!(
        !e.to_string().contains("input 0 has 0, input 0 has 0"),
        "{e}"
    );
}

/// `Operator::Output(k)` with `k` beyond the model's outputs panics inside `pick` on a worker
/// thread; it should be a `TargetOutOfRange`-like error found during validation.
#[test]

fn output_operator_out_of_range() {
    let inputs = Tensor::<f64>::zeros(&[2, 4]);
    let e = error_of("smoothgrad", || {
        small().explain(
            &mlp(),
            &inputs,
            &Targets::Classes(vec![0, 0]),
            &Operator::Output(3),
        )
    });
    assert!(e.to_string().contains('3'), "{e}");
    let e = error_of("gradient", || {
        Gradient.explain(
            &mlp(),
            &inputs,
            &Targets::Classes(vec![0, 0]),
            &Operator::Output(9),
            2,
        )
    });
    assert!(e.to_string().contains('9'), "{e}");
}

/// A custom score must return one score per row, `[B]`. One that forgets to pick a class returns
/// `[B, K]`, and the engine silently explains the sum of all outputs instead of failing.
#[test]

fn custom_operator_with_the_wrong_shape() {
    let inputs = Tensor::<f64>::zeros(&[2, 4]);
    let op = Operator::custom(|z: Var<'_, f64>, _: &[usize]| z);
    let e = error_of("smoothgrad", || {
        small().explain(&mlp(), &inputs, &Targets::Classes(vec![0, 0]), &op)
    });
    assert!(e.to_string().contains("[1, 3]"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Parameters.

#[test]
fn zero_samples() {
    let sg = SmoothGrad {
        samples: 0,
        ..SmoothGrad::default()
    };
    let e = both_errors(
        &sg,
        &mlp(),
        &Tensor::zeros(&[1, 4]),
        &Targets::Classes(vec![0]),
        false,
    );
    assert_eq!(
        e,
        ExplainError::Parameter("samples must be at least 1, found 0".into())
    );
    assert_eq!(e.to_string(), "samples must be at least 1, found 0");
}

#[test]
fn negative_or_non_finite_noise() {
    let cases = [
        (
            NoiseLevel::Absolute(-0.1),
            "noise level must be a finite number >= 0, found -0.1 (absolute)",
        ),
        (
            NoiseLevel::Relative(-1.0),
            "noise level must be a finite number >= 0, found -1 (relative)",
        ),
        (
            NoiseLevel::Relative(f64::NAN),
            "noise level must be a finite number >= 0, found NaN (relative)",
        ),
        (
            NoiseLevel::Absolute(f64::INFINITY),
            "noise level must be a finite number >= 0, found inf (absolute)",
        ),
    ];
    for (level, text) in cases {
        let sg = SmoothGrad {
            noise: Noise {
                level,
                ..Noise::default()
            },
            ..small()
        };
        let e = both_errors(
            &sg,
            &mlp(),
            &Tensor::zeros(&[1, 4]),
            &Targets::Classes(vec![0]),
            false,
        );
        assert!(matches!(e, ExplainError::Parameter(_)), "{e:?}");
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn reversed_or_nan_clamp_range() {
    for (clamp, text) in [
        (
            (1.0, 0.0),
            "noise clamp range must have lo <= hi, found [1, 0]",
        ),
        (
            (f64::NAN, 1.0),
            "noise clamp range must have lo <= hi, found [NaN, 1]",
        ),
    ] {
        let sg = SmoothGrad {
            noise: Noise {
                clamp: Some(clamp),
                ..Noise::default()
            },
            ..small()
        };
        let e = both_errors(
            &sg,
            &mlp(),
            &Tensor::zeros(&[1, 4]),
            &Targets::Classes(vec![0]),
            false,
        );
        assert_eq!(e, ExplainError::Parameter(text.into()));
    }
}

#[test]
fn batch_size_zero() {
    let sg = SmoothGrad {
        batch_size: 0,
        ..small()
    };
    let e = both_errors(
        &sg,
        &mlp(),
        &Tensor::zeros(&[1, 4]),
        &Targets::Classes(vec![0]),
        true,
    );
    assert_eq!(
        e,
        ExplainError::Parameter("batch size must be at least 1, found 0".into())
    );
    assert_eq!(e.to_string(), "batch size must be at least 1, found 0");
    let e = error_of("guided", || {
        GuidedBackprop.explain(
            &mlp(),
            &Tensor::zeros(&[1, 4]),
            &Targets::Classes(vec![0]),
            &Operator::Logit,
            0,
        )
    });
    assert_eq!(e.to_string(), "batch size must be at least 1, found 0");
}

#[test]
fn zero_threads() {
    let sg = SmoothGrad {
        threads: Some(0),
        ..small()
    };
    let e = both_errors(
        &sg,
        &mlp(),
        &Tensor::zeros(&[1, 4]),
        &Targets::Classes(vec![0]),
        false,
    );
    assert_eq!(
        e,
        ExplainError::Parameter("threads must be at least 1, found 0".into())
    );
}

#[test]
fn tolerance_must_be_positive_and_finite() {
    for (t, text) in [
        (0.0, "tolerance must be a finite number > 0, found 0"),
        (-0.5, "tolerance must be a finite number > 0, found -0.5"),
        (f64::NAN, "tolerance must be a finite number > 0, found NaN"),
        (
            f64::INFINITY,
            "tolerance must be a finite number > 0, found inf",
        ),
    ] {
        let sg = SmoothGrad {
            tolerance: Some(t),
            ..small()
        };
        let e = both_errors(
            &sg,
            &mlp(),
            &Tensor::zeros(&[1, 4]),
            &Targets::Classes(vec![0]),
            false,
        );
        assert_eq!(e, ExplainError::Parameter(text.into()));
    }
}

/// Parameters are checked before anything runs: the model is never called.
#[test]
fn parameter_errors_run_nothing() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let model = FnModel::new(move |x: Var<'_, f64>| {
        counter.fetch_add(1, Ordering::SeqCst);
        x
    });
    let bad = [
        SmoothGrad {
            samples: 0,
            ..small()
        },
        SmoothGrad {
            batch_size: 0,
            ..small()
        },
        SmoothGrad {
            threads: Some(0),
            ..small()
        },
        SmoothGrad {
            tolerance: Some(0.0),
            ..small()
        },
        SmoothGrad {
            noise: Noise {
                level: NoiseLevel::Absolute(-1.0),
                ..Noise::default()
            },
            ..small()
        },
    ];
    for sg in &bad {
        error_of("smoothgrad", || {
            sg.explain(
                &model,
                &Tensor::zeros(&[1, 4]),
                &Targets::Predicted,
                &Operator::Logit,
            )
        });
    }
    error_of("non-finite", || {
        small().explain(
            &model,
            &Tensor::full(&[1, 4], f64::NAN),
            &Targets::Predicted,
            &Operator::Logit,
        )
    });
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// An integrated-gradients baseline tensor that does not fit the inputs trips an `assert!` inside
/// `attribute` (a panic on a worker thread); it should be an error found during validation.
#[test]

fn integrated_gradients_baseline_of_the_wrong_size() {
    let ig = IntegratedGradients {
        baseline: Baseline::Tensor(Tensor::<f64>::zeros(&[5])),
        ..IntegratedGradients::default()
    };
    let inputs = Tensor::<f64>::zeros(&[2, 4]);
    error_of("ig", || {
        ig.explain(
            &mlp(),
            &inputs,
            &Targets::Classes(vec![0, 1]),
            &Operator::Logit,
            2,
        )
    });
    let sg = SmoothGrad {
        samples: 2,
        ..SmoothGrad::new(ig)
    };
    error_of("smoothgrad ig", || {
        sg.explain(
            &mlp(),
            &inputs,
            &Targets::Classes(vec![0, 1]),
            &Operator::Logit,
        )
    });
}

/// `steps: 0` is silently run as one step (`nodes` uses `steps.max(1)`); like `samples: 0` it
/// should be a parameter error.
#[test]

fn integrated_gradients_zero_steps() {
    let ig = IntegratedGradients::<f64> {
        steps: 0,
        ..IntegratedGradients::default()
    };
    let e = error_of("ig", || {
        ig.explain(
            &mlp(),
            &Tensor::zeros(&[1, 4]),
            &Targets::Classes(vec![0]),
            &Operator::Logit,
            2,
        )
    });
    assert!(matches!(e, ExplainError::Parameter(_)), "{e:?}");
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
    let p = ExplainError::Parameter("x".into());
    assert_eq!(p.clone(), p);
}

/// A `Sequential` left in training mode mixes the samples of a batch (batch norm uses batch
/// statistics and updates its running statistics during the explanation; dropout draws its masks
/// from a stream restarted on every tape), so the result depends on the batch size and the
/// explanation mutates the model. `explain` should refuse it (or run it in eval mode).
#[test]

fn a_model_in_training_mode_is_rejected() {
    use nn::Module;
    let mut r = ChaCha8Rng::seed_from_u64(2);
    let mut model: Sequential<f64> = Sequential::new()
        .with(conv3x3(1, 2, &mut r))
        .with(nn::BatchNorm2d::new(2, 1e-5, 0.1, true).unwrap())
        .with(nn::ReLU)
        .with(nn::Dropout::new(0.3).unwrap())
        .with(nn::Flatten::default())
        .with(nn::Linear::new(2 * 9, 3, true, &mut r));
    model.set_training(true);
    let inputs = Tensor::<f64>::randn_seeded(&[1, 1, 3, 3], 3);
    let run = |batch_size| {
        SmoothGrad {
            samples: 8,
            batch_size,
            threads: Some(1),
            ..SmoothGrad::default()
        }
        .explain(
            &model,
            &inputs,
            &Targets::Classes(vec![0]),
            &Operator::Logit,
        )
    };
    let (a, b) = (
        catch_unwind(AssertUnwindSafe(|| run(2))),
        catch_unwind(AssertUnwindSafe(|| run(8))),
    );
    if let (Ok(Ok(a)), Ok(Ok(b))) = (&a, &b) {
        eprintln!(
            "batch 2 vs 8: max |diff| of the means {:?}",
            a.mean.max_abs_diff(&b.mean)
        );
    }
    assert!(
        matches!(a, Ok(Err(_))),
        "training-mode model explained: {a:?}"
    );
}
