//! [`ExplainError`]: every way an explanation request can be wrong, with what was expected and what
//! was found.

use std::fmt;

/// Why [`crate::SmoothGrad::explain`] or a base method refused a request. Nothing is computed when
/// one of these is returned.
#[derive(Clone, Debug, PartialEq)]
pub enum ExplainError {
    /// The inputs are not a batch `[N, ...]` the model accepts.
    InputShape(String),
    /// The model's output is not `[N, K]`.
    OutputShape(String),
    /// An input element is NaN or infinite.
    NonFinite {
        /// The input (batch index).
        input: usize,
        /// The flat element index within that input.
        element: usize,
    },
    /// A target class outside `0..classes`.
    TargetOutOfRange {
        /// The input (batch index).
        input: usize,
        /// The requested class.
        target: usize,
        /// The number of model outputs.
        classes: usize,
    },
    /// Targets do not match the inputs (count, or an empty class list).
    Targets(String),
    /// An impossible parameter: zero samples, negative or non-finite noise, batch size 0, ...
    Parameter {
        /// The setting, as the field that holds it is named (`"samples"`, `"batch_size"`,
        /// `"threads"`, `"noise.level"`, `"steps"` of integrated gradients, ...), so that a front
        /// end can name its own option for it.
        setting: &'static str,
        /// What is wrong, naming the setting as this crate's docs do ("samples must be at least
        /// 1, found 0").
        message: String,
    },
    /// The model cannot be explained as it is (for example, it is in training mode).
    Model(String),
}

impl fmt::Display for ExplainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExplainError::InputShape(m) => write!(f, "input shape: {m}"),
            ExplainError::OutputShape(m) => write!(f, "model output: {m}"),
            ExplainError::NonFinite { input, element } => write!(
                f,
                "input {input} has a non-finite value (NaN or infinity) at element {element}"
            ),
            ExplainError::TargetOutOfRange {
                input,
                target,
                classes,
            } => write!(
                f,
                "target {target} for input {input} is out of range: the model has {classes} outputs (0..{classes})"
            ),
            ExplainError::Targets(m) => write!(f, "targets: {m}"),
            ExplainError::Parameter { message, .. } => write!(f, "{message}"),
            ExplainError::Model(m) => write!(f, "model: {m}"),
        }
    }
}

impl ExplainError {
    /// An [`ExplainError::Parameter`] about `setting`.
    pub fn parameter(setting: &'static str, message: impl Into<String>) -> Self {
        ExplainError::Parameter {
            setting,
            message: message.into(),
        }
    }
}

impl std::error::Error for ExplainError {}

/// Shorthand for results in this crate.
pub type Result<T, E = ExplainError> = std::result::Result<T, E>;
