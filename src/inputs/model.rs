//! Loading the model: an ONNX file, safetensors weights with `--arch`, or a file saved by this
//! project.

use std::path::Path;

use smoothgrad_nn::weights;
use smoothgrad_nn::{Module, Sequential};

use crate::error::{CliError, Result};
use crate::files::extension;

/// Builds the model: an ONNX file (`.onnx`) imported as a graph ([`smoothgrad_onnx::import`]);
/// `input_shape` (the batch's), when known, gives its symbolic dimensions (else the file's
/// declared shape, a symbolic dimension taken as 1);
/// `Sequential::from_spec(arch)` with the weights loaded into it when `arch` is given (weights
/// saved without a spec, e.g. by PyTorch); else the model the file's metadata describes (a
/// `Sequential` from `arch`, a graph from `graph`: [`weights::load`]).
///
/// # Errors
/// A missing, truncated or malformed file, an ONNX model with unsupported ops (all listed), a
/// spec typo, or weights that do not match the spec.
pub fn load_model(
    path: &Path,
    arch: Option<&str>,
    input_shape: Option<&[usize]>,
) -> Result<Box<dyn Module<f32>>> {
    if extension(path).as_deref() == Some("onnx") {
        if arch.is_some() {
            return Err(CliError::input(
                "--arch describes safetensors weights; an .onnx model carries its own graph",
            ));
        }
        let options = smoothgrad_onnx::ImportOptions {
            input_shape: input_shape.map(<[usize]>::to_vec),
            ..Default::default()
        };
        let graph = smoothgrad_onnx::import_with::<f32>(path, &options)
            .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
        // The dynamo exporter leaves BatchNormalization unfolded: fold it before explaining.
        return Ok(Box::new(graph.fold_batchnorm()));
    }
    match arch {
        Some(spec) => {
            let mut model: Sequential<f32> =
                Sequential::from_spec(spec).map_err(|e| CliError::input(format!("--arch: {e}")))?;
            weights::load_into(&mut model, path)?;
            Ok(Box::new(model))
        }
        None => Ok(weights::load(path)?),
    }
}
