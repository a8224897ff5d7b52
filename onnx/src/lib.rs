//! ONNX import: reads an ONNX `ModelProto` (the file `torch.onnx.export` writes) and converts it
//! to a [`smoothgrad_nn::Graph`], in pure Rust, so an exported image classifier can be explained
//! without Python.
//!
//! ```no_run
//! let graph = smoothgrad_onnx::import::<f64>("model.onnx").unwrap();
//! ```
//!
//! A model exported with a fixed batch of 1 runs on any batch: reshapes keep the batch axis
//! symbolic ([`smoothgrad_nn::TensorOp::Reshape`]), and shape arithmetic (`Shape`, `Gather`,
//! `Unsqueeze`, `Concat`, `Cast`, `Slice`, ...) is folded at import time.
//!
//! Steps, each before anything runs: [`read_model`] (size limit, protobuf decoding),
//! [`validate`] (every input defined earlier; one error listing every unsupported op with its
//! node name and the opset), then conversion (initializers and `Constant` nodes decoded with
//! every element count checked against the dimensions before allocating; external data read
//! only from inside the model's folder).
//!
//! Why a separate crate rather than a feature of `smoothgrad-nn`: ONNX brings a protobuf
//! dependency (`prost`) and 1300 lines of generated schema code that users of `nn` alone never
//! need, and the importer depends on `nn`'s public API only, so it can evolve (op coverage,
//! opsets) and be versioned apart from the layers it targets; a feature would put those
//! dependencies and that code inside `nn` and make its build depend on the flag.
//!
//! The protobuf types ([`proto`]) are generated once from ONNX's `onnx.proto` by a small
//! generator crate (`onnx/generator`, outside the workspace) and committed: no `protoc` or
//! Python is needed to build.
#![warn(missing_docs)]

mod arity;
mod attr;
mod batch_layout;
pub mod constant;
mod convert;
mod error;
mod external;
mod fold;
mod fold_extra;
mod layers;
mod layers_activation;
mod layers_batch;
mod layers_conv;
mod layers_linear;
mod layers_pool;
mod layers_shape;
mod layers_tf;
mod layers_transformer;
mod load;
pub mod proto;
pub mod summary;
mod validate;

use std::path::Path;

use smoothgrad_autograd::Scalar;
use smoothgrad_nn::Graph;

pub use error::{OnnxError, Result};
pub use load::{decode_model, opset, read_model, DEFAULT_MAX_BYTES};
pub use validate::validate;

/// How to import a model: the actual input's shape and the file size limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// The shape of the input the model will run on (batch first), used for the model's
    /// symbolic dimensions (a dynamic height and width) and checked against its fixed ones
    /// after the batch; `None` takes a symbolic dimension as 1.
    pub input_shape: Option<Vec<usize>>,
    /// The largest model file read, in bytes.
    pub max_bytes: u64,
}

impl Default for ImportOptions {
    /// No input shape, [`DEFAULT_MAX_BYTES`].
    fn default() -> Self {
        ImportOptions {
            input_shape: None,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// The model in `path` as a graph of `T`, with the default size limit ([`DEFAULT_MAX_BYTES`]).
///
/// # Errors
/// Any [`OnnxError`]: unreadable, too large or corrupt file, malformed graph or tensors,
/// unsupported ops (all listed), or a node whose settings cannot be converted.
pub fn import<T: Scalar>(path: impl AsRef<Path>) -> Result<Graph<T>> {
    import_with_limit(path, DEFAULT_MAX_BYTES)
}

/// As [`import`], refusing a file larger than `max_bytes`.
///
/// # Errors
/// As [`import`].
pub fn import_with_limit<T: Scalar>(path: impl AsRef<Path>, max_bytes: u64) -> Result<Graph<T>> {
    import_with(
        path,
        &ImportOptions {
            input_shape: None,
            max_bytes,
        },
    )
}

/// As [`import`], with `options` (the actual input's shape, the size limit).
///
/// # Errors
/// As [`import`]; [`OnnxError::Graph`] if the given input shape does not fit the model's.
pub fn import_with<T: Scalar>(path: impl AsRef<Path>, options: &ImportOptions) -> Result<Graph<T>> {
    let path = path.as_ref();
    let model = read_model(path, options.max_bytes)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    import_model_with(&model, dir, options.input_shape.as_deref())
}

/// Converts a decoded `model`; external data files are looked up in `dir`.
///
/// # Errors
/// As [`import`], except for reading the file.
pub fn import_model<T: Scalar>(model: &proto::ModelProto, dir: &Path) -> Result<Graph<T>> {
    import_model_with(model, dir, None)
}

/// As [`import_model`], with the actual input's shape (see [`ImportOptions::input_shape`]).
///
/// # Errors
/// As [`import_with`], except for reading the file.
pub fn import_model_with<T: Scalar>(
    model: &proto::ModelProto,
    dir: &Path,
    input_shape: Option<&[usize]>,
) -> Result<Graph<T>> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;
    let opset = opset(model);
    validate(graph, opset)?;
    convert::convert(graph, dir, opset, input_shape)
}
