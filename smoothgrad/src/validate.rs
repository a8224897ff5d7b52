//! Checking an explanation request before any work: shapes, finiteness, targets, batch size.

use smoothgrad_autograd::{Scalar, Tape, Tensor};

use crate::differentiable::Differentiable;
use crate::error::{ExplainError, Result};
use crate::operator::Operator;
use crate::target::Targets;

/// Checks that the operator can score the outputs of a model with `k` outputs: `Output(j)` needs
/// `j < k`, and a custom score must give one value per row (probed on one input of zeros).
fn check_operator<T: Scalar, D: Differentiable<T> + ?Sized>(
    model: &D,
    operator: &Operator<T>,
    one: &[usize],
    k: usize,
) -> Result<()> {
    match operator {
        Operator::Output(j) if *j >= k => Err(ExplainError::parameter(
            "operator",
            format!("operator Output({j}) is out of range: the model has {k} outputs (0..{k})"),
        )),
        Operator::Custom(score) => {
            let tape = Tape::<T>::new();
            let outputs = tape.constant(model.outputs(&Tensor::zeros(one)));
            let shape = score(outputs, &[0]).shape();
            if shape == [1] {
                Ok(())
            } else {
                Err(ExplainError::OutputShape(format!(
                    "a custom operator must return one score per row ([1] for one input), found {shape:?}"
                )))
            }
        }
        _ => Ok(()),
    }
}

/// A validated request: inputs `[N, ...]` the model maps to `[N, K]`, finite, with resolved
/// targets (the same number of classes, `slots`, for every input).
pub(crate) struct Request<'a, T: Scalar> {
    inputs: &'a Tensor<T>,
    targets: Vec<Vec<usize>>,
}

impl<'a, T: Scalar> Request<'a, T> {
    pub(crate) fn new<D: Differentiable<T> + ?Sized>(
        model: &D,
        inputs: &'a Tensor<T>,
        targets: &Targets,
        operator: &Operator<T>,
        batch_size: usize,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(ExplainError::parameter(
                "batch_size",
                "batch size must be at least 1, found 0",
            ));
        }
        let shape = inputs.shape();
        if shape.len() < 2 || shape[0] == 0 {
            return Err(ExplainError::InputShape(format!(
                "expected a batch [N, ...] with N >= 1 and at least one more axis, found {shape:?}"
            )));
        }
        let len = inputs.numel() / shape[0];
        if let Some(i) = inputs.data().iter().position(|v| !v.is_finite()) {
            return Err(ExplainError::NonFinite {
                input: i / len.max(1),
                element: i % len.max(1),
            });
        }
        if model.is_training() {
            return Err(ExplainError::Model(
                "it is in training mode, where dropout and batch statistics mix the samples of a \
                 batch and the model changes as it runs; switch it to evaluation mode first \
                 (set_training(false))"
                    .into(),
            ));
        }
        // Inputs are checked one at a time: the cheapest probe for models without shape rules.
        let mut one = shape.to_vec();
        one[0] = 1;
        let out = model.output_shape(&one).map_err(|e| {
            ExplainError::rejected(e, &format!(" (inputs {shape:?}, checked one at a time)"))
        })?;
        if out.len() != 2 || out[0] != 1 || out[1] == 0 {
            return Err(ExplainError::OutputShape(format!(
                "expected [batch, K] with K >= 1 for input {one:?}, found {out:?}"
            )));
        }
        let k = out[1];
        check_operator(model, operator, &one, k)?;
        let targets = targets.resolve(model, inputs, k)?;
        Ok(Request { inputs, targets })
    }

    /// The number of inputs.
    pub(crate) fn n(&self) -> usize {
        self.inputs.shape()[0]
    }

    /// The shape of one input (without the batch axis).
    pub(crate) fn input_shape(&self) -> Vec<usize> {
        self.inputs.shape()[1..].to_vec()
    }

    /// The number of elements of one input.
    pub(crate) fn input_len(&self) -> usize {
        self.inputs.numel() / self.n()
    }

    /// Classes per input.
    pub(crate) fn slots(&self) -> usize {
        self.targets[0].len()
    }

    /// The resolved classes of every input.
    pub(crate) fn targets(&self) -> &[Vec<usize>] {
        &self.targets
    }

    /// The elements of input `n`.
    pub(crate) fn input(&self, n: usize) -> &[T] {
        let len = self.input_len();
        &self.inputs.data()[n * len..(n + 1) * len]
    }

    /// The validated inputs `[N, ...]`.
    pub(crate) fn inputs(&self) -> &Tensor<T> {
        self.inputs
    }
}
