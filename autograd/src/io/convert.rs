//! Element conversions between safetensors' little-endian byte layouts and [`Scalar`] values.
//!
//! Half-precision formats are widened to `f32` exactly, by bit manipulation (no dependency):
//!
//! - **F16** (IEEE 754 binary16): 1 sign bit, a 5-bit exponent with bias 15 and a 10-bit mantissa.
//!   A normal value is `(-1)^s * 2^(e - 15) * (1 + m / 1024)`; exponent 0 holds zero and the
//!   subnormals `(-1)^s * m * 2^-24`; exponent 31 holds infinities (`m = 0`) and NaNs.
//! - **BF16** (bfloat16): the top 16 bits of an `f32` (1 sign bit, 8-bit exponent with bias 127,
//!   7-bit mantissa), so widening appends 16 zero bits.
//!
//! Every `f16` and `bf16` value is exactly representable in `f32` (and `f64`), NaN payloads
//! included. `F64` values read into an `f32` model are rounded to nearest, as `as f32` does.

use std::any::Any;

use safetensors::Dtype;

use crate::{Scalar, Tensor};

/// Widens an IEEE 754 half-precision value, given as its 16 bits, to the `f32` of equal value.
///
/// Exact for every input: zeros keep their sign, subnormals (`m * 2^-24`) become normal `f32`s,
/// infinities stay infinite and NaNs stay NaN with their payload shifted into the top of the
/// `f32` mantissa.
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits & 0x8000) << 16;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x03ff);
    let magnitude = match (exponent, mantissa) {
        (0, 0) => 0,
        (0, m) => {
            // m * 2^-24 with the highest set bit of m at position p (0..=9) is
            // 1.f * 2^(p - 24): biased f32 exponent p - 24 + 127, and the bits below p shifted up
            // to fill the 23-bit mantissa.
            let p = 31 - m.leading_zeros();
            ((p + 103) << 23) | ((m << (23 - p)) & 0x007f_ffff)
        }
        (0x1f, m) => 0x7f80_0000 | (m << 13),
        (e, m) => ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(sign | magnitude)
}

/// Widens a bfloat16 value, given as its 16 bits, to the `f32` of equal value: bfloat16 is the
/// top half of an `f32`, so this appends 16 zero bits. Exact for every input.
pub fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// The float dtypes [`TensorFile::get`](super::TensorFile::get) reads, as error messages list
/// them.
pub const FLOAT_DTYPES: &str = "F32, F64, F16 or BF16";

/// The integer dtypes [`decode_int`] reads.
pub(crate) const INT_DTYPES: &str = "I64, I32, I16, I8, U64, U32, U16 or U8";

/// Decodes little-endian `bytes` of a float `dtype` into `T`s, or `None` for another dtype.
/// The length must be a multiple of the element size (safetensors validates it).
pub(crate) fn decode_float<T: Scalar>(dtype: Dtype, bytes: &[u8]) -> Option<Vec<T>> {
    Some(match dtype {
        Dtype::F32 => same_or_cast(le_chunks(bytes, f32::from_le_bytes).collect::<Vec<f32>>()),
        Dtype::F64 => same_or_cast(le_chunks(bytes, f64::from_le_bytes).collect::<Vec<f64>>()),
        Dtype::F16 => same_or_cast(
            le_chunks(bytes, u16::from_le_bytes)
                .map(f16_to_f32)
                .collect::<Vec<f32>>(),
        ),
        Dtype::BF16 => same_or_cast(
            le_chunks(bytes, u16::from_le_bytes)
                .map(bf16_to_f32)
                .collect::<Vec<f32>>(),
        ),
        _ => return None,
    })
}

/// Decodes little-endian `bytes` of an integer `dtype` into `i64`s.
///
/// # Errors
/// A message if the dtype is not an integer type or a `U64` value exceeds `i64::MAX`.
pub(crate) fn decode_int(dtype: Dtype, bytes: &[u8]) -> Result<Vec<i64>, String> {
    Ok(match dtype {
        Dtype::I64 => le_chunks(bytes, i64::from_le_bytes).collect(),
        Dtype::I32 => le_chunks(bytes, i32::from_le_bytes)
            .map(i64::from)
            .collect(),
        Dtype::I16 => le_chunks(bytes, i16::from_le_bytes)
            .map(i64::from)
            .collect(),
        Dtype::I8 => le_chunks(bytes, i8::from_le_bytes).map(i64::from).collect(),
        Dtype::U32 => le_chunks(bytes, u32::from_le_bytes)
            .map(i64::from)
            .collect(),
        Dtype::U16 => le_chunks(bytes, u16::from_le_bytes)
            .map(i64::from)
            .collect(),
        Dtype::U8 => bytes.iter().map(|&b| i64::from(b)).collect(),
        Dtype::U64 => le_chunks(bytes, u64::from_le_bytes)
            .map(|v| i64::try_from(v).map_err(|_| format!("U64 value {v} does not fit in i64")))
            .collect::<Result<_, _>>()?,
        other => {
            return Err(format!(
                "dtype {other:?} is not an integer type (expected {INT_DTYPES})"
            ))
        }
    })
}

