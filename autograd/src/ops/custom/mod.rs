//! User-defined ops: implement [`CustomOp`] (a forward and a vector-Jacobian product) and record it
//! with [`Tape::custom`]; the tape calls its backward like any built-in rule (`rule.rs`), and
//! [`crate::check`] can verify it against finite differences.
//!
//! ```
//! use smoothgrad_autograd::{CustomOp, Tape, Tensor};
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

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::scalar::Scalar;
use crate::tape::Tape;
use crate::tensor::Tensor;
use crate::var::Var;
pub use rule::CustomOp;
use rule::CustomRule;

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
        let rule = CustomRule {
            inputs: inputs.iter().map(Var::id).collect(),
            op: Arc::new(op),
        };
        self.record(value, rule)
    }
}
