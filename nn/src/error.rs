//! [`NnError`]: what can go wrong building, loading or running a model on user input.

use std::fmt;

/// An error from parsing a spec, checking a shape, or loading weights. Each message says what was
/// expected and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NnError {
    /// A spec string that does not parse.
    Spec {
        /// Byte offset in the spec where the problem is.
        position: usize,
        /// What was expected and found.
        message: String,
        /// The spec itself, for the caret line in `Display`.
        spec: String,
    },
    /// An input shape a layer cannot take.
    Shape {
        /// The layer, as its spec (`conv2d(1,16,3)`) with its index in a `Sequential`.
        layer: String,
        /// What was expected and found.
        message: String,
    },
    /// A weights file that does not match the model or is malformed.
    Weights(String),
    /// An impossible layer or hyper-parameter setting.
    Config(String),
    /// A file that could not be read or written.
    Io(String),
}

impl fmt::Display for NnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NnError::Spec {
                position,
                message,
                spec,
            } => {
                writeln!(f, "invalid model spec at position {position}: {message}")?;
                writeln!(f, "  {spec}")?;
                // Count the characters before the byte offset (safe off a char boundary too).
                let column = spec
                    .char_indices()
                    .take_while(|(i, _)| i < position)
                    .count();
                write!(f, "  {}^", " ".repeat(column))
            }
            NnError::Shape { layer, message } => write!(f, "layer {layer}: {message}"),
            NnError::Weights(m) => write!(f, "weights: {m}"),
            NnError::Config(m) => write!(f, "{m}"),
            NnError::Io(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for NnError {}

/// Shorthand for results in this crate.
pub type Result<T, E = NnError> = std::result::Result<T, E>;
