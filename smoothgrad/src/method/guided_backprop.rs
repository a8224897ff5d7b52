//! Guided backpropagation.

use smoothgrad_autograd::{ReluBackward, Scalar, Tensor};

use super::Method;
use crate::differentiable::tape_gradients;
use crate::model::Model;
use crate::operator::Operator;

/// Guided backpropagation (Springenberg et al. 2015): the backward pass of the score where every
/// ReLU passes back only positive gradients, `dx = max(dy, 0) [x > 0]`. It switches the ReLU rule
/// on the tape ([`ReluBackward::Guided`]), so it applies to every `relu` the model records; hence
/// it needs our tape: it is a method for [`Model`]s only, not for any
/// [`crate::Differentiable`] model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuidedBackprop;

impl<T: Scalar, M: Model<T> + ?Sized> Method<T, M> for GuidedBackprop {
    fn name(&self) -> String {
        "guided_backprop".into()
    }

    fn attribute(
        &self,
        model: &M,
        x: &Tensor<T>,
        targets: &[Vec<usize>],
        operator: &Operator<T>,
    ) -> Vec<Tensor<T>> {
        tape_gradients(model, x, targets, operator, ReluBackward::Guided)
            .into_iter()
            .map(|s| s.gradients)
            .collect()
    }
}