/// The dtype a tensor of `T` is stored as and its little-endian bytes: `F32` for `f32`, `F64`
/// for `f64` (bit for bit, NaN payloads included), and `F64` through `to_f64_lossless` for any
/// other [`Scalar`].
pub(crate) fn encode<T: Scalar>(tensor: &Tensor<T>) -> (Dtype, Vec<u8>) {
    let any: &dyn Any = tensor;
    if let Some(t) = any.downcast_ref::<Tensor<f32>>() {
        (
            Dtype::F32,
            t.data().iter().flat_map(|x| x.to_le_bytes()).collect(),
        )
    } else if let Some(t) = any.downcast_ref::<Tensor<f64>>() {
        (
            Dtype::F64,
            t.data().iter().flat_map(|x| x.to_le_bytes()).collect(),
        )
    } else {
        let bytes = tensor
            .data()
            .iter()
            .flat_map(|x| x.to_f64_lossless().to_le_bytes())
            .collect();
        (Dtype::F64, bytes)
    }
}

/// `i64` values as little-endian `I64` bytes.
pub(crate) fn encode_i64(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The elements of `bytes`, `N` bytes each, read with `from_le` (a trailing partial element,
/// which validated safetensors data never has, is ignored).
fn le_chunks<'a, const N: usize, V: 'a>(
    bytes: &'a [u8],
    from_le: fn([u8; N]) -> V,
) -> impl Iterator<Item = V> + 'a {
    bytes.chunks_exact(N).map(move |c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        from_le(a)
    })
}

