//! Base attribution methods. Each maps a batch and its target classes to one attribution per
//! input element; [`crate::SmoothGrad`] averages any of them over noisy copies of the input.
//!
//! - [`Gradient`]: `dS_c/dx` (Simonyan et al. 2013's saliency).
//! - [`GradientXInput`]: `x * dS_c/dx` (Shrikumar et al. 2016).
//! - [`IntegratedGradients`]: `(x - x') * mean_alpha dS_c/dx(x' + alpha (x - x'))` (Sundararajan et
//!   al. 2017).
//! - [`GuidedBackprop`]: the gradient with ReLUs passing only positive gradients back
//!   (Springenberg et al. 2015).
//!
//! A method is generic over the model type `D` it accepts. The first three need only scores and
//! input gradients, so they run over every [`Differentiable`] model (ours through the tape, or a
//! model of another framework); guided backpropagation changes the backward rule of the tape's
//! ReLUs, so it requires a [`Model`] (our tape), and asking for it over any other model does not
//! compile.

mod gradient;
mod guided_backprop;
mod integrated_gradients;

pub use gradient::{Gradient, GradientXInput};
pub use guided_backprop::GuidedBackprop;
pub use integrated_gradients::{Baseline, IntegratedGradients, Rule, MAX_STEPS};

use smoothgrad_autograd::{Scalar, Tensor};

use crate::differentiable::Differentiable;
use crate::error::Result;
use crate::explanation::Attribution;
use crate::model::Model;
use crate::operator::Operator;
use crate::target::Targets;
use crate::validate::Request;

/// An attribution method over a batch, for models of type `D` (by default, any model on our tape:
/// a method of your own that records on the tape implements `Method<T>`).
pub trait Method<T: Scalar = f32, D: Differentiable<T> + ?Sized = dyn Model<T>>: Sync {
    /// A short name (`gradient`, `integrated_gradients`, ...).
    fn name(&self) -> String;

    /// Attributions for the batch `x` `[B, ...]`: one tensor `[B, ...]` per target slot `j`,
    /// explaining class `targets[b][j]` for row `b`. Inputs and targets are already validated.
    fn attribute(
        &self,
        model: &D,
        x: &Tensor<T>,
        targets: &[Vec<usize>],
        operator: &Operator<T>,
    ) -> Vec<Tensor<T>>;

    /// Checks the method's own settings against one input's shape (without the batch axis), before
    /// any work. The default accepts everything.
    ///
    /// # Errors
    /// [`crate::ExplainError::Parameter`] for a setting that cannot work.
    fn validate(&self, _input_shape: &[usize]) -> Result<()> {
        Ok(())
    }

    /// Validates a request and explains `inputs` `[N, ...]` in batches of `batch_size` rows.
    ///
    /// # Errors
    /// See [`crate::ExplainError`]: a shape the model rejects, non-finite inputs, targets out of
    /// range, a batch size of 0.
    fn explain(
        &self,
        model: &D,
        inputs: &Tensor<T>,
        targets: &Targets,
        operator: &Operator<T>,
        batch_size: usize,
    ) -> Result<Attribution<T>>
    where
        Self: Sized,
    {
        let req = Request::new(model, inputs, targets, operator, batch_size)?;
        let per_input = req.input_shape();
        self.validate(&per_input)?;
        let mut slots: Vec<Vec<T>> = vec![Vec::with_capacity(inputs.numel()); req.slots()];
        for start in (0..req.n()).step_by(batch_size) {
            let end = (start + batch_size).min(req.n());
            let x = req.inputs().select_rows(start..end);
            for (j, a) in self
                .attribute(model, &x, &req.targets()[start..end], operator)
                .into_iter()
                .enumerate()
            {
                slots[j].extend_from_slice(a.data());
            }
        }
        Ok(Attribution::from_slots(slots, req.n(), &per_input))
    }
}

/// `dS/dx` for every target slot, one `[B, ...]` gradient per slot.
pub(crate) fn gradients<T: Scalar, D: Differentiable<T> + ?Sized>(
    model: &D,
    x: &Tensor<T>,
    targets: &[Vec<usize>],
    operator: &Operator<T>,
) -> Vec<Tensor<T>> {
    model
        .scores_and_gradients(x, targets, operator)
        .into_iter()
        .map(|s| s.gradients)
        .collect()
}
