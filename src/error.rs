//! [`CliError`]: one line for the user and an exit status.

use std::fmt;

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

impl From<nn::NnError> for CliError {
    fn from(e: nn::NnError) -> Self {
        CliError::input(e.to_string())
    }
}

impl From<autograd::io::FileError> for CliError {
    fn from(e: autograd::io::FileError) -> Self {
        CliError::input(e.to_string())
    }
}

impl From<smoothgrad::ExplainError> for CliError {
    fn from(e: smoothgrad::ExplainError) -> Self {
        CliError::input(e.to_string())
    }
}

impl From<viz::VizError> for CliError {
    fn from(e: viz::VizError) -> Self {
        CliError::input(e.to_string())
    }
}

/// Shorthand for command results.
pub type Result<T, E = CliError> = std::result::Result<T, E>;
