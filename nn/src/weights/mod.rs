//! PyTorch-compatible safetensors weights (feature `safetensors`, on by default).
//!
//! Any [`Module`] is saved with every stored tensor (parameters and buffers) under its
//! `state_dict` name (`0.weight`, `1.running_mean`, `layer1.0.conv1.weight`, ...), as F32 for an
//! `f32` model and F64 for an `f64` one, with its structure ([`Module::structure`]) in the
//! metadata: `{"arch": <the spec>, "format": "pt"}` for a [`Sequential`], `{"graph": <the
//! description>, "format": "pt"}` for a [`Graph`] ([`Graph::description`]; `format` is what
//! PyTorch's writer puts). So a file written by `safetensors.torch.save_file(model.state_dict(),
//! path)` for a PyTorch `nn.Sequential` of the same layers loads with [`load_into`] into
//! `Sequential::from_spec(...)` (or a graph built with PyTorch's module names into that graph),
//! and a file saved here loads with [`load`] alone, as a `Sequential`, a `Graph` or a
//! `Box<dyn Module>` ([`FromFile`]). A model without a structure (a module written in Rust only)
//! saves its weights with [`save_state`].
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
//! see [`smoothgrad_autograd::io::f16_to_f32`] and [`smoothgrad_autograd::io::bf16_to_f32`]; F64 into an `f32` model
//! rounds to nearest), and BatchNorm's `num_batches_tracked` may also be I64 or I32, as PyTorch
//! stores it. A truncated or corrupt file is an error, never a panic, and a save goes to a
//! temporary file renamed into place, so a failure leaves no partial file.
//!
//! Reading and writing the files themselves, for any tensors (model inputs, class labels,
//! attributions), is [`smoothgrad_autograd::io`]'s: [`read_file`], [`TensorFile`], [`Writer`]. This module
//! only matches a model's state to a file. Its errors are [`NnError::Weights`] and
//! [`NnError::Io`], with the [`FileError`] or [`std::io::Error`] they come from as their source.
//!
//! ```
//! use smoothgrad_autograd::io::{Dtype, TensorFile};
//! use smoothgrad_autograd::Tensor;
//! use smoothgrad_nn::{weights, Linear, ReLU, Sequential};
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
//! [`FileError`]: smoothgrad_autograd::io::FileError

mod check;

use std::path::Path;

use smoothgrad_autograd::io::{read_file, TensorFile, Writer};
use smoothgrad_autograd::Scalar;

use crate::error::{NnError, Result};
use crate::graph::Graph;
use crate::module::{Module, Structure};
use crate::sequential::Sequential;

/// The metadata key holding a [`Sequential`]'s spec string.
pub const ARCH_KEY: &str = "arch";

/// The metadata key holding a [`Graph`]'s description ([`Graph::description`]).
pub const GRAPH_KEY: &str = "graph";

/// The model's state as safetensors bytes: every parameter and buffer under its `state_dict`
/// name, F32 for an `f32` model and F64 for an `f64` one (bit for bit), with its structure in the
/// metadata: `{"arch": <spec>, "format": "pt"}` for a [`Sequential`], `{"graph": <description>,
/// "format": "pt"}` for a [`Graph`].
///
/// # Errors
/// [`NnError::Config`] if the model's structure is unknown ([`Module::structure`]: a module
/// without a spec, a graph with such a node; save its weights alone with [`state_to_bytes`]) or
/// is a single layer (whose state names, `weight`, are not those of the `Sequential` its spec
/// describes: save it inside one); [`NnError::Weights`] if two tensors share a name (a layer bug;
/// cannot happen with this crate's layers).
pub fn to_bytes<T: Scalar, M: Module<T> + ?Sized>(model: &M) -> Result<Vec<u8>> {
    Ok(writer(model, true)?.to_bytes()?)
}

/// The model's state as safetensors bytes without its structure (metadata `{"format": "pt"}`),
/// as PyTorch's `save_file(model.state_dict())` writes it: for any module, to load with
/// [`load_into`] into a model built in code.
///
/// # Errors
/// [`NnError::Weights`] if two tensors share a name.
pub fn state_to_bytes<T: Scalar, M: Module<T> + ?Sized>(model: &M) -> Result<Vec<u8>> {
    Ok(writer(model, false)?.to_bytes()?)
}

