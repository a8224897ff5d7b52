//! `--target`: which classes are explained, resolved against `--labels` and, for `top-K`, the
//! model's outputs.

use smoothgrad::{Model, Targets};
use smoothgrad_autograd::{Scalar, Tape, Tensor};

use super::labels::Labels;
use crate::error::{CliError, Result};

/// What `--target` asks for, with class names resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetFlag {
    /// The arg max of the model's outputs.
    Predicted,
    /// The K highest outputs of each input, highest first (ties: the lower class first).
    Top(usize),
    /// These classes for every input (one, or several explained in one pass).
    Classes(Vec<usize>),
}

/// Parses `--target`: "predicted", "top-K" (K >= 1), or comma-separated class indices and
/// names (names need `labels`; a name holding commas is found whole first).
///
/// # Errors
/// A negative or malformed index, `top-0`, a name without `--labels`, an unknown name.
pub fn parse_target(s: &str, labels: Option<&Labels>) -> Result<TargetFlag> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("predicted") {
        return Ok(TargetFlag::Predicted);
    }
    if let Some(k) = t.strip_prefix("top-") {
        return match k.parse::<usize>() {
            Ok(k) if k > 0 => Ok(TargetFlag::Top(k)),
            _ => Err(CliError::input(format!(
                "--target: expected top-K with K a whole number >= 1, found {s:?}"
            ))),
        };
    }
    if let Some(i) = labels.and_then(|l| l.find(t)) {
        return Ok(TargetFlag::Classes(vec![i]));
    }
    t.split(',')
        .map(|item| class(item.trim(), s, labels))
        .collect::<Result<Vec<_>>>()
        .map(TargetFlag::Classes)
}

/// One item of a `--target` list.
fn class(item: &str, whole: &str, labels: Option<&Labels>) -> Result<usize> {
    if let Ok(i) = item.parse::<usize>() {
        return Ok(i);
    }
    let numeric = item.starts_with(['-', '+']) || item.chars().all(|c| c.is_ascii_digit());
    match labels {
        _ if numeric || item.is_empty() => Err(CliError::input(format!(
            "--target: expected class indices >= 0, class names, \"predicted\" or \"top-K\", \
             found {whole:?}"
        ))),
        None => Err(CliError::input(format!(
            "--target: {item:?} is not a class index >= 0, \"predicted\" or \"top-K\" (class \
             names need --labels)"
        ))),
        Some(l) => l.find(item).ok_or_else(|| {
            CliError::input(format!(
                "--target: no class is called {item:?} in \"{}\" ({} names)",
                l.path.display(),
                l.names.len()
            ))
        }),
    }
}

impl TargetFlag {
    /// Whether it asks for more than one class per input (`3,7`, `top-K` with K > 1).
    pub fn several(&self) -> bool {
        match self {
            TargetFlag::Predicted => false,
            TargetFlag::Top(k) => *k > 1,
            TargetFlag::Classes(c) => c.len() > 1,
        }
    }

    /// The library's [`Targets`] for `n` inputs; `Top` runs `model` on `inputs` once.
    pub fn targets<T: Scalar>(&self, model: &dyn Model<T>, inputs: &Tensor<T>) -> Targets {
        let n = inputs.shape().first().copied().unwrap_or(0);
        match self {
            TargetFlag::Predicted => Targets::Predicted,
            TargetFlag::Classes(c) if c.len() == 1 => Targets::Classes(vec![c[0]; n]),
            TargetFlag::Classes(c) => Targets::Multiple(vec![c.clone(); n]),
            TargetFlag::Top(k) => {
                let scores = outputs(model, inputs);
                let lists: Vec<Vec<usize>> = rows(&scores).map(|row| top_k(row, *k)).collect();
                if *k == 1 {
                    Targets::Classes(lists.into_iter().map(|l| l[0]).collect())
                } else {
                    Targets::Multiple(lists)
                }
            }
        }
    }
}

/// The model's outputs `[N, K]` on `inputs`, on a tape of its own.
pub fn outputs<T: Scalar>(model: &dyn Model<T>, inputs: &Tensor<T>) -> Tensor<T> {
    let tape = Tape::new();
    model.forward(tape.constant(inputs.clone())).value()
}

/// The rows of a `[N, K]` tensor.
pub fn rows<T: Scalar>(t: &Tensor<T>) -> std::slice::Chunks<'_, T> {
    let k = t.shape().get(1).copied().unwrap_or(1).max(1);
    t.data().chunks(k)
}

/// The indices of the `k` largest values (at most all of them), largest first; NaN last, ties
/// to the lower index.
pub fn top_k<T: Scalar>(row: &[T], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| {
            if row[i].is_nan() {
                f64::NEG_INFINITY
            } else {
                row[i].to_f64_lossless()
            }
        };
        key(b).total_cmp(&key(a)).then(a.cmp(&b))
    });
    order.truncate(k);
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn targets_are_indices_names_lists_predicted_or_top_k() {
        assert_eq!(
            parse_target("predicted", None).unwrap(),
            TargetFlag::Predicted
        );
        assert_eq!(
            parse_target("3", None).unwrap(),
            TargetFlag::Classes(vec![3])
        );
        assert_eq!(
            parse_target("3,7", None).unwrap(),
            TargetFlag::Classes(vec![3, 7])
        );
        assert_eq!(parse_target("top-5", None).unwrap(), TargetFlag::Top(5));
        for bad in ["-1", "cat", "top-0", "top-x", "3,", ""] {
            assert!(parse_target(bad, None).is_err(), "{bad}");
        }
        let labels = Labels::parse(Path::new("l"), "cat\ndog\ncrane, bird\n").unwrap();
        let l = Some(&labels);
        assert_eq!(
            parse_target("dog", l).unwrap(),
            TargetFlag::Classes(vec![1])
        );
        assert_eq!(
            parse_target("crane, bird", l).unwrap(),
            TargetFlag::Classes(vec![2])
        );
        assert_eq!(
            parse_target("dog,0", l).unwrap(),
            TargetFlag::Classes(vec![1, 0])
        );
        let e = parse_target("cow", l).unwrap_err();
        assert_eq!(
            e.message,
            "--target: no class is called \"cow\" in \"l\" (3 names)"
        );
    }

    #[test]
    fn top_k_orders_by_score_then_index() {
        assert_eq!(top_k(&[0.1, 0.5, f32::NAN, 0.5, 0.2], 3), [1, 3, 4]);
        assert_eq!(top_k(&[1.0, 2.0], 5), [1, 0]);
    }
}
