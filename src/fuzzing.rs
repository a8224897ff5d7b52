//! Entry points for the fuzz targets (`fuzz/`, a crate outside the workspace): the command's own
//! input loading and flag translation, reachable without running a command. Not a stable API.

use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::plan::ExplainPlan;

/// Loads `explain`'s inputs as the command does (images or one tensor file, then the
/// preprocessing: `--normalize`, and with `resize` `--resize 9 --center-crop 7`), returning the
/// batch's shape.
///
/// # Errors
/// The command's error for a missing or malformed input.
pub fn load_inputs(paths: &[PathBuf], normalize: Option<&str>, resize: bool) -> Result<Vec<usize>> {
    let preprocess = crate::preprocess::Preprocess::from_options(&crate::cli::PreprocessOptions {
        normalize: normalize.map(String::from),
        resize: resize.then(|| "9".to_string()),
        center_crop: resize.then(|| "7".to_string()),
        ..Default::default()
    })?;
    // Image files keep their own channels: no model to ask.
    crate::inputs::load_inputs::<f32>(paths, &preprocess, &crate::inputs::Native)
        .map(|i| i.tensor.shape().to_vec())
}

/// Parses `text` as a `--labels` file and resolves `target` against it as `--target` does
/// (a class name, an index, `predicted`, `top-K` or a list), then checks the names against a
/// model of `outputs` classes and names every class in range. Returns the number of names.
///
/// # Errors
/// The command's error for a malformed labels file or target.
pub fn labels(text: &str, target: &str, outputs: usize) -> Result<usize> {
    let labels = crate::inputs::Labels::parse(std::path::Path::new("labels.txt"), text)?;
    let _ = crate::inputs::parse_target(target, Some(&labels))?;
    let _ = labels.check_count(outputs);
    for i in 0..outputs.min(labels.names.len() + 1) {
        let _ = labels.name(i);
        let _ = labels.find(&labels.name(i));
    }
    Ok(labels.names.len())
}

/// Parses `argv` as the command line and, for `explain`, builds its plan (the checks made
/// before any file is read). `Ok(false)`: clap refused the arguments.
///
/// # Errors
/// The plan's error.
pub fn plan(argv: &[String]) -> Result<bool> {
    use clap::Parser;
    let Ok(cli) = Cli::try_parse_from(argv) else {
        return Ok(false);
    };
    if let Some(Command::Explain(args)) = &cli.command {
        ExplainPlan::new(args)?;
    }
    Ok(true)
}
