//! Softmax and log-softmax along an axis, numerically stable, with fused backward rules.
//!
//! `softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m)` with `m = max_j x_j`, so nothing overflows.
//! Backward, with `y` the output: softmax `dx = y (dy - sum_j dy_j y_j)`; log-softmax
//! `dx = dy - softmax(x) sum_j dy_j`. Neither builds the Jacobian. The math and the rules are in
//! `rule.rs`.

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use crate::scalar::Scalar;
use crate::var::Var;
use rule::SoftmaxOp;

fn check_axis(op: &str, shape: &[usize], axis: usize) {
    assert!(
        axis < shape.len(),
        "{op}: axis {axis} is out of range for shape {shape:?}"
    );
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Softmax along `axis`: non-negative values summing to 1 along it.
    ///
    /// # Panics
    /// If `axis` is out of range.
    pub fn softmax(self, axis: usize) -> Var<'t, T> {
        let x = self.value();
        check_axis("softmax", x.shape(), axis);
        let value = rule::softmax(&x, axis);
        self.record(value, SoftmaxOp::Softmax { x: self.id(), axis })
    }

    /// Log-softmax along `axis`: `x_i - m - ln sum_j e^(x_j - m)`, exact even where softmax
    /// underflows to 0.
    ///
    /// # Panics
    /// If `axis` is out of range.
    pub fn log_softmax(self, axis: usize) -> Var<'t, T> {
        let x = self.value();
        check_axis("log_softmax", x.shape(), axis);
        let value = rule::log_softmax(&x, axis);
        self.record(value, SoftmaxOp::LogSoftmax { x: self.id(), axis })
    }
}
