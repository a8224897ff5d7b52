//! Reading safetensors files of any tensors: [`TensorFile`] and [`read_file`], hardened against
//! corrupt files (no panic, no allocation sized from an unchecked header).

use std::collections::BTreeMap;
use std::fs;
use std::ops::Range;
use std::path::Path;

use std::sync::Arc;

use safetensors::tensor::SafeTensorError;
use safetensors::{Dtype, SafeTensors};

use super::convert::{decode_float, decode_int, FLOAT_DTYPES};
use super::error::{quoted, Access, FileError};
use crate::{Scalar, Tensor};

/// Shorthand for results of this module.
type Result<T, E = FileError> = std::result::Result<T, E>;

/// Where a tensor of a [`TensorFile`] lies: dtype, shape and byte range in the file.
#[derive(Clone, Debug)]
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Range<usize>,
}

/// A parsed safetensors file held in memory: its tensors by name and its string metadata.
///
/// Parsing validates the whole layout (header length, JSON header, every tensor's offsets against
/// its shape and dtype, and that the data section is exactly covered), so reading a tensor out of
/// it afterwards cannot fail on a malformed file, only on a wrong name or dtype.
#[derive(Clone, Debug)]
pub struct TensorFile {
    source: String,
    bytes: Vec<u8>,
    tensors: BTreeMap<String, Entry>,
    metadata: BTreeMap<String, String>,
}

/// Reads and parses a safetensors file.
///
/// # Errors
/// [`FileError::Io`] (`cannot read "x.safetensors": No such file or directory`) if the file
/// cannot be read; [`FileError::Invalid`] (`"x.safetensors" is not a valid safetensors file:
/// ...`) if it is malformed.
pub fn read_file(path: impl AsRef<Path>) -> Result<TensorFile> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| FileError::io(Access::Read, path, e))?;
    TensorFile::parse(bytes, quoted(path))
}

impl TensorFile {
    /// Parses a safetensors file held in memory (see [`read_file`]).
    ///
    /// # Errors
    /// [`FileError::Invalid`] (`the data is not a valid safetensors file: ...`) if it is malformed.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        Self::parse(bytes, "the data".to_string())
    }

    /// Parses `bytes`, naming them `source` in error messages.
    fn parse(bytes: Vec<u8>, source: String) -> Result<Self> {
        let invalid = |reason: String, cause: Option<SafeTensorError>| FileError::Invalid {
            file: source.clone(),
            reason,
            source: cause.map(Arc::new),
        };
        let header_len = check_header_length(&bytes).map_err(|why| invalid(why, None))?;
        check_header_numbers(&bytes[8..8 + header_len], bytes.len())
            .map_err(|why| invalid(why, None))?;
        let (n, meta) =
            SafeTensors::read_metadata(&bytes).map_err(|e| invalid(describe(&e), Some(e)))?;
        let data_start = 8 + n;
        let mut tensors = BTreeMap::new();
        for (name, info) in meta.tensors() {
            let (start, end) = info.data_offsets;
            tensors.insert(
                name,
                Entry {
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    bytes: data_start + start..data_start + end,
                },
            );
        }
        let metadata = meta
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(TensorFile {
            source,
            bytes,
            tensors,
            metadata,
        })
    }

    /// How error messages name this file: its quoted path, or "the data".
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.tensors.keys().map(String::as_str)
    }

    /// The number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether the file holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Whether the file holds a tensor called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The header's `__metadata__` strings (empty if it has none).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// The stored dtype of tensor `name`.
    ///
    /// # Errors
    /// [`FileError::NoTensor`] if there is no such tensor.
    pub fn dtype(&self, name: &str) -> Result<Dtype> {
        Ok(self.entry(name)?.dtype)
    }

    /// The shape of tensor `name`.
    ///
    /// # Errors
    /// [`FileError::NoTensor`] if there is no such tensor.
    pub fn shape(&self, name: &str) -> Result<&[usize]> {
        Ok(&self.entry(name)?.shape)
    }

    /// Tensor `name` as `T`, converted from a stored F32, F64, F16 or BF16 (exactly, except F64
    /// into `f32`, which rounds to nearest).
    ///
    /// # Errors
    /// [`FileError::NoTensor`] if there is no such tensor; [`FileError::Tensor`] if its dtype is
    /// not a float type.
    pub fn get<T: Scalar>(&self, name: &str) -> Result<Tensor<T>> {
        let entry = self.entry(name)?;
        let values =
            decode_float(entry.dtype, &self.bytes[entry.bytes.clone()]).ok_or_else(|| {
                self.error(
                    name,
                    format!(
                        "dtype {:?} is not supported (expected {FLOAT_DTYPES})",
                        entry.dtype
                    ),
                    None,
                )
            })?;
        Tensor::from_vec(values, &entry.shape).map_err(|e| self.error(name, e.to_string(), Some(e)))
    }

    /// The raw values and shape of integer tensor `name` (I64, I32, I16, I8, U64, U32, U16 or U8)
    /// as `i64`s, for class labels and counters.
    ///
    /// # Errors
    /// [`FileError::NoTensor`] if there is no such tensor; [`FileError::Tensor`] if its dtype is
    /// not an integer type or a `U64` value exceeds `i64::MAX`.
    pub fn get_i64(&self, name: &str) -> Result<(Vec<i64>, Vec<usize>)> {
        let entry = self.entry(name)?;
        let values = decode_int(entry.dtype, &self.bytes[entry.bytes.clone()])
            .map_err(|why| self.error(name, why, None))?;
        Ok((values, entry.shape.clone()))
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        self.tensors.get(name).ok_or_else(|| FileError::NoTensor {
            file: self.source.clone(),
            name: name.to_string(),
            names: self.names().map(str::to_string).collect(),
        })
    }

    fn error(&self, name: &str, reason: String, source: Option<crate::TensorError>) -> FileError {
        FileError::Tensor {
            file: self.source.clone(),
            name: name.to_string(),
            reason,
            source: source.map(Arc::new),
        }
    }
}

