//! Loading the model: an ONNX file, safetensors weights with `--arch`, or a file saved by this
//! project, in the precision asked for (`f32`, or `f64` for `explain --precision f64`).
//!
//! Loading takes two steps, so an ONNX file is read and converted once even though the inputs'
//! shape (which fixes its symbolic dimensions) is known only after the images are decoded, and
//! decoding them needs the channel count the model takes: [`ModelSource::open`] reads the file
//! (for ONNX, decodes the protobuf and reads the declared input shape: cheap, no tensor is
//! converted), [`ModelSource::channels`] answers the image loader, and [`ModelSource::build`]
//! converts the graph for the inputs' shape.

use std::path::{Path, PathBuf};

use smoothgrad::Cut;
use smoothgrad_autograd::Scalar;
use smoothgrad_nn::weights;
use smoothgrad_nn::{Module, Sequential};
use smoothgrad_onnx::proto::ModelProto;

use super::images::{channels_for, ImageChannels};
use crate::cli::Layout;
use crate::error::{CliError, Result};
use crate::files::extension;

/// A model file opened: an ONNX model decoded but not yet converted, or a model built from
/// safetensors weights.
pub struct ModelSource<T: Scalar> {
    /// The file.
    path: PathBuf,
    /// The spec of weights saved without one (`--arch`).
    arch: Option<String>,
    /// What it holds.
    kind: Kind<T>,
}

/// What a [`ModelSource`] holds.
enum Kind<T: Scalar> {
    /// An ONNX model and the dimensions its input declares (`None` for a symbolic or unknown
    /// one; no list if it declares no shape).
    Onnx(Box<ModelProto>, Option<Vec<Option<i64>>>),
    /// A model built from weights.
    Built(Box<dyn Module<T>>),
}

impl<T: Scalar> ModelSource<T> {
    /// Opens `path`: an `.onnx` file is read and decoded (converted later, by
    /// [`ModelSource::build`]); otherwise `Sequential::from_spec(arch)` with the weights loaded
    /// into it when `arch` is given (weights saved without a spec, e.g. by PyTorch), else the
    /// model the file's metadata describes (a `Sequential` from `arch`, a graph from `graph`:
    /// [`weights::load`]). Weights of any float dtype are converted to `T`.
    ///
    /// # Errors
    /// A missing, truncated or malformed file, `--arch` with an ONNX file, a spec typo, or
    /// weights that do not match the spec.
    pub fn open(path: &Path, arch: Option<&str>) -> Result<Self> {
        let kind = if is_onnx(path) {
            if arch.is_some() {
                return Err(CliError::input(
                    "--arch describes safetensors weights; an .onnx model carries its own graph",
                ));
            }
            let proto = smoothgrad_onnx::read_model(path, smoothgrad_onnx::DEFAULT_MAX_BYTES)
                .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
            // Unsupported ops (all listed) are refused now, before the inputs are read.
            if let Some(graph) = &proto.graph {
                smoothgrad_onnx::validate(graph, smoothgrad_onnx::opset(&proto))
                    .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
            }
            return Ok(Self::onnx(path, proto));
        } else {
            Kind::Built(load_weights(path, arch)?)
        };
        Ok(ModelSource {
            path: path.to_path_buf(),
            arch: arch.map(String::from),
            kind,
        })
    }

    /// An ONNX model already decoded from `path` (its external data files are looked up next
    /// to it), not validated: [`ModelSource::build`] reports unsupported ops.
    pub fn onnx(path: &Path, proto: ModelProto) -> Self {
        let declared = declared_input(&proto);
        ModelSource {
            path: path.to_path_buf(),
            arch: None,
            kind: Kind::Onnx(Box::new(proto), declared),
        }
    }

    /// The decoded ONNX model, `None` for weights.
    pub fn onnx_model(&self) -> Option<&ModelProto> {
        match &self.kind {
            Kind::Onnx(proto, _) => Some(proto),
            Kind::Built(_) => None,
        }
    }

    /// The model, ready to run: an ONNX graph converted ([`smoothgrad_onnx::import_model_with`])
    /// with `input_shape` (the batch's, when known) for its symbolic dimensions (else the
    /// declared shape, a symbolic dimension taken as 1) and its batch normalizations folded;
    /// weights as they were loaded. Each call on an ONNX source converts a new graph from the
    /// decoded file (the file is not read again); a built model is handed over.
    ///
    /// # Errors
    /// An ONNX model with unsupported ops (all listed), malformed tensors, or an input shape
    /// that does not fit the model's.
    pub fn build(self, input_shape: Option<&[usize]>) -> Result<Box<dyn Module<T>>> {
        match self.kind {
            Kind::Onnx(proto, _) => convert(&self.path, &proto, input_shape),
            Kind::Built(model) => Ok(model),
        }
    }

