//! Reading a `ModelProto` from a file, with a size limit.

use std::path::Path;

use prost::Message;

use crate::error::{OnnxError, Result};
use crate::proto::ModelProto;

/// The default limit on a model file's size: 2 GiB, protobuf's own limit on one message.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

/// The model in `path`, refused if the file is larger than `max_bytes`.
///
/// # Errors
/// [`OnnxError::Io`], [`OnnxError::TooLarge`], or [`OnnxError::Decode`] for bytes that are not
/// a `ModelProto` (a truncated file).
pub fn read_model(path: &Path, max_bytes: u64) -> Result<ModelProto> {
    let io = |source| OnnxError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > max_bytes {
        return Err(OnnxError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: max_bytes,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    decode_model(&bytes)
}

/// The model encoded in `bytes`.
///
/// # Errors
/// [`OnnxError::Decode`] if they are not a `ModelProto` with a graph.
pub fn decode_model(bytes: &[u8]) -> Result<ModelProto> {
    let m = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    if m.graph.is_none() {
        return Err(OnnxError::Decode("the model has no graph".into()));
    }
    Ok(m)
}

/// The model's version of the default (`ai.onnx`) op set.
pub fn opset(m: &ModelProto) -> i64 {
    m.opset_import
        .iter()
        .find(|o| matches!(o.domain(), "" | "ai.onnx"))
        .map_or(1, |o| o.version())
}
