//! [`OnnxError`]: everything that can go wrong reading or converting an ONNX model.

use std::fmt;
use std::path::PathBuf;

/// An import failure, with the file or node it concerns.
#[derive(Debug)]
pub enum OnnxError {
    /// The model or an external data file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is larger than the limit given.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The bytes are not a valid `ModelProto` (a truncated or corrupt file).
    Decode(String),
    /// A tensor (initializer or `Constant`) is malformed: an unknown type, a negative dimension,
    /// or a data length that disagrees with its dimensions.
    Tensor {
        /// The tensor's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An external data reference is invalid or leaves the model's folder.
    ExternalData {
        /// The tensor's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The graph is malformed: a dangling input, nodes out of order, a missing output.
    Graph(String),
    /// Ops this importer does not support, every one listed with its node and the opset.
    Unsupported(String),
    /// A supported op with settings or inputs it cannot convert (asymmetric conv padding, a
    /// reshape that moves the batch axis).
    Convert {
        /// The node's name.
        node: String,
        /// The op type.
        op: String,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for OnnxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnnxError::Io { path, source } => {
                write!(f, "onnx: cannot read {}: {source}", path.display())
            }
            OnnxError::TooLarge { path, size, limit } => write!(
                f,
                "onnx: {} is {size} bytes, more than the limit of {limit} bytes",
                path.display()
            ),
            OnnxError::Decode(e) => write!(
                f,
                "onnx: not a valid ONNX model (truncated or corrupt): {e}"
            ),
            OnnxError::Tensor { name, reason } => write!(f, "onnx: tensor {name:?}: {reason}"),
            OnnxError::ExternalData { name, reason } => {
                write!(f, "onnx: external data of tensor {name:?}: {reason}")
            }
            OnnxError::Graph(e) => write!(f, "onnx: invalid graph: {e}"),
            OnnxError::Unsupported(e) => write!(f, "onnx: {e}"),
            OnnxError::Convert { node, op, reason } => {
                write!(f, "onnx: node {node:?} ({op}): {reason}")
            }
        }
    }
}

impl std::error::Error for OnnxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OnnxError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A result with an [`OnnxError`].
pub type Result<T, E = OnnxError> = std::result::Result<T, E>;
