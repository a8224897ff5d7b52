//! Loading what `explain` and `predict` work on: the model ([`model`]), the inputs (a tensor
//! file or images, [`images`]), class names ([`labels`]) and the target classes ([`targets`]),
//! with the checks only the command line can make (file formats, image sizes, preprocessing,
//! `--target`); the library checks the request itself (shapes, values, classes).

mod images;
pub mod labels;
mod model;
pub mod targets;

use std::path::{Path, PathBuf};

use smoothgrad::Model;
use smoothgrad_autograd::io::{self, TensorFile};
use smoothgrad_autograd::{Scalar, Tensor};

pub use images::{ImageChannels, Native, Probe};
pub use labels::Labels;
pub use model::{load_model, ModelSource};
pub use targets::{parse_target, TargetFlag};

use crate::error::{CliError, Result};
use crate::files::is_safetensors;
use crate::preprocess::Preprocess;

/// The tensor a `.safetensors` input must hold.
pub const INPUT_TENSOR: &str = "input";
/// The optional class tensor of a `.safetensors` input.
pub const TARGET_TENSOR: &str = "target";

/// A batch to explain, in the precision of the run (`f32`, or `f64`).
pub struct Inputs<T: Scalar = f32> {
    /// The batch `[N, ...]` (`[N, C, H, W]` for images).
    pub tensor: Tensor<T>,
    /// Classes from the file's `target` tensor, which override `--target`.
    pub targets: Option<Vec<usize>>,
    /// How error messages name the inputs: the file, or "the images".
    pub source: String,
}

/// Loads the inputs: one `.safetensors` file (its `input` converted to `T` from any float
/// dtype), or one or more images decoded and preprocessed ([`images::load_images`]; `model`
/// tells whether it takes RGB or gray) and batched in order.
///
/// # Errors
/// A missing or malformed file, no `input` tensor, a non-float `input`, a bad `target`, wrong
/// shapes, images of different sizes after preprocessing, preprocessing given for a tensor file.
pub fn load_inputs<T: Scalar>(
    paths: &[PathBuf],
    preprocess: &Preprocess,
    model: &(impl ImageChannels + ?Sized),
) -> Result<Inputs<T>> {
    let tensor_files: Vec<&PathBuf> = paths.iter().filter(|p| is_safetensors(p)).collect();
    match (tensor_files.as_slice(), paths.len()) {
        ([], _) => images::load_images(paths, preprocess, model),
        ([file], 1) => {
            if preprocess.changes_pixels() {
                return Err(CliError::input(
                    "--preprocess, --resize, --center-crop, --pixel-range, --normalize and \
                     --exif-orientation apply to image inputs; a .safetensors input is used as \
                     it is",
                ));
            }
            load_tensor_file(file)
        }
        _ => Err(CliError::input(format!(
            "--input: a .safetensors input must be the only input, found {} inputs",
            paths.len()
        ))),
    }
}

/// Reads `input` (any float dtype, converted to `T`) and the optional `target` of a file.
fn load_tensor_file<T: Scalar>(path: &Path) -> Result<Inputs<T>> {
    let file = io::read_file(path)?;
    let tensor: Tensor<T> = file.get(INPUT_TENSOR)?;
    let targets = match tensor.shape().first() {
        Some(&n) => file_targets(&file, n)?,
        None => None,
    };
    Ok(Inputs {
        tensor,
        targets,
        source: file.source().to_string(),
    })
}

/// The `target` tensor of `file`, if present: integer class indices `[n]`, all `>= 0`, or
/// one-hot rows `[n, K]` (Xplique's convention; any integer or float dtype, exactly one 1 and
/// otherwise 0s per row).
fn file_targets(file: &TensorFile, n: usize) -> Result<Option<Vec<usize>>> {
    if !file.contains(TARGET_TENSOR) {
        return Ok(None);
    }
    let shape = file.shape(TARGET_TENSOR)?.to_vec();
    if shape.len() == 2 && shape[0] == n {
        return one_hot(file, &shape).map(Some);
    }
    let (values, shape) = file.get_i64(TARGET_TENSOR)?;
    if shape != [n] {
        return Err(CliError::input(format!(
            "{}: tensor \"target\": expected shape [{n}] (one class per input) or [{n}, K] \
             (one-hot rows), found {shape:?}",
            file.source()
        )));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            usize::try_from(v).map_err(|_| {
                CliError::input(format!(
                    "{}: tensor \"target\": class {v} for input {i} is negative",
                    file.source()
                ))
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The classes of one-hot rows `[n, K]`: the position of each row's only 1.
fn one_hot(file: &TensorFile, shape: &[usize]) -> Result<Vec<usize>> {
    let values: Vec<f64> = match file.get_i64(TARGET_TENSOR) {
        Ok((v, _)) => v.iter().map(|&x| x as f64).collect(),
        Err(_) => file.get::<f64>(TARGET_TENSOR)?.data().to_vec(),
    };
    let k = shape[1].max(1);
    values
        .chunks(k)
        .enumerate()
        .map(|(i, row)| {
            let ones: Vec<usize> = (0..row.len()).filter(|&j| row[j] == 1.0).collect();
            let others = row.iter().any(|&x| x != 0.0 && x != 1.0);
            match ones.as_slice() {
                [class] if !others => Ok(*class),
                _ => Err(CliError::input(format!(
                    "{}: tensor \"target\" {shape:?}: expected one-hot rows (exactly one 1, \
                     the rest 0), found row {i} with {} ones{}",
                    file.source(),
                    ones.len(),
                    if others { " and other values" } else { "" }
                ))),
            }
        })
        .collect()
}

impl<T: Scalar> Inputs<T> {
    /// The classes to explain: the file's `target` tensor, else `--target`'s (`top-K` runs
    /// `model` once), and how an error about them names where they came from.
    pub fn targets(
        &self,
        flag: &TargetFlag,
        model: &dyn Model<T>,
    ) -> (smoothgrad::Targets, String) {
        match &self.targets {
            Some(t) => (
                smoothgrad::Targets::Classes(t.clone()),
                format!("{}: tensor \"{TARGET_TENSOR}\"", self.source),
            ),
            None => (flag.targets(model, &self.tensor), "--target".into()),
        }
    }
}

/// The number of outputs (classes) `model` gives for `inputs` `[N, ...]`, if it takes them.
pub fn output_count<T: Scalar>(model: &dyn Model<T>, inputs: &Tensor<T>) -> Option<usize> {
    let mut one = inputs.shape().to_vec();
    *one.first_mut()? = 1;
    model.output_shape(&one).ok()?.get(1).copied()
}

/// Whether `paths` is one `.safetensors` file (whose rows are the inputs) rather than images.
pub fn is_single_tensor_file(paths: &[PathBuf]) -> bool {
    matches!(paths, [p] if is_safetensors(p))
}
