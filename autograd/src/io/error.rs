//! [`FileError`]: what can go wrong reading or writing a tensor file, with the path and the
//! underlying error as its [`source`](std::error::Error::source).

use std::error::Error;
use std::fmt;
use std::io;
use std::mem::discriminant;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use safetensors::tensor::SafeTensorError;

use crate::TensorError;

/// Whether a file was being read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Reading an existing file.
    Read,
    /// Writing (creating or replacing) a file.
    Write,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
        })
    }
}

/// An error reading, parsing or writing a tensor file. Each message names the file (its quoted
/// path, or "the data" for bytes in memory) and the tensor, and says what was expected and what
/// was found; the error it comes from, if any, is its [`source`](Error::source).
///
/// The wrapped errors are shared ([`Arc`]) so that `FileError` is [`Clone`]. Two errors are
/// equal when they are of the same kind and say the same thing: OS and parser errors have no
/// equality of their own, and what they say is what a caller can act on.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be read or written: `cannot read "x.safetensors": No such file or
    /// directory`.
    Io {
        /// Reading or writing.
        access: Access,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
    /// The bytes are not a valid safetensors file: `"x.safetensors" is not a valid safetensors
    /// file: the header length field says ...`.
    Invalid {
        /// How the message names the file: its quoted path, or "the data".
        file: String,
        /// What is wrong, in words.
        reason: String,
        /// The safetensors parser's error, when it found the problem (this module checks the
        /// header length and the header's numbers itself, before the parser runs).
        source: Option<Arc<SafeTensorError>>,
    },
    /// There is no tensor of that name: `the data has no tensor "labels" (it has "input")`.
    NoTensor {
        /// How the message names the file.
        file: String,
        /// The name asked for.
        name: String,
        /// The names the file holds, sorted (the message lists the first ten).
        names: Vec<String>,
    },
    /// A tensor cannot be read as asked: `the data: tensor "input": dtype F32 is not an integer
    /// type (expected I64, ...)`.
    Tensor {
        /// How the message names the file.
        file: String,
        /// The tensor.
        name: String,
        /// What is wrong with it.
        reason: String,
        /// The tensor error, if building the tensor failed.
        source: Option<Arc<TensorError>>,
    },
    /// A tensor given to a [`Writer`](super::Writer) with fewer or more values than its shape
    /// holds.
    Values {
        /// The tensor.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// The number of values given.
        len: usize,
    },
    /// Two tensors given to a [`Writer`](super::Writer) share a name.
    DuplicateName {
        /// The name.
        name: String,
    },
    /// The safetensors serializer refused the tensors.
    Serialize {
        /// Its error.
        source: Arc<SafeTensorError>,
    },
}

impl FileError {
    /// An I/O error on `path`.
    pub(crate) fn io(access: Access, path: &Path, source: io::Error) -> Self {
        FileError::Io {
            access,
            path: path.to_path_buf(),
            source: Arc::new(source),
        }
    }

    /// The path of the file involved, for I/O errors.
    pub fn path(&self) -> Option<&Path> {
        match self {
            FileError::Io { path, .. } => Some(path),
            _ => None,
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io {
                access,
                path,
                source,
            } => write!(
                f,
                "cannot {access} {}: {}",
                quoted(path),
                without_os_code(source)
            ),
            FileError::Invalid { file, reason, .. } => {
                write!(f, "{file} is not a valid safetensors file: {reason}")
            }
            FileError::NoTensor { file, name, names } => {
                let listed: Vec<String> = names.iter().take(10).map(|n| format!("{n:?}")).collect();
                let more = if names.len() > 10 { ", ..." } else { "" };
                let has = if listed.is_empty() {
                    "none".to_string()
                } else {
                    listed.join(", ")
                };
                write!(f, "{file} has no tensor {name:?} (it has {has}{more})")
            }
            FileError::Tensor {
                file, name, reason, ..
            } => write!(f, "{file}: tensor {name:?}: {reason}"),
            FileError::Values { name, shape, len } => {
                write!(
                    f,
                    "tensor {name:?}: shape {shape:?} does not hold {len} values"
                )
            }
            FileError::DuplicateName { name } => write!(f, "tensor name {name:?} is used twice"),
            FileError::Serialize { source } => write!(f, "cannot serialize tensors: {source}"),
        }
    }
}

impl Error for FileError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            FileError::Io { source, .. } => Some(&**source),
            FileError::Invalid { source, .. } => source.as_deref().map(|e| e as _),
            FileError::Tensor { source, .. } => source.as_deref().map(|e| e as _),
            FileError::Serialize { source } => Some(&**source),
            FileError::NoTensor { .. }
            | FileError::Values { .. }
            | FileError::DuplicateName { .. } => None,
        }
    }
}

impl PartialEq for FileError {
    /// Same kind, same message, and for I/O errors the same [`io::ErrorKind`].
    fn eq(&self, other: &Self) -> bool {
        let io_kind = |e: &Self| match e {
            FileError::Io { source, .. } => Some(source.kind()),
            _ => None,
        };
        discriminant(self) == discriminant(other)
            && io_kind(self) == io_kind(other)
            && self.to_string() == other.to_string()
    }
}

impl Eq for FileError {}

/// `path` in double quotes, as error messages show it.
pub(crate) fn quoted(path: &Path) -> String {
    format!("\"{}\"", path.display())
}

/// The error's message without the trailing ` (os error N)`.
fn without_os_code(e: &io::Error) -> String {
    let reason = e.to_string();
    if let Some(code) = e.raw_os_error() {
        if let Some(stripped) = reason.strip_suffix(&format!(" (os error {code})")) {
            return stripped.to_string();
        }
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_name_the_path_without_the_os_code() {
        let e = FileError::io(
            Access::Read,
            Path::new("x.safetensors"),
            io::Error::from_raw_os_error(2),
        );
        assert_eq!(
            e.to_string(),
            "cannot read \"x.safetensors\": No such file or directory"
        );
        let os = e.source().unwrap().downcast_ref::<io::Error>().unwrap();
        assert_eq!(os.raw_os_error(), Some(2));
        assert_eq!(e.path(), Some(Path::new("x.safetensors")));
    }

    #[test]
    fn equality_is_by_kind_and_message() {
        let a = FileError::DuplicateName { name: "x".into() };
        assert_eq!(a.clone(), a);
        let read = |kind| FileError::io(Access::Read, Path::new("p"), io::Error::new(kind, "m"));
        assert_eq!(read(io::ErrorKind::NotFound), read(io::ErrorKind::NotFound));
        assert_ne!(read(io::ErrorKind::NotFound), read(io::ErrorKind::Other));
        let values = FileError::Values {
            name: "x".into(),
            shape: vec![2],
            len: 3,
        };
        assert_ne!(values, a);
    }
}
