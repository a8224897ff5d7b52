//! Reading and writing named tensors in safetensors files (feature `safetensors`, off by
//! default).
//!
//! A file holds tensors by name and string metadata. [`read_file`] (or
//! [`TensorFile::from_bytes`]) parses one, [`TensorFile::get`] reads a tensor as any [`Scalar`],
//! and [`Writer`] (or the shorthand [`write_file`]) assembles one: model inputs, class labels,
//! attributions, a model's weights (`smoothgrad_nn::weights` matches those to a model).
//!
//! - **Conversions.** Stored F32, F64, F16 and BF16 tensors read as `f32` or `f64`: F16 and BF16
//!   exactly (see [`f16_to_f32`] and [`bf16_to_f32`]), F64 into `f32` rounded to nearest, and the
//!   same type bit for bit. Integer tensors (I64 ... U8) read as `i64` with
//!   [`TensorFile::get_i64`]. Writing stores `f32` as F32 and `f64` as F64, bit for bit.
//! - **Hardened.** A truncated or corrupt file is an error, never a panic: the header length is
//!   checked against the file size before anything is allocated, and a header holding a number
//!   larger than the file is refused before the safetensors parser sees it (such numbers make
//!   its size check overflow, which panics in debug builds).
//! - **Atomic writes.** Every write goes to a temporary file in the same directory, flushed to
//!   disk, then renamed into place, so a failure leaves no partial file.
//! - **Errors.** One [`FileError`], whose message names the file and the tensor and whose
//!   [`source`](std::error::Error::source) is the underlying [`std::io::Error`], safetensors
//!   error or [`TensorError`](crate::TensorError).
//!
//! The module is called `io` rather than `safetensors`: it is this crate's tensor file I/O (the
//! format is an implementation choice that the feature names), and the name does not shadow the
//! `safetensors` crate. Its error is its own type rather than more
//! [`TensorError`](crate::TensorError) variants: `TensorError` describes in-memory tensors, is
//! plain data (`Eq`, compared field by field) and exists without the feature, while file errors
//! carry OS and parser errors and exist only with it; a `FileError` wraps a `TensorError` as its
//! source where one occurs.
//!
//! ```
//! use smoothgrad_autograd::io::{Dtype, TensorFile, Writer};
//! use smoothgrad_autograd::Tensor;
//!
//! let x = Tensor::<f32>::from_vec(vec![1.0, -2.0, 0.5, 3.0], &[2, 2]).unwrap();
//! let mut w = Writer::new();
//! w.tensor("input", &x).metadata("note", "demo");
//! let file = TensorFile::from_bytes(w.to_bytes().unwrap()).unwrap();
//! assert_eq!(file.dtype("input").unwrap(), Dtype::F32);
//! assert_eq!(file.get::<f64>("input").unwrap(), x.cast::<f64>());
//! assert_eq!(file.metadata()["note"], "demo");
//! ```
//!
//! [`Scalar`]: crate::Scalar

mod convert;
mod error;
mod file;
mod writer;

pub use convert::{bf16_to_f32, f16_to_f32, FLOAT_DTYPES};
pub use error::{Access, FileError};
pub use file::{read_file, TensorFile};
/// The stored element types of the safetensors format (`F32`, `BF16`, `I64`, ...).
pub use safetensors::Dtype;
pub use writer::{write_file, Writer};
