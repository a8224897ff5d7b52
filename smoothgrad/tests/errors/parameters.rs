//! Settings outside their domain: samples, noise, clamping, batch size, threads, tolerance and
//! integrated gradients' baseline and steps.

use super::*;

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
        ExplainError::parameter("samples", "samples must be at least 1, found 0")
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
        assert!(matches!(e, ExplainError::Parameter { .. }), "{e:?}");
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
        assert_eq!(e, ExplainError::parameter("noise.clamp", text));
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
        ExplainError::parameter("batch_size", "batch size must be at least 1, found 0")
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
        ExplainError::parameter("threads", "threads must be at least 1, found 0")
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
        assert_eq!(e, ExplainError::parameter("tolerance", text));
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
    assert!(matches!(e, ExplainError::Parameter { .. }), "{e:?}");
}
