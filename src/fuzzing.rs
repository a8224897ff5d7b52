//! Entry points for the fuzz targets (`fuzz/`, a crate outside the workspace): the command's own
//! input loading and flag translation, reachable without running a command. Not a stable API.

use std::path::PathBuf;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::plan::ExplainPlan;

/// Loads `explain`'s inputs as the command does (images or one tensor file, then
/// `--normalize`), returning the batch's shape.
///
/// # Errors
/// The command's error for a missing or malformed input.
pub fn load_inputs(paths: &[PathBuf], normalize: Option<&str>) -> Result<Vec<usize>> {
    let preprocess = crate::preprocess::Preprocess::from_options(&crate::cli::PreprocessOptions {
        normalize: normalize.map(String::from),
        ..Default::default()
    })?;
    // Image files keep their own channels: no model to ask.
    crate::inputs::load_inputs(
        paths,
        &preprocess,
        &smoothgrad::ModuleModel(&smoothgrad_nn::Identity),
    )
    .map(|i| i.tensor.shape().to_vec())
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
