//! `smoothgrad`: the command line over the `smoothgrad_cli` library.
//!
//! Every error prints one line to stderr and exits with status 2 (bad input) or 1 (failure);
//! no command leaves a partial output file.

use std::process::ExitCode;

use clap::Parser;
use smoothgrad_cli::{allocator, cli::Cli};

fn main() -> ExitCode {
    allocator::tune();
    let cli = Cli::parse();
    // A panic is a bug, but the user still gets one line and a status, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        eprintln!(
            "smoothgrad: internal error: {}",
            msg.lines().next().unwrap_or("")
        );
    }));
    match std::panic::catch_unwind(|| smoothgrad_cli::run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("smoothgrad: error: {e}");
            ExitCode::from(e.status as u8)
        }
        Err(_) => ExitCode::from(1),
    }
}
