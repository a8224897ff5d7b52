//! Reading safetensors files of any tensors: [`TensorFile`], [`read_file`], and the I/O error
//! messages the rest of the module shares.

use std::collections::BTreeMap;
use std::fs;
use std::ops::Range;
use std::path::Path;

use autograd::{Scalar, Tensor};
use safetensors::tensor::SafeTensorError;
use safetensors::{Dtype, SafeTensors};

use super::convert::{decode_float, decode_int, FLOAT_DTYPES};
use crate::error::{NnError, Result};

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
/// [`NnError::Io`] (`cannot read "x.safetensors": No such file or directory`) if the file cannot
/// be read; [`NnError::Weights`] (`"x.safetensors" is not a valid safetensors file: ...`) if it is
/// malformed.
pub fn read_file(path: impl AsRef<Path>) -> Result<TensorFile> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| io_error("read", path, &e))?;
    TensorFile::parse(bytes, quoted(path))
}

impl TensorFile {
    /// Parses a safetensors file held in memory (see [`read_file`]).
    ///
    /// # Errors
    /// [`NnError::Weights`] (`the data is not a valid safetensors file: ...`) if it is malformed.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        Self::parse(bytes, "the data".to_string())
    }

    /// Parses `bytes`, naming them `source` in error messages.
    pub(crate) fn parse(bytes: Vec<u8>, source: String) -> Result<Self> {
        let invalid = |why: String| {
            NnError::Weights(format!("{source} is not a valid safetensors file: {why}"))
        };
        let header_len = check_header_length(&bytes).map_err(invalid)?;
        check_header_numbers(&bytes[8..8 + header_len], bytes.len()).map_err(invalid)?;
        let (n, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| invalid(describe(&e)))?;
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
    /// [`NnError::Weights`] if there is no such tensor.
    pub fn dtype(&self, name: &str) -> Result<Dtype> {
        Ok(self.entry(name)?.dtype)
    }

    /// The shape of tensor `name`.
    ///
    /// # Errors
    /// [`NnError::Weights`] if there is no such tensor.
    pub fn shape(&self, name: &str) -> Result<&[usize]> {
        Ok(&self.entry(name)?.shape)
    }

    /// Tensor `name` as `T`, converted from a stored F32, F64, F16 or BF16 (exactly, except F64
    /// into `f32`, which rounds to nearest).
    ///
    /// # Errors
    /// [`NnError::Weights`] if there is no such tensor or its dtype is not a float type.
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
                )
            })?;
        Tensor::from_vec(values, &entry.shape).map_err(|e| self.error(name, e.to_string()))
    }

    /// The raw values and shape of integer tensor `name` (I64, I32, I16, I8, U64, U32, U16 or U8)
    /// as `i64`s, for class labels and counters.
    ///
    /// # Errors
    /// [`NnError::Weights`] if there is no such tensor, its dtype is not an integer type, or a
    /// `U64` value exceeds `i64::MAX`.
    pub fn get_i64(&self, name: &str) -> Result<(Vec<i64>, Vec<usize>)> {
        let entry = self.entry(name)?;
        let values = decode_int(entry.dtype, &self.bytes[entry.bytes.clone()])
            .map_err(|why| self.error(name, why))?;
        Ok((values, entry.shape.clone()))
    }

    /// The raw dtype, shape and little-endian bytes of tensor `name`, if present.
    pub(crate) fn raw(&self, name: &str) -> Option<(Dtype, &[usize], &[u8])> {
        let e = self.tensors.get(name)?;
        Some((e.dtype, &e.shape, &self.bytes[e.bytes.clone()]))
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        self.tensors.get(name).ok_or_else(|| {
            let names: Vec<String> = self.names().take(10).map(|n| format!("{n:?}")).collect();
            let more = if self.len() > 10 { ", ..." } else { "" };
            NnError::Weights(format!(
                "{} has no tensor {name:?} (it has {}{more})",
                self.source,
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })
    }

    fn error(&self, name: &str, why: String) -> NnError {
        NnError::Weights(format!("{}: tensor {name:?}: {why}", self.source))
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

/// `path` in double quotes, as error messages show it.
pub(crate) fn quoted(path: &Path) -> String {
    format!("\"{}\"", path.display())
}

/// `cannot {verb} "path": reason`, without the OS error number.
pub(crate) fn io_error(verb: &str, path: &Path, e: &std::io::Error) -> NnError {
    let mut reason = e.to_string();
    if let Some(code) = e.raw_os_error() {
        let suffix = format!(" (os error {code})");
        if let Some(stripped) = reason.strip_suffix(&suffix) {
            reason = stripped.to_string();
        }
    }
    NnError::Io(format!("cannot {verb} {}: {reason}", quoted(path)))
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

    #[test]
    fn io_errors_name_the_path_without_the_os_code() {
        let e = std::io::Error::from_raw_os_error(2);
        let msg = io_error("read", Path::new("x.safetensors"), &e).to_string();
        assert_eq!(
            msg,
            "cannot read \"x.safetensors\": No such file or directory"
        );
    }
}
