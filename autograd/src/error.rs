//! The errors of fallible tensor construction.

use std::fmt;

/// What went wrong building or reading a [`Tensor`](crate::Tensor) from user data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensorError {
    /// The data's length is not the number of elements the shape calls for.
    LengthMismatch {
        /// The requested shape.
        shape: Vec<usize>,
        /// The number of values supplied.
        len: usize,
    },
    /// An index has the wrong rank or lies outside the shape.
    IndexOutOfBounds {
        /// The index asked for.
        index: Vec<usize>,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// A reshape asked for a shape with a different number of elements.
    ReshapeMismatch {
        /// The tensor's shape.
        from: Vec<usize>,
        /// The requested shape.
        to: Vec<usize>,
    },
}

impl fmt::Display for TensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorError::LengthMismatch { shape, len } => write!(
                f,
                "shape {shape:?} has {} elements but the data has {len}",
                crate::shape::numel(shape)
            ),
            TensorError::IndexOutOfBounds { index, shape } => {
                write!(f, "index {index:?} is out of bounds for shape {shape:?}")
            }
            TensorError::ReshapeMismatch { from, to } => write!(
                f,
                "cannot reshape {from:?} ({} elements) to {to:?} ({} elements)",
                crate::shape::numel(from),
                crate::shape::numel(to)
            ),
        }
    }
}

impl std::error::Error for TensorError {}