/// Reads the 8-byte header length and checks it against the file size, before anything is
/// allocated or parsed from it.
fn check_header_length(bytes: &[u8]) -> Result<usize, String> {
    let Some(first) = bytes.first_chunk::<8>() else {
        return Err(format!(
            "it is {} bytes long, shorter than the 8-byte header length",
            bytes.len()
        ));
    };
    let n = u64::from_le_bytes(*first);
    let available = bytes.len() - 8;
    match usize::try_from(n) {
        Ok(n) if n <= available => Ok(n),
        _ => Err(format!(
            "the header length field says {n} bytes, but only {available} bytes follow it"
        )),
    }
}

/// Rejects a header holding a number larger than the whole file. No valid offset can be, nor
/// (but for a shape that also has a zero dimension) a dimension, and such numbers make the
/// safetensors crate's final size check overflow, which panics in debug builds.
fn check_header_numbers(header: &[u8], file_len: usize) -> Result<(), String> {
    let mut in_string = false;
    let mut escaped = false;
    let mut number: Option<u128> = None;
    for &b in header.iter().chain(b" ") {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b.is_ascii_digit() {
            let n = number.unwrap_or(0);
            number = Some(n.saturating_mul(10).saturating_add(u128::from(b - b'0')));
        } else {
            if let Some(n) = number.take().filter(|&n| n > file_len as u128) {
                return Err(format!(
                    "the header holds the number {n}, larger than the whole file ({file_len} \
                     bytes), as no offset or size can be"
                ));
            }
            in_string = b == b'"';
        }
    }
    Ok(())
}

/// Explains a safetensors parse error in words.
fn describe(e: &SafeTensorError) -> String {
    match e {
        SafeTensorError::InvalidHeader => "the header is not UTF-8 text".into(),
        SafeTensorError::InvalidHeaderStart | SafeTensorError::InvalidHeaderDeserialization => {
            "the header is not a JSON object of tensor entries (dtype, shape, data_offsets) with \
             known dtypes and string metadata"
                .into()
        }
        SafeTensorError::HeaderTooLarge => "the header is larger than 100 MB".into(),
        SafeTensorError::InvalidOffset(name) => {
            format!("the data offsets of tensor {name:?} do not follow the previous tensor's")
        }
        SafeTensorError::TensorInvalidInfo => {
            "a tensor's byte range does not match its shape and dtype".into()
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            "the data section's size does not match the tensors' byte ranges (truncated, or \
             trailing bytes)"
                .into()
        }
        SafeTensorError::ValidationOverflow => "a tensor's size overflows".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_numbers_larger_than_the_file_are_rejected() {
        let ok = br#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        assert!(check_header_numbers(ok, 100).is_ok());
        let huge = br#"{"a":{"dtype":"U8","shape":[18446744073709551611],"data_offsets":[0,18446744073709551611]}}"#;
        let err = check_header_numbers(huge, 100).unwrap_err();
        assert!(
            err.starts_with("the header holds the number 18446744073709551611"),
            "{err}"
        );
        // Digits inside strings (names, metadata, escaped quotes) are not numbers.
        let named = br#"{"__metadata__":{"k":"99999\"99999"},"w99999":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#;
        assert!(check_header_numbers(named, 100).is_ok());
    }

    #[test]
    fn header_length_is_checked_against_the_size() {
        assert_eq!(
            check_header_length(&[1, 2, 3]).unwrap_err(),
            "it is 3 bytes long, shorter than the 8-byte header length"
        );
        let mut b = u64::MAX.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        assert_eq!(
            check_header_length(&b).unwrap_err(),
            "the header length field says 18446744073709551615 bytes, but only 2 bytes follow it"
        );
        let mut b = 2u64.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        assert_eq!(check_header_length(&b), Ok(2));
    }
}
