//! The `smoothgrad` command as a library: a demo of SmoothGrad on a CNN trained here, and commands
//! to explain your own models (`explain`), render attributions (`render`), time the engine
//! (`bench`) and print a model's top classes (`predict`). The binary (`src/main.rs`) parses the
//! command line ([`cli::Cli`]) and calls [`run`]; the benchmarks use [`workloads`] and
//! [`allocator`].
//!
//! Every error is one line for stderr and an exit status, 2 (bad input) or 1 (failure)
//! ([`CliError`]); no command leaves a partial output file.

#![warn(missing_docs)]

pub mod allocator;
pub mod cli;
mod commands;
mod error;
mod files;
#[doc(hidden)]
pub mod fuzzing;
mod inputs;
pub mod interrupt;
mod plan;
mod preprocess;
mod rendering;
pub mod workloads;
// Datasets and the library's settings on the command line (issue 13).
mod blur;
mod dataset;
pub mod progress;

pub use commands::run;
pub use error::CliError;