/// The model's state and metadata (with its structure if `structure`), ready to write.
fn writer<T: Scalar, M: Module<T> + ?Sized>(model: &M, structure: bool) -> Result<Writer> {
    let mut w = Writer::new();
    model.visit_state(&mut |name, _, t| {
        w.tensor(name, t);
    });
    if structure {
        match model.structure()? {
            Structure::Sequential(spec) => w.metadata(ARCH_KEY, &spec),
            Structure::Graph(description) => w.metadata(GRAPH_KEY, &description),
            Structure::Layer(spec) => {
                return Err(NnError::Config(format!(
                    "the model is a single layer ({spec}), whose state names (\"weight\") are not \
                     those of the Sequential its spec describes (\"0.weight\"): save it inside a \
                     Sequential"
                )))
            }
        };
    }
    w.metadata("format", "pt");
    Ok(w)
}

/// Saves the model to `path` as [`to_bytes`] lays it out, atomically: written to a temporary
/// file in the same directory, then renamed, so a failure leaves no partial file.
///
/// # Errors
/// As [`to_bytes`]; [`NnError::Io`] naming the path if it cannot be written.
pub fn save<T: Scalar, M: Module<T> + ?Sized>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    Ok(writer(model, true)?.write(path)?)
}

/// Saves the model's state without its structure, as [`state_to_bytes`] lays it out, atomically.
///
/// # Errors
/// As [`state_to_bytes`]; [`NnError::Io`] naming the path if it cannot be written.
pub fn save_state<T: Scalar, M: Module<T> + ?Sized>(
    model: &M,
    path: impl AsRef<Path>,
) -> Result<()> {
    Ok(writer(model, false)?.write(path)?)
}

/// Loads the weights in `path` into `model`, all or nothing (see [`load_file_into`]).
///
/// # Errors
/// [`NnError::Io`] if the file cannot be read; [`NnError::Weights`] if it is not a valid
/// safetensors file or does not match the model (every problem listed, by tensor name).
pub fn load_into<T: Scalar, M: Module<T> + ?Sized>(
    model: &mut M,
    path: impl AsRef<Path>,
) -> Result<()> {
    load_file_into(model, &read_file(path)?)
}

/// [`load_into`] from the bytes of a safetensors file.
///
/// # Errors
/// As [`load_into`], but for I/O.
pub fn load_into_bytes<T: Scalar, M: Module<T> + ?Sized>(
    model: &mut M,
    bytes: &[u8],
) -> Result<()> {
    load_file_into(model, &TensorFile::from_bytes(bytes.to_vec())?)
}

/// Builds the model a file saved by [`save`] describes, from its `arch` or `graph` metadata, and
/// loads its weights: as a [`Sequential`], a [`Graph`] or a `Box<dyn Module>` (whichever the
/// caller asks for, see [`FromFile`]).
///
/// ```no_run
/// # fn main() -> smoothgrad_nn::Result<()> {
/// let model: Box<dyn smoothgrad_nn::Module> = smoothgrad_nn::weights::load("model.safetensors")?;
/// let chain: smoothgrad_nn::Sequential = smoothgrad_nn::weights::load("chain.safetensors")?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`NnError::Io`] if the file cannot be read; [`NnError::Weights`] if it is not a valid
/// safetensors file, has no (or an invalid) structure metadata, or its tensors do not match it.
pub fn load<M: FromFile>(path: impl AsRef<Path>) -> Result<M> {
    M::from_file(&read_file(path)?)
}

