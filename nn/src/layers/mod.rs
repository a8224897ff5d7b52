//! The layers, one kind per file. Each implements [`crate::Module`] and prints its spec.

/// Declares a parameter-free layer that applies `$apply` and keeps the shape.
/// Used by `activation.rs` and `activation_smooth.rs`; the expansion names `fmt`, `Scalar`, `Var`,
/// `Module`, `Context` and `Result`, which each of those files imports.
macro_rules! elementwise_layer {
    ($(#[$doc:meta])* $name:ident, $spec:literal, |$x:ident| $apply:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl<T: Scalar> Module<T> for $name {
            fn spec(&self) -> Option<String> {
                Some(self.to_string())
            }

            fn forward<'t>(&self, $x: Var<'t, T>, _cx: &mut Context<'t, T>) -> Var<'t, T> {
                $apply
            }

            fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
                Ok(input.to_vec())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($spec)
            }
        }
    };
}

mod activation;
mod activation_smooth;
mod adaptive_pool;
mod attention;
mod batchnorm;
mod conv;
mod dropout;
mod flatten;
mod identity;
mod layernorm;
mod layernorm2d;
mod linear;
mod pool;

pub use activation::{LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh};
pub use activation_smooth::{Approximate, Hardsigmoid, Hardswish, ReLU6, SiLU, GELU};
pub use adaptive_pool::AdaptiveAvgPool2d;
pub use attention::MultiheadAttention;
pub use batchnorm::BatchNorm2d;
pub use conv::Conv2d;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use identity::Identity;
pub use layernorm::LayerNorm;
pub use layernorm2d::LayerNorm2d;
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