/// `values` as `T`s: moved unchanged (bit for bit) when `U` is `T`, else converted through
/// `f64` (exact from `f32`; rounded to nearest from `f64` to `f32`).
fn same_or_cast<U: Scalar, T: Scalar>(values: Vec<U>) -> Vec<T> {
    let boxed: Box<dyn Any> = Box::new(values);
    match boxed.downcast::<Vec<T>>() {
        Ok(same) => *same,
        Err(boxed) => match boxed.downcast::<Vec<U>>() {
            Ok(values) => values
                .iter()
                .map(|&x| T::from_f64_lossy(x.to_f64_lossless()))
                .collect(),
            Err(_) => unreachable!("the box holds the Vec<U> just put in it"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of a binary16 pattern computed from the format's definition, in f64.
    fn f16_reference(bits: u16) -> f64 {
        let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
        let e = i32::from((bits >> 10) & 0x1f);
        let m = f64::from(bits & 0x3ff);
        match e {
            0 => sign * m * 2f64.powi(-24),
            31 if m == 0.0 => sign * f64::INFINITY,
            31 => f64::NAN,
            _ => sign * 2f64.powi(e - 15) * (1.0 + m / 1024.0),
        }
    }

    #[test]
    fn f16_matches_the_definition_for_all_65536_patterns() {
        for bits in 0..=u16::MAX {
            let got = f16_to_f32(bits);
            let want = f16_reference(bits);
            if want.is_nan() {
                assert!(got.is_nan(), "{bits:#06x} -> {got}");
                // The payload survives: its 10 bits sit at the top of the f32 mantissa.
                assert_eq!((got.to_bits() >> 13) & 0x3ff, u32::from(bits & 0x3ff));
            } else {
                assert_eq!(f64::from(got), want, "{bits:#06x}");
                assert_eq!(got.is_sign_negative(), bits & 0x8000 != 0, "{bits:#06x}");
            }
        }
    }

    #[test]
    fn f16_special_values() {
        assert_eq!(f16_to_f32(0x0000).to_bits(), 0.0f32.to_bits());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0); // largest finite
        assert_eq!(f16_to_f32(0x0400), 6.103_515_6e-5); // smallest normal, 2^-14
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // smallest subnormal
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24)); // largest subnormal
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert!(f16_to_f32(0xfc01).is_nan());
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95); // 1/3 rounded to f16
    }

    #[test]
    fn bf16_special_values() {
        assert_eq!(bf16_to_f32(0x0000).to_bits(), 0);
        assert_eq!(bf16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc040), -3.0);
        assert_eq!(bf16_to_f32(0x7f7f), f32::from_bits(0x7f7f_0000)); // largest finite
        assert_eq!(bf16_to_f32(0x0001), f32::from_bits(0x0001_0000)); // smallest subnormal
        assert!(bf16_to_f32(0x0001) > 0.0 && bf16_to_f32(0x0001) < f32::MIN_POSITIVE);
        assert_eq!(bf16_to_f32(0x0080), f32::MIN_POSITIVE); // smallest normal
        assert_eq!(bf16_to_f32(0x7f80), f32::INFINITY);
        assert_eq!(bf16_to_f32(0xff80), f32::NEG_INFINITY);
        assert_eq!(bf16_to_f32(0x7fc1).to_bits(), 0x7fc1_0000);
        for bits in 0..=u16::MAX {
            assert_eq!(bf16_to_f32(bits).to_bits() >> 16, u32::from(bits));
        }
    }

    #[test]
    fn decode_float_reads_each_dtype_little_endian() {
        let f32s: Vec<f32> = decode_float(Dtype::F32, &1.5f32.to_le_bytes()).unwrap();
        assert_eq!(f32s, [1.5]);
        let bytes: Vec<u8> = [0.1f64, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            decode_float::<f64>(Dtype::F64, &bytes).unwrap(),
            [0.1, -2.0]
        );
        assert_eq!(
            decode_float::<f32>(Dtype::F64, &bytes).unwrap(),
            [0.1f32, -2.0]
        );
        let halves = [0x3c00u16, 0x8001].map(u16::to_le_bytes).concat();
        assert_eq!(
            decode_float::<f64>(Dtype::F16, &halves).unwrap(),
            [1.0, -(2f64.powi(-24))]
        );
        let b = [0x3f80u16, 0xc040].map(u16::to_le_bytes).concat();
        assert_eq!(decode_float::<f32>(Dtype::BF16, &b).unwrap(), [1.0, -3.0]);
        assert!(decode_float::<f32>(Dtype::I32, &[0; 4]).is_none());
        assert!(decode_float::<f32>(Dtype::U8, &[0]).is_none());
    }

    #[test]
    fn f32_values_pass_through_bit_for_bit() {
        let nan = f32::from_bits(0x7fa0_0001); // a signalling NaN, quieted by any float cast
        let t = Tensor::from_vec(vec![nan, -0.0, f32::MIN_POSITIVE / 3.0], &[3]).unwrap();
        let (dtype, bytes) = encode(&t);
        assert_eq!(dtype, Dtype::F32);
        let back: Vec<f32> = decode_float(Dtype::F32, &bytes).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(t.data()));
        let t64 = Tensor::from_vec(vec![f64::from_bits(0x7ff0_0000_0000_0001), -0.0], &[2]);
        let (dtype, bytes) = encode(&t64.unwrap());
        assert_eq!(dtype, Dtype::F64);
        let back: Vec<f64> = decode_float(Dtype::F64, &bytes).unwrap();
        assert_eq!(back[0].to_bits(), 0x7ff0_0000_0000_0001);
        assert_eq!(back[1].to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn decode_int_widens_and_checks_u64() {
        let bytes: Vec<u8> = [7i64, -1].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(decode_int(Dtype::I64, &bytes).unwrap(), [7, -1]);
        assert_eq!(
            decode_int(Dtype::I32, &(-5i32).to_le_bytes()).unwrap(),
            [-5]
        );
        assert_eq!(decode_int(Dtype::U8, &[255, 0]).unwrap(), [255, 0]);
        assert_eq!(decode_int(Dtype::U16, &[1, 1]).unwrap(), [257]);
        assert_eq!(decode_int(Dtype::I8, &[0xff]).unwrap(), [-1]);
        assert_eq!(
            decode_int(Dtype::U64, &u64::MAX.to_le_bytes()).unwrap_err(),
            "U64 value 18446744073709551615 does not fit in i64"
        );
        assert_eq!(
            decode_int(Dtype::F32, &[0; 4]).unwrap_err(),
            "dtype F32 is not an integer type (expected I64, I32, I16, I8, U64, U32, U16 or U8)"
        );
        assert_eq!(encode_i64(&[1, -2]), bytes_of(&[1i64, -2]));
    }

    fn bytes_of(v: &[i64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }
}
