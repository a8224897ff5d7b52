//! [`NnError`]: what can go wrong building, loading or running a model on user input.

use std::error::Error;
use std::fmt;
use std::mem::discriminant;
#[cfg(feature = "safetensors")]
use std::path::PathBuf;
#[cfg(feature = "safetensors")]
use std::sync::Arc;

#[cfg(feature = "safetensors")]
use smoothgrad_autograd::io::{Access, FileError};

/// An error from parsing a spec, checking a shape, or loading weights. Each message says what was
/// expected and what was found, and the error it comes from, if any, is its
/// [`source`](Error::source).
///
/// Two errors are equal when they are of the same kind and say the same thing (wrapped OS errors
/// have no equality of their own). The weights variants exist with the `safetensors` feature.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum NnError {
    /// A spec string that does not parse.
    Spec {
        /// Byte offset in the spec where the problem is.
        position: usize,
        /// What was expected and found.
        message: String,
        /// The spec itself, for the caret line in `Display`.
        spec: String,
    },
    /// An input shape a layer cannot take.
    Shape {
        /// The layer, as its spec (`conv2d(1,16,3)`) with its index in a `Sequential`.
        layer: String,
        /// What was expected and found.
        message: String,
    },
    /// A weights file that does not match the model or is malformed.
    #[cfg(feature = "safetensors")]
    Weights {
        /// What is wrong, naming the file and the tensors.
        message: String,
        /// The tensor-file error it comes from: the file is malformed, or lacks a tensor.
        source: Option<FileError>,
    },
    /// An impossible layer or hyper-parameter setting.
    Config(String),
    /// A file that could not be read or written: `cannot read "m.safetensors": No such file or
    /// directory`.
    #[cfg(feature = "safetensors")]
    Io {
        /// Reading or writing.
        access: Access,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: Arc<std::io::Error>,
    },
}

#[cfg(feature = "safetensors")]
impl NnError {
    /// A weights error of this crate's own, with no underlying error.
    pub(crate) fn weights(message: String) -> Self {
        NnError::Weights {
            message,
            source: None,
        }
    }
}

#[cfg(feature = "safetensors")]
impl From<FileError> for NnError {
    /// [`FileError::Io`] becomes [`NnError::Io`] (same path, same OS error); any other becomes
    /// [`NnError::Weights`] with the file error as its source.
    fn from(e: FileError) -> Self {
        match e {
            FileError::Io {
                access,
                path,
                source,
            } => NnError::Io {
                access,
                path,
                source,
            },
            other => NnError::Weights {
                message: other.to_string(),
                source: Some(other),
            },
        }
    }
}

impl fmt::Display for NnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NnError::Spec {
                position,
                message,
                spec,
            } => {
                writeln!(f, "invalid model spec at position {position}: {message}")?;
                writeln!(f, "  {spec}")?;
                // Count the characters before the byte offset (safe off a char boundary too).
                let column = spec
                    .char_indices()
                    .take_while(|(i, _)| i < position)
                    .count();
                write!(f, "  {}^", " ".repeat(column))
            }
            NnError::Shape { layer, message } => write!(f, "layer {layer}: {message}"),
            #[cfg(feature = "safetensors")]
            NnError::Weights { message, .. } => write!(f, "weights: {message}"),
            NnError::Config(m) => write!(f, "{m}"),
            #[cfg(feature = "safetensors")]
            NnError::Io {
                access,
                path,
                source,
            } => {
                // The file layer words I/O errors (path quoted, no OS error number).
                let e = FileError::Io {
                    access: *access,
                    path: path.clone(),
                    source: source.clone(),
                };
                write!(f, "{e}")
            }
        }
    }
}

impl Error for NnError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            #[cfg(feature = "safetensors")]
            NnError::Weights { source, .. } => source.as_ref().map(|e| e as _),
            #[cfg(feature = "safetensors")]
            NnError::Io { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

impl PartialEq for NnError {
    /// Same kind and same message (and for I/O errors the same [`std::io::ErrorKind`]).
    fn eq(&self, other: &Self) -> bool {
        let io_kind = |e: &Self| -> Option<std::io::ErrorKind> {
            match e {
                #[cfg(feature = "safetensors")]
                NnError::Io { source, .. } => Some(source.kind()),
                _ => None,
            }
        };
        discriminant(self) == discriminant(other)
            && io_kind(self) == io_kind(other)
            && self.to_string() == other.to_string()
    }
}

impl Eq for NnError {}

/// Shorthand for results in this crate.
pub type Result<T, E = NnError> = std::result::Result<T, E>;
