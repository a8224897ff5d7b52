//! `LayerNorm2d`: LayerNorm over the channels of NCHW input, as torchvision's ConvNeXt uses it
//! (`Permute([0, 2, 3, 1])`, `LayerNorm(C)`, `Permute([0, 3, 1, 2])`; torchvision's own
//! `convnext.LayerNorm2d` is the same computation).
//!
//! For each `(n, h, w)`: `mu = mean_c x`, `var = mean_c (x - mu)^2` (biased) and
//! `y[n, c, h, w] = (x - mu) / sqrt(var + eps) * weight[c] + bias[c]`.

use std::fmt;

use smoothgrad_autograd::{Scalar, Tensor, Var};

use super::layernorm::normalize_trailing;
use super::shape_error;
use crate::error::{NnError, Result};
use crate::module::{Context, Module, StateKind};

/// Channel-wise layer normalization of `[N, C, H, W]`; state `weight` and `bias` of `[C]`. Spec:
/// `layernorm2d(num_channels, eps=1e-06, elementwise_affine=True)` (torchvision's default eps
/// for ConvNeXt is 1e-6).
pub struct LayerNorm2d<T: Scalar = f32> {
    /// Per-channel scale `[C]` (with `elementwise_affine`).
    pub weight: Option<Tensor<T>>,
    /// Per-channel shift `[C]` (with `elementwise_affine`).
    pub bias: Option<Tensor<T>>,
    /// Added to the variance before the square root.
    pub eps: f64,
    channels: usize,
}

impl<T: Scalar> LayerNorm2d<T> {
    /// A layer with weight 1 and bias 0.
    ///
    /// # Errors
    /// [`NnError::Config`] for zero channels or a non-positive `eps`.
    pub fn new(channels: usize, eps: f64, elementwise_affine: bool) -> Result<Self> {
        if channels == 0 || eps.is_nan() || eps <= 0.0 {
            return Err(NnError::Config(format!(
                "layernorm2d: invalid settings num_channels {channels}, eps {eps} (expected \
                 num_channels > 0 and eps > 0)"
            )));
        }
        Ok(LayerNorm2d {
            weight: elementwise_affine.then(|| Tensor::ones(&[channels])),
            bias: elementwise_affine.then(|| Tensor::zeros(&[channels])),
            eps,
            channels,
        })
    }

    /// The number of channels.
    pub fn num_channels(&self) -> usize {
        self.channels
    }
}

impl<T: Scalar> Module<T> for LayerNorm2d<T> {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        let y = normalize_trailing(x.permute(&[0, 2, 3, 1]), 1, self.eps);
        let y = match (&self.weight, &self.bias) {
            (Some(w), Some(b)) => y * cx.param("weight", w) + cx.param("bias", b),
            _ => y,
        };
        y.permute(&[0, 3, 1, 2])
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input.len() == 4 && input[1] == self.channels {
            Ok(input.to_vec())
        } else {
            Err(shape_error(
                self,
                format!(
                    "expected input [N, {}, H, W], found {input:?}",
                    self.channels
                ),
            ))
        }
    }

    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {
        if let (Some(w), Some(b)) = (&self.weight, &self.bias) {
            f("weight", StateKind::Parameter, w);
            f("bias", StateKind::Parameter, b);
        }
    }

    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {
        if let (Some(w), Some(b)) = (&mut self.weight, &mut self.bias) {
            f("weight", StateKind::Parameter, w);
            f("bias", StateKind::Parameter, b);
        }
    }
}

impl<T: Scalar> fmt::Display for LayerNorm2d<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "layernorm2d({}", self.channels)?;
        if self.eps != 1e-6 {
            write!(f, ",eps={}", self.eps)?;
        }
        if self.weight.is_none() {
            write!(f, ",elementwise_affine=False")?;
        }
        write!(f, ")")
    }
}
