//! [`Const`]: a tensor known at import time (an initializer, a `Constant` node, or a folded
//! shape computation), decoded from a `TensorProto` with every size checked before allocating.

use std::path::Path;

use crate::error::{OnnxError, Result};
use crate::external;
use crate::proto::TensorProto;

/// ONNX `TensorProto.DataType` codes this importer reads.
const FLOAT: i32 = 1;
const INT32: i32 = 6;
const INT64: i32 = 7;
const FLOAT16: i32 = 10;
const DOUBLE: i32 = 11;

/// The largest element count of a tensor built at import time from a value rather than from
/// file bytes (`ConstantOfShape`): 2^26 elements.
pub const MAX_BUILT_ELEMENTS: usize = 1 << 26;

/// Values of a constant: floating point (FLOAT, DOUBLE, FLOAT16, widened to `f64` exactly) or
/// integers (INT32, INT64).
#[derive(Clone, Debug, PartialEq)]
pub enum ConstData {
    /// Floating-point values.
    Float(Vec<f64>),
    /// Integer values.
    Int(Vec<i64>),
}

/// A constant tensor: its dimensions and row-major values.
#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    /// The dimensions (empty for a scalar).
    pub dims: Vec<usize>,
    /// The values, as many as the dimensions' product.
    pub data: ConstData,
}

impl Const {
    /// An integer constant.
    pub fn ints(dims: Vec<usize>, v: Vec<i64>) -> Self {
        Const {
            dims,
            data: ConstData::Int(v),
        }
    }

    /// The values as integers (floats truncated toward zero, as `Cast` does).
    pub fn as_ints(&self) -> Vec<i64> {
        match &self.data {
            ConstData::Int(v) => v.clone(),
            ConstData::Float(v) => v.iter().map(|&x| x as i64).collect(),
        }
    }

    /// The values as floats.
    pub fn as_floats(&self) -> Vec<f64> {
        match &self.data {
            ConstData::Float(v) => v.clone(),
            ConstData::Int(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

    /// How many values.
    pub fn len(&self) -> usize {
        match &self.data {
            ConstData::Float(v) => v.len(),
            ConstData::Int(v) => v.len(),
        }
    }

    /// Whether it has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Decodes `t` (its data inline, or in an external file under `dir`).
///
/// # Errors
/// [`OnnxError::Tensor`] for an unsupported type, a negative dimension, an element count that
/// overflows or disagrees with the data; [`OnnxError::ExternalData`] for a bad external file.
pub fn decode(t: &TensorProto, dir: &Path) -> Result<Const> {
    let name = t.name();
    let bad = |reason: String| OnnxError::Tensor {
        name: name.to_string(),
        reason,
    };
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut count: usize = 1;
    for &d in &t.dims {
        let d =
            usize::try_from(d).map_err(|_| bad(format!("negative dimension in {:?}", t.dims)))?;
        count = count
            .checked_mul(d)
            .ok_or_else(|| bad(format!("dimensions {:?} overflow", t.dims)))?;
        dims.push(d);
    }
    let size = match t.data_type() {
        FLOAT | INT32 => 4,
        INT64 | DOUBLE => 8,
        FLOAT16 => 2,
        other => {
            return Err(bad(format!(
                "unsupported data type {other} (expected FLOAT, DOUBLE, FLOAT16, INT64 or INT32)"
            )))
        }
    };
    let external_bytes;
    let raw: Option<&[u8]> = if t.data_location == Some(1) {
        external_bytes = external::read(t, dir, count.checked_mul(size))?;
        Some(&external_bytes)
    } else {
        t.raw_data.as_deref()
    };
    let check = |n: usize, what: &str| {
        if n == count {
            Ok(())
        } else {
            Err(bad(format!(
                "{n} values in {what}, but dimensions {dims:?} need {count}"
            )))
        }
    };
    if let Some(raw) = raw {
        if raw.len() % size != 0 {
            return Err(bad(format!(
                "raw data of {} bytes is not a whole number of {size}-byte values",
                raw.len()
            )));
        }
        check(raw.len() / size, "raw_data")?;
        let chunks = raw.chunks_exact(size);
        let data = match t.data_type() {
            FLOAT => ConstData::Float(
                chunks
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                    .collect(),
            ),
            DOUBLE => ConstData::Float(
                chunks
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            ),
            FLOAT16 => ConstData::Float(
                chunks
                    .map(|c| f16_to_f64(u16::from_le_bytes([c[0], c[1]])))
                    .collect(),
            ),
            INT32 => ConstData::Int(
                chunks
                    .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64)
                    .collect(),
            ),
            _ => ConstData::Int(
                chunks
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
            ),
        };
        return Ok(Const { dims, data });
    }
    let data = match t.data_type() {
        FLOAT => {
            check(t.float_data.len(), "float_data")?;
            ConstData::Float(t.float_data.iter().map(|&x| x as f64).collect())
        }
        DOUBLE => {
            check(t.double_data.len(), "double_data")?;
            ConstData::Float(t.double_data.clone())
        }
        FLOAT16 => {
            // FLOAT16 values are stored one per int32_data entry (the low 16 bits).
            check(t.int32_data.len(), "int32_data")?;
            ConstData::Float(t.int32_data.iter().map(|&x| f16_to_f64(x as u16)).collect())
        }
        INT32 => {
            check(t.int32_data.len(), "int32_data")?;
            ConstData::Int(t.int32_data.iter().map(|&x| x as i64).collect())
        }
        _ => {
            check(t.int64_data.len(), "int64_data")?;
            ConstData::Int(t.int64_data.clone())
        }
    };
    Ok(Const { dims, data })
}

/// IEEE half precision to `f64`, exactly: `(-1)^s 2^(e-15) (1 + m/1024)`, subnormals
/// `(-1)^s 2^-14 m/1024`, and infinities and NaN.
pub fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let mant = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => mant / 1024.0 * 2f64.powi(-14),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + mant / 1024.0) * 2f64.powi(exp - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f16_to_f64(0x7c00), f64::INFINITY);
    }

    #[test]
    fn counts_are_checked_against_dims() {
        let t = TensorProto {
            name: Some("w".into()),
            dims: vec![2, 3],
            data_type: Some(FLOAT),
            float_data: vec![1.0; 5],
            ..Default::default()
        };
        let e = decode(&t, Path::new(".")).unwrap_err().to_string();
        assert!(
            e.contains("5 values in float_data, but dimensions [2, 3] need 6"),
            "{e}"
        );
        let t = TensorProto {
            dims: vec![-1],
            ..t
        };
        assert!(decode(&t, Path::new("."))
            .unwrap_err()
            .to_string()
            .contains("negative"));
    }
}
