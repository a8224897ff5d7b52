//! User-defined ops: implement [`CustomOp`] (a forward and a vector-Jacobian product) and record it
//! with [`Tape::custom`]; the tape calls its backward like any built-in rule, and
//! [`crate::check`] can verify it against finite differences.
//!
//! ```
//! use autograd::{CustomOp, Tape, Tensor};
//!
//! /// `y = x^3`, with `dx = 3 x^2 dy`.
//! struct Cube;
//!
//! impl CustomOp<f64> for Cube {
//!     fn name(&self) -> &str {
//!         "cube"
//!     }
//!     fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
//!         inputs[0].map(|x| x * x * x)
//!     }
//!     fn backward(
//!         &self,
//!         inputs: &[&Tensor<f64>],
//!         _output: &Tensor<f64>,
//!         grad_output: &Tensor<f64>,
//!     ) -> Vec<Option<Tensor<f64>>> {
//!         vec![Some(inputs[0].zip_map(grad_output, |x, g| 3.0 * x * x * g))]
//!     }
//! }
//!
//! let tape = Tape::<f64>::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
//! let y = tape.custom(Cube, &[x]).sum();
//! let grads = tape.backward(y);
//! assert_eq!(grads.wrt(x).data(), &[3.0, 12.0]);
//! ```

use std::sync::Arc;

use crate::op::{Backward, Op};
use crate::scalar::Scalar;
use crate::tape::Tape;
use crate::tensor::Tensor;
use crate::var::Var;

/// An operation defined outside this crate.
pub trait CustomOp<T: Scalar>: Send + Sync {
    /// A short name, shown in [`Tape::to_dot`] and in messages.
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

pub(crate) fn backward<T: Scalar>(
    ctx: &mut Backward<'_, T>,
    inputs: &[usize],
    op: &dyn CustomOp<T>,
    y: &Tensor<T>,
    dy: &Tensor<T>,
) {
    if !inputs.iter().any(|&i| ctx.needs(i)) {
        return;
    }
    let values: Vec<&Tensor<T>> = inputs.iter().map(|&i| ctx.value(i)).collect();
    let grads = op.backward(&values, y, dy);
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

impl<T: Scalar> Tape<T> {
    /// Records a user-defined op applied to `inputs`.
    ///
    /// # Panics
    /// If an input is from another tape.
    pub fn custom<'t>(
        &'t self,
        op: impl CustomOp<T> + 'static,
        inputs: &[Var<'t, T>],
    ) -> Var<'t, T> {
        assert!(
            inputs.iter().all(|v| std::ptr::eq(v.tape(), self)),
            "custom op {}: an input is from another tape",
            op.name()
        );
        let values: Vec<Tensor<T>> = inputs.iter().map(Var::value).collect();
        let refs: Vec<&Tensor<T>> = values.iter().collect();
        let value = op.forward(&refs);
        let op = Op::Custom {
            inputs: inputs.iter().map(Var::id).collect(),
            op: Arc::new(op),
        };
        self.push(value, op)
    }
}
