//! The layers, one kind per file. Each implements [`crate::Module`] and prints its spec.

mod activation;
mod batchnorm;
mod conv;
mod dropout;
mod flatten;
mod linear;
mod pool;

pub use activation::{LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh};
pub use batchnorm::BatchNorm2d;
pub use conv::Conv2d;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use linear::Linear;
pub use pool::{AvgPool2d, MaxPool2d};

use crate::error::NnError;

/// A shape error for `layer`, saying what it expected and what it found.
pub(crate) fn shape_error(layer: &impl std::fmt::Display, message: String) -> NnError {
    NnError::Shape {
        layer: layer.to_string(),
        message,
    }
}

/// Formats `[a, b]` as `a` when square, else `(a,b)`, as a spec argument.
pub(crate) fn pair(p: [usize; 2]) -> String {
    if p[0] == p[1] {
        p[0].to_string()
    } else {
        format!("({},{})", p[0], p[1])
    }
}
