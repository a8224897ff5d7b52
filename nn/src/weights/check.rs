//! Matching a file's tensors to a model's state: every problem found, or every new value.

use std::collections::{HashMap, HashSet};

use smoothgrad_autograd::io::{Dtype, TensorFile, FLOAT_DTYPES};
use smoothgrad_autograd::{Scalar, Tensor};

use crate::error::{NnError, Result};
use crate::module::Module;

/// The model's new state, by name, once everything has been validated.
pub(crate) type Staged<T> = HashMap<String, Tensor<T>>;

/// Checks every tensor the model holds against `file` and converts them, changing nothing.
///
/// # Errors
/// One [`NnError::Weights`] listing every problem, `; `-separated: tensors with a wrong shape or
/// an unsupported dtype (in model order), then the missing names (in model order), then the
/// unexpected names (sorted).
pub(crate) fn stage<T: Scalar, M: Module<T> + ?Sized>(
    model: &M,
    file: &TensorFile,
) -> Result<Staged<T>> {
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    let mut expected = HashSet::new();
    let mut staged = HashMap::new();
    model.visit_state(&mut |name, _, current| {
        expected.insert(name.to_string());
        if !file.contains(name) {
            missing.push(format!("{name:?}"));
            return;
        }
        match convert(file, name, current.shape()) {
            Ok(t) => {
                staged.insert(name.to_string(), t);
            }
            Err(mut p) => problems.append(&mut p),
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
        Err(NnError::weights(format!(
            "{} does not match the model: {}",
            file.source(),
            problems.join("; ")
        )))
    }
}

/// Replaces every tensor of the model by its staged value.
pub(crate) fn apply<T: Scalar, M: Module<T> + ?Sized>(model: &mut M, mut staged: Staged<T>) {
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

/// Stored tensor `name` (present in `file`) as the model's `T`, if its shape is `expected` and
/// its dtype is a float type (or, for a `num_batches_tracked` counter, I64 or I32).
fn convert<T: Scalar>(
    file: &TensorFile,
    name: &str,
    expected: &[usize],
) -> Result<Tensor<T>, Vec<String>> {
    let present = |e| vec![format!("tensor {name:?}: {e}")];
    let dtype = file.dtype(name).map_err(present)?;
    let shape = file.shape(name).map_err(present)?;
    let mut problems = Vec::new();
    if shape != expected {
        problems.push(format!(
            "tensor {name:?}: expected shape {expected:?}, found {shape:?}"
        ));
    }
    let counter = is_counter(name);
    let values = file.get::<T>(name).ok().or_else(|| {
        let int = matches!(dtype, Dtype::I64 | Dtype::I32) && counter;
        let (v, shape) = int.then(|| file.get_i64(name).ok()).flatten()?;
        let v = v.into_iter().map(|x| T::from_f64_lossy(x as f64)).collect();
        Tensor::from_vec(v, &shape).ok()
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
        // The shape is `expected`: no problem was found.
        Some(t) if problems.is_empty() => Ok(t),
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

    /// A file holding one tensor `name` of `dtype` and `shape` with `bytes`, built by hand.
    fn one(name: &str, dtype: &str, shape: &[usize], bytes: &[u8]) -> TensorFile {
        let header = format!(
            r#"{{"{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[0,{}]}}}}"#,
            bytes.len()
        );
        let mut file = (header.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(header.as_bytes());
        file.extend_from_slice(bytes);
        TensorFile::from_bytes(file).unwrap()
    }

    #[test]
    fn convert_reports_shape_and_dtype_together() {
        let err = convert::<f32>(&one("3.bias", "U8", &[3], &[1, 2, 3]), "3.bias", &[2]);
        assert_eq!(
            err.unwrap_err(),
            [
                "tensor \"3.bias\": expected shape [2], found [3]",
                "tensor \"3.bias\": dtype U8 is not supported (expected F32, F64, F16 or BF16)",
            ]
        );
        let i64s = 7i64.to_le_bytes();
        let mean = one("1.running_mean", "I64", &[], &i64s);
        let err = convert::<f32>(&mean, "1.running_mean", &[]).unwrap_err();
        assert_eq!(
            err,
            ["tensor \"1.running_mean\": dtype I64 is not supported (expected F32, F64, F16 or BF16)"]
        );
        let counter = one("1.num_batches_tracked", "I64", &[], &i64s);
        let t = convert::<f32>(&counter, "1.num_batches_tracked", &[]).unwrap();
        assert_eq!(t.item(), 7.0);
        let i32s = 9i32.to_le_bytes();
        let counter = one("num_batches_tracked", "I32", &[], &i32s);
        let t = convert::<f64>(&counter, "num_batches_tracked", &[]).unwrap();
        assert_eq!(t.item(), 9.0);
        let counter = one("1.num_batches_tracked", "U8", &[], &[1]);
        let err = convert::<f64>(&counter, "1.num_batches_tracked", &[]).unwrap_err();
        assert_eq!(
            err,
            [
                "tensor \"1.num_batches_tracked\": dtype U8 is not supported (expected F32, F64, \
              F16, BF16, I64 or I32)"
            ]
        );
    }
}
