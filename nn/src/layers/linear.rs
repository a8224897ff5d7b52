//! `Linear`: `y = x W^T + b` (the design card's Dense), with PyTorch's `[out, in]` weight.

use std::fmt;

use rand::Rng;
use smoothgrad_autograd::{Scalar, Tensor, Var};

use super::shape_error;
use crate::error::{NnError, Result};
use crate::init;
use crate::module::{Context, Module, StateKind};

/// A fully connected layer: `y = x W^T + b` over the last axis, `W: [out_features, in_features]`.
///
/// Spec: `linear(in_features, out_features, bias=True)`.
pub struct Linear<T: Scalar = f32> {
    /// The weight, `[out_features, in_features]`.
    pub weight: Tensor<T>,
    /// The bias, `[out_features]`, if any.
    pub bias: Option<Tensor<T>>,
}

impl<T: Scalar> Linear<T> {
    /// A layer with PyTorch's default initialisation drawn from `rng`.
    pub fn new(in_features: usize, out_features: usize, bias: bool, rng: &mut impl Rng) -> Self {
        let weight = init::pytorch_default(&[out_features, in_features], in_features, rng);
        let bias = bias.then(|| init::pytorch_default(&[out_features], in_features, rng));
        Linear { weight, bias }
    }

    /// A layer with the given weight `[out, in]` and bias `[out]`.
    ///
    /// # Errors
    /// [`NnError::Config`] if the shapes do not fit together.
    pub fn from_weights(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Result<Self> {
        if weight.rank() != 2 {
            return Err(NnError::Config(format!(
                "linear: weight must be [out, in], found {:?}",
                weight.shape()
            )));
        }
        if let Some(b) = &bias {
            if b.shape() != [weight.shape()[0]] {
                return Err(NnError::Config(format!(
                    "linear: bias must be [{}], found {:?}",
                    weight.shape()[0],
                    b.shape()
                )));
            }
        }
        Ok(Linear { weight, bias })
    }

    /// Input features.
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl<T: Scalar> Module<T> for Linear<T> {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        let w = cx.param("weight", &self.weight);
        let y = x.matmul_t(w);
        match &self.bias {
            Some(b) => y + cx.param("bias", b),
            None => y,
        }
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match input.split_last() {
            Some((&last, lead)) if !lead.is_empty() && last == self.in_features() => {
                Ok([lead, &[self.out_features()]].concat())
            }
            _ => Err(shape_error(
                self,
                format!(
                    "expected input [batch, ..., {}], found {input:?}",
                    self.in_features()
                ),
            )),
        }
    }

    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {
        f("weight", StateKind::Parameter, &self.weight);
        if let Some(b) = &self.bias {
            f("bias", StateKind::Parameter, b);
        }
    }

    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {
        f("weight", StateKind::Parameter, &mut self.weight);
        if let Some(b) = &mut self.bias {
            f("bias", StateKind::Parameter, b);
        }
    }
}

impl<T: Scalar> fmt::Display for Linear<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "linear({},{}", self.in_features(), self.out_features())?;
        if self.bias.is_none() {
            write!(f, ",bias=False")?;
        }
        write!(f, ")")
    }
}
