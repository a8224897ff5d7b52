//! PyTorch-compatible safetensors weights (feature `safetensors`, on by default).
//!
//! A [`Sequential`] is saved with every stored tensor (parameters and buffers) under its
//! `state_dict` name (`0.weight`, `1.running_mean`, ...), as F32 for an `f32` model and F64 for an
//! `f64` one, with the metadata `{"arch": <the model's spec>, "format": "pt"}` (`format` is what
//! PyTorch's writer puts). So a file written by `safetensors.torch.save_file(model.state_dict(),
//! path)` for a PyTorch `nn.Sequential` of the same layers loads with [`load_into`] into
//! `Sequential::from_spec(...)`, and a file saved here loads with [`load`] alone.
//!
//! Loading is all-or-nothing: [`load_into`] checks every name, shape and dtype before changing
//! anything, and reports every problem at once, by tensor name:
//!
//! ```text
//! weights: "m.safetensors" does not match the model: tensor "0.weight": expected shape
//! [16, 1, 3, 3], found [16, 3, 3, 3]; missing tensors: "2.weight", "2.bias"; unexpected
//! tensors: "9.weight"
//! ```
//!
//! Stored F32, F64, F16 and BF16 tensors are converted to the model's type (F16 and BF16 exactly,
//! see [`autograd::io::f16_to_f32`] and [`autograd::io::bf16_to_f32`]; F64 into an `f32` model
//! rounds to nearest), and BatchNorm's `num_batches_tracked` may also be I64 or I32, as PyTorch
//! stores it. A truncated or corrupt file is an error, never a panic, and a save goes to a
//! temporary file renamed into place, so a failure leaves no partial file.
//!
//! Reading and writing the files themselves, for any tensors (model inputs, class labels,
//! attributions), is [`autograd::io`]'s: [`read_file`], [`TensorFile`], [`Writer`]. This module
//! only matches a model's state to a file. Its errors are [`NnError::Weights`] and
//! [`NnError::Io`], with the [`FileError`] or [`std::io::Error`] they come from as their source.
//!
//! ```
//! use autograd::io::{Dtype, TensorFile};
//! use autograd::Tensor;
//! use nn::{weights, Linear, ReLU, Sequential};
//!
//! let w = Tensor::from_vec(vec![1.0f32, -2.0, 0.5, 3.0], &[2, 2]).unwrap();
//! let model = Sequential::new().with(Linear::from_weights(w, None).unwrap()).with(ReLU);
//! let bytes = weights::to_bytes(&model).unwrap();
//!
//! let mut other = Sequential::new()
//!     .with(Linear::from_weights(Tensor::zeros(&[2, 2]), None).unwrap())
//!     .with(ReLU);
//! weights::load_into_bytes(&mut other, &bytes).unwrap();
//! assert_eq!(other.state_dict()[0].2, model.state_dict()[0].2);
//!
//! let file = TensorFile::from_bytes(bytes).unwrap();
//! assert_eq!(file.metadata()["arch"], "linear(2,2,bias=False), relu");
//! assert_eq!(file.dtype("0.weight").unwrap(), Dtype::F32);
//! ```
//!
//! [`FileError`]: autograd::io::FileError

mod check;

use std::path::Path;

use autograd::io::{read_file, TensorFile, Writer};
use autograd::Scalar;

use crate::error::{NnError, Result};
use crate::module::Module;
use crate::sequential::Sequential;

/// The metadata key holding the model's spec string.
pub const ARCH_KEY: &str = "arch";

/// The model's state as safetensors bytes: every parameter and buffer under its `state_dict`
/// name, F32 for an `f32` model and F64 for an `f64` one (bit for bit), with metadata
/// `{"arch": model.to_string(), "format": "pt"}`.
///
/// # Errors
/// [`NnError::Weights`] if two tensors share a name (a layer bug; cannot happen with this crate's
/// layers).
pub fn to_bytes<T: Scalar>(model: &Sequential<T>) -> Result<Vec<u8>> {
    Ok(writer(model).to_bytes()?)
}

/// The model's state and metadata, ready to write.
fn writer<T: Scalar>(model: &Sequential<T>) -> Writer {
    let mut w = Writer::new();
    model.visit_state(&mut |name, _, t| {
        w.tensor(name, t);
    });
    w.metadata(ARCH_KEY, &model.to_string())
        .metadata("format", "pt");
    w
}

/// Saves the model to `path` as [`to_bytes`] lays it out, atomically: written to a temporary
/// file in the same directory, then renamed, so a failure leaves no partial file.
///
/// # Errors
/// [`NnError::Io`] naming the path if it cannot be written.
pub fn save<T: Scalar>(model: &Sequential<T>, path: impl AsRef<Path>) -> Result<()> {
    Ok(writer(model).write(path)?)
}

