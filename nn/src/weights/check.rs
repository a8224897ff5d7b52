//! Matching a file's tensors to a model's state: every problem found, or every new value.

use std::collections::{HashMap, HashSet};

use autograd::{Scalar, Tensor};
use safetensors::Dtype;

use super::convert::{decode_float, decode_int, FLOAT_DTYPES};
use super::file::TensorFile;
use crate::error::{NnError, Result};
use crate::module::Module;
use crate::sequential::Sequential;

/// The model's new state, by name, once everything has been validated.
pub(crate) type Staged<T> = HashMap<String, Tensor<T>>;

/// Checks every tensor the model holds against `file` and converts them, changing nothing.
///
/// # Errors
/// One [`NnError::Weights`] listing every problem, `; `-separated: tensors with a wrong shape or
/// an unsupported dtype (in model order), then the missing names (in model order), then the
/// unexpected names (sorted).
pub(crate) fn stage<T: Scalar>(model: &Sequential<T>, file: &TensorFile) -> Result<Staged<T>> {
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    let mut expected = HashSet::new();
    let mut staged = HashMap::new();
    model.visit_state(&mut |name, _, current| {
        expected.insert(name.to_string());
        match file.raw(name) {
            None => missing.push(format!("{name:?}")),
            Some((dtype, shape, bytes)) => {
                match convert(name, current.shape(), dtype, shape, bytes) {
                    Ok(t) => {
                        staged.insert(name.to_string(), t);
                    }
                    Err(mut p) => problems.append(&mut p),
                }
            }
        }
    });
    let unexpected: Vec<String> = file
        .names()
        .filter(|n| !expected.contains(*n))
        .map(|n| format!("{n:?}"))
        .collect();
    if !missing.is_empty() {
        problems.push(format!("missing tensors: {}", missing.join(", ")));
    }
    if !unexpected.is_empty() {
        problems.push(format!("unexpected tensors: {}", unexpected.join(", ")));
    }
    if problems.is_empty() {
        Ok(staged)
    } else {
        Err(NnError::Weights(format!(
            "{} does not match the model: {}",
            file.source(),
            problems.join("; ")
        )))
    }
}

/// Replaces every tensor of the model by its staged value.
pub(crate) fn apply<T: Scalar>(model: &mut Sequential<T>, mut staged: Staged<T>) {
    model.visit_state_mut(&mut |name, _, t| {
        if let Some(new) = staged.remove(name) {
            *t = new;
        }
    });
}

/// Whether `name` is a BatchNorm step counter, which PyTorch stores as an integer.
fn is_counter(name: &str) -> bool {
    name.rsplit('.').next() == Some("num_batches_tracked")
}

/// One stored tensor as the model's `T`, if its shape is `expected` and its dtype is a float
/// type (or, for a `num_batches_tracked` counter, I64 or I32).
fn convert<T: Scalar>(
    name: &str,
    expected: &[usize],
    dtype: Dtype,
    shape: &[usize],
    bytes: &[u8],
) -> Result<Tensor<T>, Vec<String>> {
    let mut problems = Vec::new();
    if shape != expected {
        problems.push(format!(
            "tensor {name:?}: expected shape {expected:?}, found {shape:?}"
        ));
    }
    let counter = is_counter(name);
    let values = decode_float::<T>(dtype, bytes).or_else(|| {
        let int = matches!(dtype, Dtype::I64 | Dtype::I32) && counter;
        int.then(|| decode_int(dtype, bytes).ok())
            .flatten()
            .map(|v| v.into_iter().map(|x| T::from_f64_lossy(x as f64)).collect())
    });
    if values.is_none() {
        let allowed = if counter {
            "F32, F64, F16, BF16, I64 or I32"
        } else {
            FLOAT_DTYPES
        };
        problems.push(format!(
            "tensor {name:?}: dtype {dtype:?} is not supported (expected {allowed})"
        ));
    }
    match values {
        Some(v) if problems.is_empty() => {
            Tensor::from_vec(v, expected).map_err(|e| vec![format!("tensor {name:?}: {e}")])
        }
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_recognised_by_their_last_name_part() {
        assert!(is_counter("1.num_batches_tracked"));
        assert!(is_counter("num_batches_tracked"));
        assert!(!is_counter("1.running_mean"));
        assert!(!is_counter("1.num_batches_tracked_x"));
    }

    #[test]
    fn convert_reports_shape_and_dtype_together() {
        let err = convert::<f32>("3.bias", &[2], Dtype::U8, &[3], &[1, 2, 3]).unwrap_err();
        assert_eq!(
            err,
            [
                "tensor \"3.bias\": expected shape [2], found [3]",
                "tensor \"3.bias\": dtype U8 is not supported (expected F32, F64, F16 or BF16)",
            ]
        );
        let i64s = 7i64.to_le_bytes();
        let err = convert::<f32>("1.running_mean", &[], Dtype::I64, &[], &i64s).unwrap_err();
        assert_eq!(
            err,
            ["tensor \"1.running_mean\": dtype I64 is not supported (expected F32, F64, F16 or BF16)"]
        );
        let t = convert::<f32>("1.num_batches_tracked", &[], Dtype::I64, &[], &i64s).unwrap();
        assert_eq!(t.item(), 7.0);
        let i32s = 9i32.to_le_bytes();
        let t = convert::<f64>("num_batches_tracked", &[], Dtype::I32, &[], &i32s).unwrap();
        assert_eq!(t.item(), 9.0);
        let err = convert::<f64>("1.num_batches_tracked", &[], Dtype::U8, &[], &[1]).unwrap_err();
        assert_eq!(
            err,
            [
                "tensor \"1.num_batches_tracked\": dtype U8 is not supported (expected F32, F64, \
              F16, BF16, I64 or I32)"
            ]
        );
    }
}