    /// A second, independent copy of the model ([`ModelSource::build`] keeping the source): an
    /// ONNX graph converted again from the decoded file, weights loaded from the file again.
    ///
    /// # Errors
    /// As [`ModelSource::build`] and [`ModelSource::open`].
    pub fn build_copy(&self, input_shape: Option<&[usize]>) -> Result<Box<dyn Module<T>>> {
        match &self.kind {
            Kind::Onnx(proto, _) => convert(&self.path, proto, input_shape),
            Kind::Built(_) => load_weights(&self.path, self.arch.as_deref()),
        }
    }
}

/// Whether `path` names an ONNX file (by its extension).
fn is_onnx(path: &Path) -> bool {
    extension(path).as_deref() == Some("onnx")
}

/// Safetensors weights: `Sequential::from_spec(arch)` with the weights loaded into it, or the
/// model the file's metadata describes.
fn load_weights<T: Scalar>(path: &Path, arch: Option<&str>) -> Result<Box<dyn Module<T>>> {
    Ok(match arch {
        Some(spec) => {
            let mut model: Sequential<T> =
                Sequential::from_spec(spec).map_err(|e| CliError::input(format!("--arch: {e}")))?;
            weights::load_into(&mut model, path)?;
            Box::new(model)
        }
        None => weights::load(path)?,
    })
}

/// Converts the decoded ONNX model of `path` to a graph of `T` for `input_shape`, batch
/// normalizations folded.
fn convert<T: Scalar>(
    path: &Path,
    proto: &ModelProto,
    input_shape: Option<&[usize]>,
) -> Result<Box<dyn Module<T>>> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let graph = smoothgrad_onnx::import_model_with::<T>(proto, dir, input_shape)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    // The dynamo exporter leaves BatchNormalization unfolded: fold it before explaining.
    Ok(Box::new(graph.fold_batchnorm()))
}

impl<T: Scalar> ImageChannels for ModelSource<T> {
    /// An ONNX model's declared channel count, when its first input is declared as images
    /// (four axes) with 1 or 3 fixed channels on `layout`'s channel axis; `None` otherwise (a
    /// symbolic channel axis, no declared shape: each file keeps its own). A model built from
    /// weights is asked as the image loader asks any model ([`channels_for`]).
    fn channels(&self, size: (usize, usize), layout: Layout) -> Option<usize> {
        match &self.kind {
            Kind::Onnx(_, dims) => declared_channels(dims.as_deref()?, layout),
            Kind::Built(m) => channels_for(&Cut::before_softmax(&**m), size, layout),
        }
    }
}

/// The dimensions the model's input (its first graph input that is not an initializer, the one
/// the importer feeds) declares: `Some(n)` for a fixed size, `None` for a symbolic or unknown
/// one; `None` for no declared shape.
fn declared_input(proto: &ModelProto) -> Option<Vec<Option<i64>>> {
    use smoothgrad_onnx::proto::tensor_shape_proto::dimension::Value as D;
    use smoothgrad_onnx::proto::type_proto::Value as Ty;
    let g = proto.graph.as_ref()?;
    let input = g
        .input
        .iter()
        .find(|i| !g.initializer.iter().any(|t| t.name() == i.name()))?;
    let Some(Ty::TensorType(t)) = input.r#type.as_ref()?.value.as_ref() else {
        return None;
    };
    let shape = t.shape.as_ref()?;
    Some(
        shape
            .dim
            .iter()
            .map(|d| match d.value {
                Some(D::DimValue(n)) => Some(n),
                _ => None,
            })
            .collect(),
    )
}

/// The channel count declared on `layout`'s channel axis of `dims`, if they are images
/// `[N, C, H, W]` (or `[N, H, W, C]`) with 1 or 3 fixed channels.
fn declared_channels(dims: &[Option<i64>], layout: Layout) -> Option<usize> {
    let axis = match layout {
        Layout::Nchw => 1,
        Layout::Nhwc => 3,
    };
    match dims {
        [_, _, _, _] => match dims[axis] {
            Some(c @ (1 | 3)) => Some(c as usize),
            _ => None,
        },
        _ => None,
    }
}

/// Builds the model in one step: [`ModelSource::open`], then [`ModelSource::build`] with
/// `input_shape`.
///
/// # Errors
/// As both.
pub fn load_model<T: Scalar>(
    path: &Path,
    arch: Option<&str>,
    input_shape: Option<&[usize]>,
) -> Result<Box<dyn Module<T>>> {
    ModelSource::open(path, arch)?.build(input_shape)
}
