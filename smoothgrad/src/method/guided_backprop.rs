//! Guided backpropagation.

use smoothgrad_autograd::{ReluBackward, Scalar, Tensor};

use super::{gradients, Method};
use crate::model::Model;
use crate::operator::Operator;

/// Guided backpropagation (Springenberg et al. 2015): the backward pass of the score where every
/// ReLU passes back only positive gradients, `dx = max(dy, 0) [x > 0]`. It switches the ReLU rule
/// on the tape ([`ReluBackward::Guided`]), so it applies to every `relu` the model records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuidedBackprop;

impl<T: Scalar> Method<T> for GuidedBackprop {
    fn name(&self) -> String {
        "guided_backprop".into()
    }

    fn attribute(
        &self,
        model: &dyn Model<T>,
        x: &Tensor<T>,
        targets: &[Vec<usize>],
        operator: &Operator<T>,
    ) -> Vec<Tensor<T>> {
        gradients(model, x, targets, operator, ReluBackward::Guided)
    }
}
