//! [`Grads`]: the result of a backward pass, keyed by [`Var`].

use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::var::Var;

/// The gradients of one backward pass, for the leaves that asked for them.
pub struct Grads<T: Scalar = f32> {
    tape_id: usize,
    grads: Vec<Option<Tensor<T>>>,
}

impl<T: Scalar> Grads<T> {
    pub(crate) fn new(tape_id: usize, grads: Vec<Option<Tensor<T>>>) -> Self {
        Grads { tape_id, grads }
    }

    fn index(&self, var: Var<'_, T>) -> usize {
        assert_eq!(
            var.tape_id(),
            self.tape_id,
            "grads: the variable belongs to another tape"
        );
        var.id()
    }

    /// The gradient of `var`, or `None` if no gradient reached it (a constant, a variable the
    /// output does not depend on, or a node recorded after the output).
    pub fn get(&self, var: Var<'_, T>) -> Option<&Tensor<T>> {
        let i = self.index(var);
        self.grads.get(i).and_then(Option::as_ref)
    }

    /// The gradient of `var`, zeros of its shape if none reached it: the derivative of an output
    /// with respect to something it does not depend on is zero.
    pub fn wrt(&self, var: Var<'_, T>) -> Tensor<T> {
        self.get(var)
            .cloned()
            .unwrap_or_else(|| Tensor::zeros(&var.shape()))
    }

    /// Moves the gradient of `var` out, leaving `None`.
    pub fn take(&mut self, var: Var<'_, T>) -> Option<Tensor<T>> {
        let i = self.index(var);
        self.grads.get_mut(i).and_then(Option::take)
    }
}