/// Loads the weights in `path` into `model`, all or nothing (see [`load_file_into`]).
///
/// # Errors
/// [`NnError::Io`] if the file cannot be read; [`NnError::Weights`] if it is not a valid
/// safetensors file or does not match the model (every problem listed, by tensor name).
pub fn load_into<T: Scalar>(model: &mut Sequential<T>, path: impl AsRef<Path>) -> Result<()> {
    load_file_into(model, &read_file(path)?)
}

/// [`load_into`] from the bytes of a safetensors file.
///
/// # Errors
/// As [`load_into`], but for I/O.
pub fn load_into_bytes<T: Scalar>(model: &mut Sequential<T>, bytes: &[u8]) -> Result<()> {
    load_file_into(model, &TensorFile::from_bytes(bytes.to_vec())?)
}

/// Builds the model a file saved by [`save`] describes, from its `arch` metadata, and loads its
/// weights (see [`model_from_file`]).
///
/// # Errors
/// [`NnError::Io`] if the file cannot be read; [`NnError::Weights`] if it is not a valid
/// safetensors file, has no (or an invalid) `arch` metadata, or its tensors do not match it.
pub fn load<T: Scalar>(path: impl AsRef<Path>) -> Result<Sequential<T>> {
    model_from_file(&read_file(path)?)
}

/// [`load`] from the bytes of a safetensors file.
///
/// # Errors
/// As [`load`], but for I/O.
pub fn load_bytes<T: Scalar>(bytes: &[u8]) -> Result<Sequential<T>> {
    model_from_file(&TensorFile::from_bytes(bytes.to_vec())?)
}

/// Replaces every parameter and buffer of `model` by the tensor of the same name in `file`, after
/// checking them all: every name the model holds is present, no other name is, every shape is
/// equal, and every dtype is F32, F64, F16 or BF16 (or, for `num_batches_tracked`, also I64 or
/// I32). If anything is wrong the model is unchanged.
///
/// # Errors
/// One [`NnError::Weights`] naming every problem: `tensor "0.weight": expected shape [16, 1, 3,
/// 3], found [16, 3, 3, 3]`, `tensor "3.bias": dtype U8 is not supported (expected F32, F64, F16
/// or BF16)`, `missing tensors: "2.weight", "2.bias"`, `unexpected tensors: "9.weight"` (sorted),
/// separated by `; `.
pub fn load_file_into<T: Scalar>(model: &mut Sequential<T>, file: &TensorFile) -> Result<()> {
    let staged = check::stage(model, file)?;
    check::apply(model, staged);
    Ok(())
}

/// Loads the weights in `path` into any model (a [`crate::Graph`], a layer), all or nothing,
/// with the same checks as [`load_file_into`]: every name the model's `state_dict` holds must be
/// in the file with its shape, and no other name may be.
///
/// ```no_run
/// use nn::{weights, GraphBuilder, Identity};
///
/// let mut g = GraphBuilder::<f64>::new();
/// let x = g.input();
/// let y = g.module("id", Identity, x);
/// let mut graph = g.finish(y).unwrap();
/// weights::load_module_into(&mut graph, "block.safetensors").unwrap();
/// ```
///
/// # Errors
/// As [`load_into`].
pub fn load_module_into<T: Scalar, M: Module<T> + ?Sized>(
    model: &mut M,
    path: impl AsRef<Path>,
) -> Result<()> {
    let file = read_file(path)?;
    let staged = check::stage(model, &file)?;
    check::apply(model, staged);
    Ok(())
}

/// Builds `Sequential::from_spec(arch)` from the `arch` metadata of `file` and loads the weights
/// into it ([`load_file_into`]).
///
/// # Errors
/// [`NnError::Weights`] if there is no `arch` metadata (files saved by PyTorch have none: build
/// the model from its spec and use [`load_into`]), if it is not a valid spec, or if the tensors do
/// not match it.
pub fn model_from_file<T: Scalar>(file: &TensorFile) -> Result<Sequential<T>> {
    let arch = file.metadata().get(ARCH_KEY).ok_or_else(|| {
        NnError::weights(format!(
            "{} has no \"arch\" metadata, so the model it holds is unknown (files saved by \
             PyTorch have none): build the model with Sequential::from_spec and load the \
             weights with weights::load_into",
            file.source()
        ))
    })?;
    let mut model = Sequential::from_spec(arch).map_err(|e| match e {
        NnError::Spec {
            position, message, ..
        } => NnError::weights(format!(
            "{}: the \"arch\" metadata {arch:?} is not a valid model spec: {message} (at \
             position {position})",
            file.source()
        )),
        other => other,
    })?;
    load_file_into(&mut model, file)?;
    Ok(model)
}
