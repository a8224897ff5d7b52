//! Loading what `explain` works on: the model, the inputs (a tensor file or images) and the
//! target classes, with the checks only the command line can make (file formats, image sizes,
//! `--normalize`, `--target`); the library checks the request itself (shapes, values, classes).

use std::path::{Path, PathBuf};

use smoothgrad::Targets;
use smoothgrad_autograd::io::{self, TensorFile};
use smoothgrad_autograd::Tensor;
use smoothgrad_nn::weights;
use smoothgrad_nn::{Module, Sequential};

use crate::error::{viz_error, CliError, Result};
use crate::files::{extension, is_safetensors};

/// The tensor a `.safetensors` input must hold.
pub const INPUT_TENSOR: &str = "input";
/// The optional class tensor of a `.safetensors` input.
pub const TARGET_TENSOR: &str = "target";

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

/// A batch to explain.
pub struct Inputs {
    /// The batch `[N, ...]` (`[N, C, H, W]` for images).
    pub tensor: Tensor<f32>,
    /// Classes from the file's `target` tensor, which override `--target`.
    pub targets: Option<Vec<usize>>,
    /// How error messages name the inputs: the file, or "the images".
    pub source: String,
}

/// Loads the inputs: one `.safetensors` file, or one or more images batched in order.
///
/// # Errors
/// A missing or malformed file, no `input` tensor, a non-float `input` or non-integer `target`,
/// wrong shapes, images of different sizes, a bad `--normalize`.
pub fn load_inputs(paths: &[PathBuf], normalize: Option<&str>) -> Result<Inputs> {
    let tensor_files: Vec<&PathBuf> = paths.iter().filter(|p| is_safetensors(p)).collect();
    match (tensor_files.as_slice(), paths.len()) {
        ([], _) => load_images(paths, normalize),
        ([file], 1) => {
            if normalize.is_some() {
                return Err(CliError::input(
                    "--normalize applies to image inputs; a .safetensors input is used as it is",
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

/// Reads `input` (any float dtype, converted to f32) and the optional `target` of a file.
fn load_tensor_file(path: &Path) -> Result<Inputs> {
    let file = io::read_file(path)?;
    let tensor: Tensor<f32> = file.get(INPUT_TENSOR)?;
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

/// The `target` tensor of `file`, if present: i64 (or another integer type) `[n]`, all `>= 0`.
fn file_targets(file: &TensorFile, n: usize) -> Result<Option<Vec<usize>>> {
    if !file.contains(TARGET_TENSOR) {
        return Ok(None);
    }
    let (values, shape) = file.get_i64(TARGET_TENSOR)?;
    if shape != [n] {
        return Err(CliError::input(format!(
            "{}: tensor \"target\": expected shape [{n}] (one class per input), found {shape:?}",
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

/// Loads images (CHW in `[0, 1]`), checks they share one shape, normalizes and stacks them.
fn load_images(paths: &[PathBuf], normalize: Option<&str>) -> Result<Inputs> {
    let mut data = Vec::new();
    let mut first: Option<(&PathBuf, [usize; 3])> = None;
    for path in paths {
        let image = smoothgrad_viz::load(path)
            .map_err(|e| viz_error(&format!("cannot read image \"{}\"", path.display()), e))?;
        let shape = [image.channels(), image.height(), image.width()];
        match first {
            None => first = Some((path, shape)),
            Some((p0, s0)) if s0 != shape => {
                return Err(CliError::input(format!(
                    "images must share one shape (C, H, W): \"{}\" is {s0:?} but \"{}\" is \
                     {shape:?}",
                    p0.display(),
                    path.display()
                )));
            }
            Some(_) => {}
        }
        data.extend_from_slice(image.data());
    }
    let (_, [c, h, w]) = first.expect("clap requires at least one --input");
    if let Some(spec) = normalize {
        let (mean, std) = parse_normalize(spec, c)?;
        apply_normalize(&mut data, h * w, &mean, &std);
    }
    let tensor = Tensor::from_vec(data, &[paths.len(), c, h, w]).expect("stacked images");
    Ok(Inputs {
        tensor,
        targets: None,
        source: "the images".to_string(),
    })
}

/// Parses `--normalize`: "mean,std" for every channel, or `channels` means then `channels` stds.
///
/// # Errors
/// Not numbers, the wrong count, a non-finite mean, or a std that is not a finite number > 0.
pub fn parse_normalize(spec: &str, channels: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let numbers = spec
        .split(',')
        .map(|s| s.trim().parse::<f32>())
        .collect::<std::result::Result<Vec<f32>, _>>()
        .map_err(|_| {
            CliError::input(format!(
                "--normalize: expected comma-separated numbers (mean,std or means then stds), found {spec:?}"
            ))
        })?;
    let (mean, std) = match numbers.len() {
        2 => (vec![numbers[0]; channels], vec![numbers[1]; channels]),
        n if n == 2 * channels => (numbers[..channels].to_vec(), numbers[channels..].to_vec()),
        n => {
            return Err(CliError::input(format!(
                "--normalize: expected 2 numbers (mean,std) or {} (means then stds of {channels} channels), found {n}",
                2 * channels
            )))
        }
    };
    if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
        return Err(CliError::input(format!(
            "--normalize: means must be finite, found {m}"
        )));
    }
    if let Some(s) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(CliError::input(format!(
            "--normalize: stds must be finite numbers > 0, found {s}"
        )));
    }
    Ok((mean, std))
}

/// `x = (x - mean[c]) / std[c]` over stacked CHW images with `plane = H * W`.
fn apply_normalize(data: &mut [f32], plane: usize, mean: &[f32], std: &[f32]) {
    let channels = mean.len();
    for (k, chunk) in data.chunks_mut(plane).enumerate() {
        let c = k % channels;
        chunk.iter_mut().for_each(|x| *x = (*x - mean[c]) / std[c]);
    }
}

impl Inputs {
    /// The classes to explain: the file's `target` tensor, else `--target`'s, and how an error
    /// about them names where they came from.
    pub fn targets(&self, flag: TargetFlag) -> (Targets, String) {
        let n = self.tensor.shape().first().copied().unwrap_or(0);
        match (&self.targets, flag) {
            (Some(t), _) => (
                Targets::Classes(t.clone()),
                format!("{}: tensor \"{TARGET_TENSOR}\"", self.source),
            ),
            (None, TargetFlag::Class(c)) => (Targets::Classes(vec![c; n]), "--target".into()),
            (None, TargetFlag::Predicted) => (Targets::Predicted, "--target".into()),
        }
    }
}

/// What `--target` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetFlag {
    /// The arg max of the model's outputs.
    Predicted,
    /// One class for every input.
    Class(usize),
}

/// Parses `--target`: "predicted" or a class index `>= 0`.
///
/// # Errors
/// Anything else, e.g. `-1` or `cat`.
pub fn parse_target(s: &str) -> Result<TargetFlag> {
    if s.eq_ignore_ascii_case("predicted") {
        return Ok(TargetFlag::Predicted);
    }
    s.trim()
        .parse::<usize>()
        .map(TargetFlag::Class)
        .map_err(|_| {
            CliError::input(format!(
                "--target: expected a class index >= 0 or \"predicted\", found {s:?}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_accepts_one_pair_or_one_per_channel() {
        assert_eq!(
            parse_normalize("0.5,0.25", 3).unwrap(),
            (vec![0.5; 3], vec![0.25; 3])
        );
        let (m, s) = parse_normalize("0.1, 0.2, 0.3, 1, 2, 4", 3).unwrap();
        assert_eq!((m, s), (vec![0.1, 0.2, 0.3], vec![1.0, 2.0, 4.0]));
        assert!(parse_normalize("0.5,0", 3).is_err());
        assert!(parse_normalize("0.5", 3).is_err());
        assert!(parse_normalize("a,b", 1).is_err());
        let mut data = vec![1.0, 1.0, 0.5, 0.5];
        apply_normalize(&mut data, 2, &[0.5, 0.0], &[0.25, 0.5]);
        assert_eq!(data, [2.0, 2.0, 1.0, 1.0]);
    }

    #[test]
    fn targets_are_indices_or_predicted() {
        assert_eq!(parse_target("predicted").unwrap(), TargetFlag::Predicted);
        assert_eq!(parse_target("3").unwrap(), TargetFlag::Class(3));
        assert!(parse_target("-1").is_err());
        assert!(parse_target("cat").is_err());
    }
}
