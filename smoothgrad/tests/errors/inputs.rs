//! Inputs of the wrong shape, and non-finite inputs.

use super::*;

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
