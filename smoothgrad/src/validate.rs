//! Checking an explanation request before any work: shapes, finiteness, targets, batch size.

use autograd::{Scalar, Tensor};

use crate::error::{ExplainError, Result};
use crate::model::Model;
use crate::target::Targets;

/// A validated request: inputs `[N, ...]` the model maps to `[N, K]`, finite, with resolved
/// targets (the same number of classes, `slots`, for every input).
pub(crate) struct Request<'a, T: Scalar> {
    inputs: &'a Tensor<T>,
    targets: Vec<Vec<usize>>,
}

impl<'a, T: Scalar> Request<'a, T> {
    pub(crate) fn new(
        model: &dyn Model<T>,
        inputs: &'a Tensor<T>,
        targets: &Targets,
        batch_size: usize,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(ExplainError::Parameter(
                "batch size must be at least 1, found 0".into(),
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
        let mut one = shape.to_vec();
        one[0] = 1;
        let out = model.output_shape(&one).map_err(ExplainError::InputShape)?;
        if out.len() != 2 || out[0] != 1 || out[1] == 0 {
            return Err(ExplainError::OutputShape(format!(
                "expected [batch, K] with K >= 1 for input {one:?}, found {out:?}"
            )));
        }
        let targets = targets.resolve(model, inputs, out[1])?;
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

    /// Inputs `start..end` as a batch.
    pub(crate) fn rows(&self, start: usize, end: usize) -> Tensor<T> {
        let len = self.input_len();
        let mut shape = self.inputs.shape().to_vec();
        shape[0] = end - start;
        Tensor::from_slice(&self.inputs.data()[start * len..end * len], &shape)
            .expect("rows of a validated batch")
    }
}
