//! Models that cannot be explained: closures that panic on a shape, and a model left in training
//! mode.

use super::*;

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

/// A `Sequential` left in training mode mixes the samples of a batch (batch norm uses batch
/// statistics and updates its running statistics during the explanation; dropout draws its masks
/// from a stream restarted on every tape), so the result depends on the batch size and the
/// explanation mutates the model. `explain` should refuse it (or run it in eval mode).
#[test]

fn a_model_in_training_mode_is_rejected() {
    use smoothgrad_nn::Module;
    let mut r = ChaCha8Rng::seed_from_u64(2);
    let mut model: Sequential<f64> = Sequential::new()
        .with(conv3x3(1, 2, &mut r))
        .with(smoothgrad_nn::BatchNorm2d::new(2, 1e-5, 0.1, true).unwrap())
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::Dropout::new(0.3).unwrap())
        .with(smoothgrad_nn::Flatten::default())
        .with(smoothgrad_nn::Linear::new(2 * 9, 3, true, &mut r));
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
