//! Parameter-free elementwise and normalizing layers: ReLU, LeakyReLU, Sigmoid, Tanh, Softmax,
//! LogSoftmax. Each keeps the input shape.

use std::fmt;

use smoothgrad_autograd::{Scalar, Var};

use super::shape_error;
use crate::error::Result;
use crate::module::{Context, Module};

elementwise_layer!(
    /// `max(x, 0)`. Spec: `relu`.
    ReLU, "relu", |x| x.relu()
);
elementwise_layer!(
    /// `1 / (1 + e^-x)`. Spec: `sigmoid`.
    Sigmoid, "sigmoid", |x| x.sigmoid()
);
elementwise_layer!(
    /// `tanh x`. Spec: `tanh`.
    Tanh, "tanh", |x| x.tanh()
);

/// `x` for positive `x`, `negative_slope * x` otherwise. Spec: `leakyrelu(negative_slope=0.01)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyReLU {
    /// The slope for negative inputs (PyTorch's default 0.01).
    pub negative_slope: f64,
}

impl Default for LeakyReLU {
    fn default() -> Self {
        LeakyReLU {
            negative_slope: 0.01,
        }
    }
}

impl<T: Scalar> Module<T> for LeakyReLU {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, _cx: &mut Context<'t, T>) -> Var<'t, T> {
        x.leaky_relu(T::from_f64_lossy(self.negative_slope))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
}

impl fmt::Display for LeakyReLU {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative_slope == 0.01 {
            f.write_str("leakyrelu")
        } else {
            write!(f, "leakyrelu(negative_slope={})", self.negative_slope)
        }
    }
}

/// Declares a layer normalizing along `dim` (softmax, log-softmax).
macro_rules! along_dim_layer {
    ($(#[$doc:meta])* $name:ident, $spec:literal, $method:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            /// The axis normalized over (1: the classes of a `[batch, classes]` output).
            pub dim: usize,
        }

        impl Default for $name {
            fn default() -> Self {
                $name { dim: 1 }
            }
        }

        impl<T: Scalar> Module<T> for $name {
            fn spec(&self) -> Option<String> {
                Some(self.to_string())
            }

            /// A normalizer: a model's logits are its value before it.
            fn is_normalizer(&self) -> bool {
                true
            }

            fn forward<'t>(&self, x: Var<'t, T>, _cx: &mut Context<'t, T>) -> Var<'t, T> {
                x.$method(self.dim)
            }

            fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
                if self.dim < input.len() {
                    Ok(input.to_vec())
                } else {
                    Err(shape_error(
                        self,
                        format!("dim {} is out of range for input {input:?}", self.dim),
                    ))
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(dim={})", $spec, self.dim)
            }
        }
    };
}

along_dim_layer!(
    /// Softmax along `dim`. Spec: `softmax(dim=1)`.
    Softmax, "softmax", softmax
);
along_dim_layer!(
    /// Log-softmax along `dim`. Spec: `logsoftmax(dim=1)`.
    LogSoftmax, "logsoftmax", log_softmax
);
