//! The plain gradient (saliency map) and gradient x input.

use smoothgrad_autograd::{Scalar, Tensor};

use super::{gradients, Method};
use crate::differentiable::Differentiable;
use crate::operator::Operator;

/// The gradient of the score: `M_c(x) = dS_c(x)/dx` (Simonyan, Vedaldi & Zisserman 2013).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gradient;

impl<T: Scalar, D: Differentiable<T> + ?Sized> Method<T, D> for Gradient {
    fn name(&self) -> String {
        "gradient".into()
    }

    fn attribute(
        &self,
        model: &D,
        x: &Tensor<T>,
        targets: &[Vec<usize>],
        operator: &Operator<T>,
    ) -> Vec<Tensor<T>> {
        gradients(model, x, targets, operator)
    }
}

/// The gradient times the input, elementwise: `M_c(x) = x * dS_c(x)/dx` (Shrikumar et al. 2016).
/// Under SmoothGrad the input is the noisy copy, as in Captum's `NoiseTunnel(InputXGradient)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GradientXInput;

impl<T: Scalar, D: Differentiable<T> + ?Sized> Method<T, D> for GradientXInput {
    fn name(&self) -> String {
        "gradient_x_input".into()
    }

    fn attribute(
        &self,
        model: &D,
        x: &Tensor<T>,
        targets: &[Vec<usize>],
        operator: &Operator<T>,
    ) -> Vec<Tensor<T>> {
        gradients(model, x, targets, operator)
            .into_iter()
            .map(|g| g.zip_map(x, |g, x| g * x))
            .collect()
    }
}
