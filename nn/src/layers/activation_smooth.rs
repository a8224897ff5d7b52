//! The smooth and piecewise-linear activations of modern classifiers: GELU (erf and tanh forms),
//! SiLU, Hardswish, Hardsigmoid and ReLU6, each PyTorch's, each keeping the input shape.

use std::fmt;

use smoothgrad_autograd::{Scalar, Var};

use crate::error::{NnError, Result};
use crate::module::{Context, Module};

elementwise_layer!(
    /// SiLU (swish), `x σ(x)` with `σ` the logistic sigmoid. Spec: `silu`.
    SiLU, "silu", |x| x.silu()
);
elementwise_layer!(
    /// Hard swish (MobileNetV3), `x min(max(x + 3, 0), 6) / 6`. Spec: `hardswish`.
    Hardswish, "hardswish", |x| x.hardswish()
);
elementwise_layer!(
    /// Hard sigmoid, `min(max(x + 3, 0), 6) / 6`; its derivative is exactly `1/6` inside
    /// `(-3, 3)` (PyTorch's CPU backward rounds it to `f32` even for `f64`). Spec: `hardsigmoid`.
    Hardsigmoid, "hardsigmoid", |x| x.hardsigmoid()
);
elementwise_layer!(
    /// ReLU6 (MobileNetV2), `min(max(x, 0), 6)`, with derivative 0 at both bounds as PyTorch.
    /// Spec: `relu6`.
    ReLU6, "relu6", |x| x.relu6()
);

/// Which form of GELU: PyTorch's `approximate` argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Approximate {
    /// `x Φ(x) = (x / 2)(1 + erf(x / √2))`, exact (`approximate='none'`).
    #[default]
    None,
    /// `(x / 2)(1 + tanh(√(2/π)(x + 0.044715 x³)))` (`approximate='tanh'`).
    Tanh,
}

impl Approximate {
    /// The form named by PyTorch's string, `"none"` or `"tanh"`.
    ///
    /// # Errors
    /// [`NnError::Config`] for any other string.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "none" => Ok(Approximate::None),
            "tanh" => Ok(Approximate::Tanh),
            other => Err(NnError::Config(format!(
                "gelu: approximate must be 'none' or 'tanh', found {other:?}"
            ))),
        }
    }

    /// PyTorch's name for the form.
    pub fn name(self) -> &'static str {
        match self {
            Approximate::None => "none",
            Approximate::Tanh => "tanh",
        }
    }
}

/// The Gaussian error linear unit (Hendrycks & Gimpel 2016), `x Φ(x)`, exact or in its tanh
/// approximation. Spec: `gelu` or `gelu(approximate='tanh')`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GELU {
    /// The exact (erf) form or the tanh approximation.
    pub approximate: Approximate,
}

impl<T: Scalar> Module<T> for GELU {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, _cx: &mut Context<'t, T>) -> Var<'t, T> {
        match self.approximate {
            Approximate::None => x.gelu(),
            Approximate::Tanh => x.gelu_tanh(),
        }
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
}

impl fmt::Display for GELU {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.approximate {
            Approximate::None => f.write_str("gelu"),
            Approximate::Tanh => f.write_str("gelu(approximate='tanh')"),
        }
    }
}