/// [`load`] from the bytes of a safetensors file.
///
/// # Errors
/// As [`load`], but for I/O.
pub fn load_bytes<M: FromFile>(bytes: &[u8]) -> Result<M> {
    M::from_file(&TensorFile::from_bytes(bytes.to_vec())?)
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
pub fn load_file_into<T: Scalar, M: Module<T> + ?Sized>(
    model: &mut M,
    file: &TensorFile,
) -> Result<()> {
    let staged = check::stage(model, file)?;
    check::apply(model, staged);
    Ok(())
}

/// Builds the model the metadata of `file` describes and loads the weights into it (see
/// [`FromFile`]).
///
/// # Errors
/// As [`FromFile::from_file`].
pub fn model_from_file<M: FromFile>(file: &TensorFile) -> Result<M> {
    M::from_file(file)
}

/// A model type that a file saved by [`save`] rebuilds: [`Sequential`] (from metadata `arch`),
/// [`Graph`] (from `graph`), or `Box<dyn Module>` (from either).
pub trait FromFile: Sized {
    /// Builds the model from the metadata of `file` and loads the weights into it
    /// ([`load_file_into`]).
    ///
    /// # Errors
    /// [`NnError::Weights`] if the file has no structure metadata of the kind asked for (files
    /// saved by PyTorch have none: build the model in code and use [`load_into`]), if it is not a
    /// valid spec or description (with its position), or if the tensors do not match it.
    fn from_file(file: &TensorFile) -> Result<Self>;
}

impl<T: Scalar> FromFile for Sequential<T> {
    fn from_file(file: &TensorFile) -> Result<Self> {
        let Some(arch) = file.metadata().get(ARCH_KEY) else {
            if file.metadata().contains_key(GRAPH_KEY) {
                return Err(NnError::weights(format!(
                    "{} holds a graph model (metadata \"graph\"), not a Sequential: load it as a \
                     Graph or a Box<dyn Module>",
                    file.source()
                )));
            }
            return Err(no_structure(file));
        };
        let mut model = sequential(file, arch)?;
        load_file_into(&mut model, file)?;
        Ok(model)
    }
}

impl<T: Scalar> FromFile for Graph<T> {
    fn from_file(file: &TensorFile) -> Result<Self> {
        let Some(description) = file.metadata().get(GRAPH_KEY) else {
            if file.metadata().contains_key(ARCH_KEY) {
                return Err(NnError::weights(format!(
                    "{} holds a Sequential (metadata \"arch\"), not a graph: load it as a \
                     Sequential or a Box<dyn Module>",
                    file.source()
                )));
            }
            return Err(no_structure(file));
        };
        let mut model = graph(file, description)?;
        load_file_into(&mut model, file)?;
        Ok(model)
    }
}

impl<T: Scalar> FromFile for Box<dyn Module<T>> {
    fn from_file(file: &TensorFile) -> Result<Self> {
        let meta = file.metadata();
        let mut model: Box<dyn Module<T>> = match (meta.get(GRAPH_KEY), meta.get(ARCH_KEY)) {
            (Some(description), _) => Box::new(graph::<T>(file, description)?),
            (None, Some(arch)) => Box::new(sequential::<T>(file, arch)?),
            (None, None) => return Err(no_structure(file)),
        };
        load_file_into(&mut *model, file)?;
        Ok(model)
    }
}

/// The error for a file without `arch` or `graph` metadata.
fn no_structure(file: &TensorFile) -> NnError {
    NnError::weights(format!(
        "{} has no \"arch\" metadata, so the model it holds is unknown (files saved by \
         PyTorch have none): build the model with Sequential::from_spec and load the \
         weights with weights::load_into",
        file.source()
    ))
}

/// The elements of all the tensors `file` holds: the most the weights its metadata describes
/// may take (each weight of a saved model is in its file), checked as the model is built,
/// before anything is allocated.
fn file_elements(file: &TensorFile) -> usize {
    file.names()
        .filter_map(|name| file.shape(name).ok())
        .map(|dims| dims.iter().product::<usize>())
        .fold(0, usize::saturating_add)
}

/// `Sequential::from_spec(arch)` within the file's elements, its error framed as the file's.
fn sequential<T: Scalar>(file: &TensorFile, arch: &str) -> Result<Sequential<T>> {
    crate::spec::with_budget(file_elements(file), || Sequential::from_spec(arch)).map_err(|e| {
        match e {
            NnError::Spec {
                position, message, ..
            } => NnError::weights(format!(
                "{}: the \"arch\" metadata {arch:?} is not a valid model spec: {message} (at \
             position {position})",
                file.source()
            )),
            other => other,
        }
    })
}

/// `Graph::from_description(description)` within the file's elements, its error framed as the
/// file's.
fn graph<T: Scalar>(file: &TensorFile, description: &str) -> Result<Graph<T>> {
    crate::spec::with_budget(file_elements(file), || Graph::from_description(description)).map_err(
        |e| {
            NnError::weights(format!(
                "{}: the \"graph\" metadata is not a valid graph: {e}",
                file.source()
            ))
        },
    )
}
