//! `LayerNorm` (Ba et al. 2016), as PyTorch: normalization over the trailing dimensions.
//!
//! For each position of the leading axes, with `n` the number of normalized values,
//! `mu = (1/n) sum x`, `var = (1/n) sum (x - mu)^2` (the biased estimator, as PyTorch) and
//! `y = (x - mu) / sqrt(var + eps) * weight + bias`, `weight` and `bias` of `normalized_shape`.

use std::fmt;

use smoothgrad_autograd::{Scalar, Tensor, Var};

use super::shape_error;
use crate::error::{NnError, Result};
use crate::module::{Context, Module, StateKind};

/// Layer normalization over the last `normalized_shape.len()` axes. Spec:
/// `layernorm(normalized_shape, eps=1e-05, elementwise_affine=True, bias=True)`, the shape an
/// integer or a tuple (`layernorm(16)`, `layernorm((4,4))`).
pub struct LayerNorm<T: Scalar = f32> {
    /// The per-element scale, of `normalized_shape` (with `elementwise_affine`).
    pub weight: Option<Tensor<T>>,
    /// The per-element shift, of `normalized_shape` (with `elementwise_affine` and `bias`).
    pub bias: Option<Tensor<T>>,
    /// Added to the variance before the square root.
    pub eps: f64,
    normalized_shape: Vec<usize>,
}

impl<T: Scalar> LayerNorm<T> {
    /// A layer with weight 1 and bias 0 (PyTorch's start).
    ///
    /// # Errors
    /// [`NnError::Config`] for an empty shape, a zero size or a non-positive `eps`. (`bias`
    /// without `elementwise_affine` has no effect, as in PyTorch: there are no affine tensors.)
    pub fn new(
        normalized_shape: &[usize],
        eps: f64,
        elementwise_affine: bool,
        bias: bool,
    ) -> Result<Self> {
        if normalized_shape.is_empty()
            || normalized_shape.contains(&0)
            || eps.is_nan()
            || eps <= 0.0
        {
            return Err(NnError::Config(format!(
                "layernorm: invalid settings normalized_shape {normalized_shape:?}, eps {eps} \
                 (expected a non-empty shape of positive sizes and eps > 0)"
            )));
        }
        Ok(LayerNorm {
            weight: elementwise_affine.then(|| Tensor::ones(normalized_shape)),
            bias: (elementwise_affine && bias).then(|| Tensor::zeros(normalized_shape)),
            eps,
            normalized_shape: normalized_shape.to_vec(),
        })
    }

    /// The normalized trailing shape.
    pub fn normalized_shape(&self) -> &[usize] {
        &self.normalized_shape
    }
}

/// `(x - mean) / sqrt(var + eps)` over the trailing `k` axes of `x`, composed from tape ops:
/// the mean, the centred values, the mean of their squares (the biased variance), one `powf`.
pub(crate) fn normalize_trailing<'t, T: Scalar>(x: Var<'t, T>, k: usize, eps: f64) -> Var<'t, T> {
    let rank = x.rank();
    let axes: Vec<usize> = (rank - k..rank).collect();
    let centered = x - x.mean_axes(&axes, true);
    let var = centered.square().mean_axes(&axes, true);
    let inv_std = var
        .add_scalar(T::from_f64_lossy(eps))
        .powf(T::from_f64_lossy(-0.5));
    centered * inv_std
}

impl<T: Scalar> Module<T> for LayerNorm<T> {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        let y = normalize_trailing(x, self.normalized_shape.len(), self.eps);
        let y = match &self.weight {
            Some(w) => y * cx.param("weight", w),
            None => y,
        };
        match &self.bias {
            Some(b) => y + cx.param("bias", b),
            None => y,
        }
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let k = self.normalized_shape.len();
        if input.len() > k && input[input.len() - k..] == self.normalized_shape[..] {
            Ok(input.to_vec())
        } else {
            Err(shape_error(
                self,
                format!(
                    "expected input [batch, ..., {}], found {input:?}",
                    dims(&self.normalized_shape)
                ),
            ))
        }
    }

    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {
        if let Some(w) = &self.weight {
            f("weight", StateKind::Parameter, w);
        }
        if let Some(b) = &self.bias {
            f("bias", StateKind::Parameter, b);
        }
    }

    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {
        if let Some(w) = &mut self.weight {
            f("weight", StateKind::Parameter, w);
        }
        if let Some(b) = &mut self.bias {
            f("bias", StateKind::Parameter, b);
        }
    }
}

/// `a, b, c` for a shape.
fn dims(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl<T: Scalar> fmt::Display for LayerNorm<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.normalized_shape.as_slice() {
            [d] => write!(f, "layernorm({d}")?,
            s => write!(
                f,
                "layernorm(({})",
                s.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )?,
        }
        if self.eps != 1e-5 {
            write!(f, ",eps={}", self.eps)?;
        }
        if self.weight.is_none() {
            write!(f, ",elementwise_affine=False")?;
        } else if self.bias.is_none() {
            write!(f, ",bias=False")?;
        }
        write!(f, ")")
    }
}
