//! Targets and operators that do not fit the model's outputs.

use super::*;

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
