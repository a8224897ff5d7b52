//! The subcommands, one file each (the demo, a folder).

mod bench;
mod demo;
mod evaluate;
mod explain;
mod inspect;
mod predict;
mod render;

use crate::cli::{Cli, Command, DemoArgs};
use crate::error::Result;

/// Runs the chosen command (the demo when none is given).
///
/// # Errors
/// A [`crate::CliError`]: one line for the user and the exit status.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => demo::run(&DemoArgs::default_run()),
        Some(Command::Demo(a)) => demo::run(&a),
        Some(Command::Explain(a)) => explain::run(&a),
        Some(Command::Render(a)) => render::run(&a),
        Some(Command::Bench(a)) => bench::run(&a),
        Some(Command::Inspect(a)) => inspect::run(&a),
        Some(Command::Evaluate(a)) => evaluate::run(&a),
        Some(Command::Predict(a)) => predict::run(&a),
    }
}
