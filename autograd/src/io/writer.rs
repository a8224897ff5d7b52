//! Writing safetensors files of any tensors: [`Writer`], [`write_file`], and the atomic write
//! every save goes through.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use safetensors::tensor::View;
use safetensors::Dtype;

use super::convert::{encode, encode_i64};
use super::error::{Access, FileError};
use crate::{Scalar, Tensor};

/// Shorthand for results of this module.
type Result<T, E = FileError> = std::result::Result<T, E>;

/// A safetensors file being assembled: tensors (float or `i64`) and string metadata, written
/// all at once by [`Writer::to_bytes`] or atomically by [`Writer::write`].
///
/// ```
/// use smoothgrad_autograd::Tensor;
/// use smoothgrad_autograd::io::{TensorFile, Writer};
///
/// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap();
/// let mut w = Writer::new();
/// w.tensor("input", &x).i64("target", &[3], &[1]).unwrap().metadata("note", "demo");
/// let file = TensorFile::from_bytes(w.to_bytes().unwrap()).unwrap();
/// assert_eq!(file.get::<f32>("input").unwrap(), x);
/// assert_eq!(file.get_i64("target").unwrap(), (vec![3], vec![1]));
/// assert_eq!(file.metadata()["note"], "demo");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Writer {
    tensors: Vec<(String, Stored)>,
    metadata: HashMap<String, String>,
}

/// One tensor to write, already in its stored byte layout.
#[derive(Clone, Debug)]
struct Stored {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Stored {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }

    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

impl Writer {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a float tensor, stored as F32 for `f32` and F64 for `f64`, bit for bit.
    pub fn tensor<T: Scalar>(&mut self, name: &str, tensor: &Tensor<T>) -> &mut Self {
        let (dtype, bytes) = encode(tensor);
        let shape = tensor.shape().to_vec();
        self.tensors.push((
            name.to_string(),
            Stored {
                dtype,
                shape,
                bytes,
            },
        ));
        self
    }

    /// Adds an `i64` tensor (stored as I64), such as class labels.
    ///
    /// # Errors
    /// [`FileError::Values`] if `values.len()` is not the product of `shape`.
    pub fn i64(&mut self, name: &str, values: &[i64], shape: &[usize]) -> Result<&mut Self> {
        if shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) != Some(values.len()) {
            return Err(FileError::Values {
                name: name.to_string(),
                shape: shape.to_vec(),
                len: values.len(),
            });
        }
        let stored = Stored {
            dtype: Dtype::I64,
            shape: shape.to_vec(),
            bytes: encode_i64(values),
        };
        self.tensors.push((name.to_string(), stored));
        Ok(self)
    }

    /// Sets a metadata string (replacing an earlier value for `key`).
    pub fn metadata(&mut self, key: &str, value: &str) -> &mut Self {
        self.metadata.insert(key.to_string(), value.to_string());
        self
    }

    /// The file's bytes.
    ///
    /// # Errors
    /// [`FileError::DuplicateName`] if two tensors share a name.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut names: Vec<&str> = self.tensors.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(FileError::DuplicateName {
                name: w[0].to_string(),
            });
        }
        let metadata = (!self.metadata.is_empty()).then(|| self.metadata.clone());
        let views = self.tensors.iter().map(|(n, s)| (n.as_str(), s));
        safetensors::serialize(views, &metadata).map_err(|e| FileError::Serialize {
            source: Arc::new(e),
        })
    }

    /// Writes the file atomically: to a temporary file in the same directory, flushed to disk,
    /// then renamed over `path`, so a failure leaves no partial file.
    ///
    /// # Errors
    /// As [`Writer::to_bytes`], and [`FileError::Io`] naming the path if it cannot be written.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_bytes()?)
    }
}

/// Writes float tensors and metadata strings to a safetensors file, atomically: F32 for `f32`
/// tensors, F64 for `f64`. A shorthand for [`Writer`].
///
/// # Errors
/// [`FileError::DuplicateName`] if two tensors share a name; [`FileError::Io`] naming the path if
/// it cannot be written (and then no file, partial or whole, is left at `path`).
pub fn write_file<T: Scalar>(
    path: impl AsRef<Path>,
    tensors: &[(&str, &Tensor<T>)],
    metadata: &[(&str, &str)],
) -> Result<()> {
    let mut w = Writer::new();
    for (name, t) in tensors {
        w.tensor(name, t);
    }
    for (k, v) in metadata {
        w.metadata(k, v);
    }
    w.write(path)
}

/// Writes `bytes` to a temporary file beside `path` (same directory, so the same file system),
/// flushes it to disk, then renames it over `path`: readers see the old file or the whole new one,
/// never a partial write. On failure the temporary file is removed.
///
/// # Errors
/// [`FileError::Io`]: `cannot write "path": <reason>` (`not a file name` for a path such as `..`,
/// as an [`InvalidInput`](std::io::ErrorKind::InvalidInput) error).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let fail = |e| FileError::io(Access::Write, path, e);
    let file_name = path.file_name().ok_or_else(|| {
        fail(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = fs::File::options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        fail(e)
    })
}
