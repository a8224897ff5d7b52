//! The plain gradient (saliency map) and gradient x input.

use smoothgrad_autograd::{ReluBackward, Scalar, Tensor};

use super::{gradients, Method};
use crate::model::Model;
use crate::operator::Operator;

/// The gradient of the score: `M_c(x) = dS_c(x)/dx` (Simonyan, Vedaldi & Zisserman 2013).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gradient;

impl<T: Scalar> Method<T> for Gradient {
    fn name(&self) -> String {
        "gradient".into()
    }

    fn attribute(
        &self,
        model: &dyn Model<T>,
        x: &Tensor<T>,
        targets: &[Vec<usize>],
        operator: &Operator<T>,
    ) -> Vec<Tensor<T>> {
        gradients(model, x, targets, operator, ReluBackward::Standard)
    }
}

/// The gradient times the input, elementwise: `M_c(x) = x * dS_c(x)/dx` (Shrikumar et al. 2016).
/// Under SmoothGrad the input is the noisy copy, as in Captum's `NoiseTunnel(InputXGradient)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GradientXInput;

impl<T: Scalar> Method<T> for GradientXInput {
    fn name(&self) -> String {
        "gradient_x_input".into()
    }

    fn attribute(
        &self,
        model: &dyn Model<T>,
        x: &Tensor<T>,
        targets: &[Vec<usize>],
        operator: &Operator<T>,
    ) -> Vec<Tensor<T>> {
        gradients(model, x, targets, operator, ReluBackward::Standard)
            .into_iter()
            .map(|g| g.zip_map(x, |g, x| g * x))
            .collect()
    }
}
