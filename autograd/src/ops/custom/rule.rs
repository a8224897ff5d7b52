//! The custom family: the [`CustomOp`] trait a user implements, and its payload on the tape.

use std::sync::Arc;

use crate::rule::{Backward, Rule};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// An operation defined outside this crate.
pub trait CustomOp<T: Scalar>: Send + Sync {
    /// A short name, shown in [`Tape::to_dot`](crate::Tape::to_dot) and in messages.
    fn name(&self) -> &str;

    /// The output for the given input values.
    fn forward(&self, inputs: &[&Tensor<T>]) -> Tensor<T>;

    /// The vector-Jacobian product: given the gradient of the output, the gradient of each input
    /// (`dx_k = J_k^T dy`), in input order; `None` for an input with no gradient. Each gradient
    /// must have its input's shape.
    fn backward(
        &self,
        inputs: &[&Tensor<T>],
        output: &Tensor<T>,
        grad_output: &Tensor<T>,
    ) -> Vec<Option<Tensor<T>>>;
}

/// A user-defined op on the tape: its input nodes and the op.
pub(crate) struct CustomRule<T: Scalar> {
    /// The inputs' tape indices, in order.
    pub(crate) inputs: Vec<usize>,
    /// The op, shared.
    pub(crate) op: Arc<dyn CustomOp<T>>,
}

impl<T: Scalar> Rule<T> for CustomRule<T> {
    fn inputs(&self) -> Vec<usize> {
        self.inputs.clone()
    }

    fn name(&self) -> String {
        self.op.name().into()
    }

    /// Calls [`CustomOp::backward`] and adds each returned gradient to its input.
    ///
    /// # Panics
    /// If the op returns a wrong number of gradients, or one of a wrong shape.
    fn backward(&self, ctx: &mut Backward<'_, T>, y: &Tensor<T>, dy: Tensor<T>) {
        let (inputs, op) = (&self.inputs, self.op.as_ref());
        if !inputs.iter().any(|&i| ctx.needs(i)) {
            return;
        }
        let values: Vec<&Tensor<T>> = inputs.iter().map(|&i| ctx.value(i)).collect();
        let grads = op.backward(&values, y, &dy);
        assert_eq!(
            grads.len(),
            inputs.len(),
            "custom op {}: backward returned {} gradients for {} inputs",
            op.name(),
            grads.len(),
            inputs.len()
        );
        for (&i, g) in inputs.iter().zip(grads) {
            if let Some(g) = g {
                ctx.accumulate(i, g);
            }
        }
    }
}
