//! Loading the model: an ONNX file, safetensors weights with `--arch`, or a file saved by this
//! project.

use std::path::Path;

use smoothgrad_nn::weights;
use smoothgrad_nn::{Module, Sequential};

use crate::error::{CliError, Result};
use crate::files::extension;

/// Builds the model: an ONNX file (`.onnx`) imported as a graph ([`smoothgrad_onnx::import`]);
/// `Sequential::from_spec(arch)` with the weights loaded into it when `arch` is given (weights
/// saved without a spec, e.g. by PyTorch); else the model the file's metadata describes (a
/// `Sequential` from `arch`, a graph from `graph`: [`weights::load`]).
///
/// # Errors
/// A missing, truncated or malformed file, an ONNX model with unsupported ops (all listed), a
/// spec typo, or weights that do not match the spec.
pub fn load_model(path: &Path, arch: Option<&str>) -> Result<Box<dyn Module<f32>>> {
    if extension(path).as_deref() == Some("onnx") {
        if arch.is_some() {
            return Err(CliError::input(
                "--arch describes safetensors weights; an .onnx model carries its own graph",
            ));
        }
        let graph = smoothgrad_onnx::import::<f32>(path)
            .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
        return Ok(Box::new(graph));
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
