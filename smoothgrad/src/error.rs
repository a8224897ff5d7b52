//! [`ExplainError`]: every way an explanation request can be wrong, with what was expected and what
//! was found, and the error it comes from as its [`source`](std::error::Error::source).

use std::error::Error;
use std::fmt;
use std::mem::discriminant;
use std::sync::Arc;

/// Why [`crate::SmoothGrad::explain`] or a base method refused a request. Nothing is computed when
/// one of these is returned.
///
/// Wrapped errors are shared ([`Arc`]) so that `ExplainError` is [`Clone`]. Two errors are equal
/// when they are of the same kind and say the same thing (a wrapped error has no equality of its
/// own).
#[derive(Clone, Debug)]
pub enum ExplainError {
    /// The inputs are not a batch `[N, ...]`, or not one image `[C, H, W]` where one is expected.
    InputShape(String),
    /// The model rejects the inputs' shape ([`crate::Model::output_shape`]); `source` is its
    /// reason (an [`smoothgrad_nn::NnError`] for a [`smoothgrad_nn::Sequential`]). Displayed as `input shape:
    /// <reason> (inputs [3, 3, 4, 4], checked one at a time)`.
    InputRejected {
        /// The model's reason and which inputs were checked.
        message: String,
        /// The model's error.
        source: Arc<dyn Error + Send + Sync>,
    },
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
    /// The worker threads asked for could not be started.
    Threads {
        /// How many were asked for.
        threads: usize,
        /// Rayon's error.
        source: Arc<rayon::ThreadPoolBuildError>,
    },
}

impl ExplainError {
    /// The model's rejection `source` of the inputs, with `context` (which inputs were checked)
    /// appended to its message.
    pub(crate) fn rejected(source: Box<dyn Error + Send + Sync>, context: &str) -> Self {
        ExplainError::InputRejected {
            message: format!("{source}{context}"),
            source: Arc::from(source),
        }
    }
}

impl fmt::Display for ExplainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExplainError::InputShape(m) => write!(f, "input shape: {m}"),
            ExplainError::InputRejected { message, .. } => write!(f, "input shape: {message}"),
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
            ExplainError::Threads { threads, source } => {
                write!(f, "cannot start {threads} threads: {source}")
            }
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

impl Error for ExplainError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ExplainError::InputRejected { source, .. } => Some(&**source),
            ExplainError::Threads { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

impl PartialEq for ExplainError {
    /// Same kind and same message.
    fn eq(&self, other: &Self) -> bool {
        discriminant(self) == discriminant(other) && self.to_string() == other.to_string()
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = ExplainError> = std::result::Result<T, E>;
