//! [`CliError`]: one line for the user and an exit status, and how the libraries' errors become
//! one: the library's message, after the option or file it is about.

use std::fmt;

use smoothgrad::ExplainError;
use smoothgrad_viz::VizError;

/// The option that sets each library setting ([`ExplainError::Parameter`]'s `setting`), the one
/// table from the library's names to the command line's (`explain` and `bench` spell them alike).
const FLAGS: [(&str, &str); 6] = [
    ("samples", "--samples"),
    ("batch_size", "--batch-size"),
    ("threads", "--threads"),
    ("noise.level", "--noise"),
    ("steps", "--ig-steps"),
    ("max_memory", "--max-memory"),
];

/// The option that sets the library setting `setting`, if the command line has one.
fn flag(setting: &str) -> Option<&'static str> {
    FLAGS.iter().find(|(s, _)| *s == setting).map(|(_, f)| *f)
}

/// A failed command: the message printed to stderr (one line) and the process exit status
/// (2 for bad usage or input, 1 for a failure while working).
#[derive(Debug)]
pub struct CliError {
    /// What went wrong, as one line.
    pub message: String,
    /// The exit status.
    pub status: i32,
}

impl CliError {
    /// Bad input: a missing or malformed file, an impossible option (exit status 2).
    pub fn input(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            status: 2,
        }
    }

    /// A failure while working (exit status 1).
    pub fn failure(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            status: 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line: multi-line messages (a spec error's caret) are joined.
        let one_line: Vec<&str> = self.message.lines().map(str::trim_end).collect();
        write!(f, "{}", one_line.join(" | "))
    }
}

impl From<smoothgrad_nn::NnError> for CliError {
    fn from(e: smoothgrad_nn::NnError) -> Self {
        CliError::input(e.to_string())
    }
}

impl From<smoothgrad_autograd::io::FileError> for CliError {
    fn from(e: smoothgrad_autograd::io::FileError) -> Self {
        CliError::input(e.to_string())
    }
}

/// The library's message; a setting's error comes after the option that sets it
/// (`--samples: samples must be at least 1, found 0`).
impl From<ExplainError> for CliError {
    fn from(e: ExplainError) -> Self {
        match &e {
            ExplainError::Parameter { setting, .. } => match flag(setting) {
                Some(flag) => CliError::input(format!("{flag}: {e}")),
                None => CliError::input(e.to_string()),
            },
            _ => CliError::input(e.to_string()),
        }
    }
}

impl From<VizError> for CliError {
    fn from(e: VizError) -> Self {
        CliError::input(e.to_string())
    }
}

/// A viz error after `context` (the option or file it is about), without repeating the
/// parameter's name or a temporary file's path.
pub fn viz_error(context: &str, e: VizError) -> CliError {
    CliError::input(match e {
        VizError::InvalidParameter {
            expected, found, ..
        } => format!("{context}: expected {expected}, found {found}"),
        VizError::Io { source, .. } => format!("{context}: {}", io_reason(&source)),
        other => format!("{context}: {other}"),
    })
}

/// An I/O error's description without the OS error number.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .unwrap_or(&text)
            .to_string(),
        None => text,
    }
}

/// Shorthand for command results.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_errors_name_their_option() {
        let e = CliError::from(ExplainError::parameter(
            "batch_size",
            "batch size must be at least 1, found 0",
        ));
        assert_eq!(
            e.to_string(),
            "--batch-size: batch size must be at least 1, found 0"
        );
        assert_eq!(e.status, 2);
        // A setting the command line does not expose keeps the library's message alone.
        let e = CliError::from(ExplainError::parameter(
            "tolerance",
            "tolerance must be > 0",
        ));
        assert_eq!(e.to_string(), "tolerance must be > 0");
    }
}
