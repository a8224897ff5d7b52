//! `smoothgrad`: the command line over the `smoothgrad_cli` library.
//!
//! Every error prints one line to stderr and exits with status 2 (bad input) or 1 (failure);
//! no command leaves a partial output file. A panic (a bug) prints one line too, never a
//! backtrace whatever `RUST_BACKTRACE` says, and exits with status 2; Ctrl-C exits with status
//! 130 and leaves no partial output ([`smoothgrad_cli::interrupt`]).

use std::process::ExitCode;
use std::sync::Mutex;

use clap::Parser;
use smoothgrad_cli::cli::{Cli, Command};
use smoothgrad_cli::{allocator, interrupt};

/// The first panic's message and place, printed once the panic reaches `main` (a panic caught
/// inside the libraries, such as a model's shape probe, prints nothing).
static PANIC: Mutex<Option<String>> = Mutex::new(None);

fn main() -> ExitCode {
    allocator::tune();
    // Replacing the default hook also removes its backtrace.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        let place = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        let line = format!("{}{place}", msg.lines().next().unwrap_or(""));
        let mut first = PANIC.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(line);
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print as clap prints them.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            eprintln!("smoothgrad: {}", usage_error(&e));
            return ExitCode::from(2);
        }
    };
    interrupt::install();
    match &cli.command {
        Some(Command::Explain(a)) => match (&a.output, &a.dataset.output_dir) {
            (Some(file), _) => interrupt::watch(file, false),
            (None, Some(dir)) => interrupt::watch(dir, true),
            (None, None) => {}
        },
        Some(Command::Evaluate(a)) => {
            if let Some(file) = &a.output {
                interrupt::watch(file, false);
            }
        }
        Some(Command::Render(a)) => interrupt::watch(&a.output, false),
        Some(Command::Demo(a)) => interrupt::watch(&a.out, true),
        None => interrupt::watch("out".as_ref(), true),
        Some(Command::Bench(_) | Command::Inspect(_) | Command::Predict(_)) => {}
    }
    match std::panic::catch_unwind(|| smoothgrad_cli::run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("smoothgrad: error: {e}");
            ExitCode::from(e.status as u8)
        }
        Err(_) => {
            let msg = PANIC.lock().unwrap_or_else(|p| p.into_inner()).take();
            eprintln!(
                "smoothgrad: internal error: {} (a bug: please report it)",
                msg.unwrap_or_else(|| "a panic".into())
            );
            ExitCode::from(2)
        }
    }
}

/// clap's message as one line: its lines joined, without the usage and the hint to `--help`.
fn usage_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    kept.join(" ")
}
