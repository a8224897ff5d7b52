//! The softmax family's math, payload and rules.
//!
//! `softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m)` with `m = max_j x_j`, so nothing overflows.
//! Backward, with `y` the output: softmax `dx = y (dy - sum_j dy_j y_j)`; log-softmax
//! `dx = dy - softmax(x) sum_j dy_j` (with `softmax(x) = e^y`).

use crate::rule::{Backward, Rule};
use crate::scalar::Scalar;
use crate::shape::split_at_axis;
use crate::tensor::Tensor;

/// A softmax on the tape (the output, kept as the node's value, is all the rule needs).
pub(crate) enum SoftmaxOp {
    /// Softmax of node `x` along `axis`.
    Softmax { x: usize, axis: usize },
    /// Log-softmax of node `x` along `axis`.
    LogSoftmax { x: usize, axis: usize },
}

impl<T: Scalar> Rule<T> for SoftmaxOp {
    fn inputs(&self) -> Vec<usize> {
        match self {
            SoftmaxOp::Softmax { x, .. } | SoftmaxOp::LogSoftmax { x, .. } => vec![*x],
        }
    }

    fn name(&self) -> String {
        match self {
            SoftmaxOp::Softmax { axis, .. } => format!("softmax(axis={axis})"),
            SoftmaxOp::LogSoftmax { axis, .. } => format!("log_softmax(axis={axis})"),
        }
    }

    /// Softmax: `dx = y (dy - sum_j dy_j y_j)`. Log-softmax: `dx = dy - e^y sum_j dy_j`.
    fn backward(&self, ctx: &mut Backward<'_, T>, y: &Tensor<T>, dy: Tensor<T>) {
        match *self {
            SoftmaxOp::Softmax { x, axis } => softmax_backward(ctx, x, axis, y, &dy),
            SoftmaxOp::LogSoftmax { x, axis } => log_softmax_backward(ctx, x, axis, y, &dy),
        }
    }
}

/// Calls `f(lane)` with the flat indices of every lane along `axis` (`size` indices `inner` apart).
fn for_each_lane(shape: &[usize], axis: usize, mut f: impl FnMut(&[usize])) {
    let (outer, size, inner) = split_at_axis(shape, axis);
    let mut lane = vec![0; size];
    for o in 0..outer {
        for i in 0..inner {
            for (j, l) in lane.iter_mut().enumerate() {
                *l = (o * size + j) * inner + i;
            }
            f(&lane);
        }
    }
}

/// `(max, sum of e^(x - max))` over a lane.
fn lane_stats<T: Scalar>(x: &[T], lane: &[usize]) -> (T, T) {
    let m = lane.iter().fold(T::neg_infinity(), |m, &i| m.max(x[i]));
    let s = lane.iter().fold(T::zero(), |s, &i| s + (x[i] - m).exp());
    (m, s)
}

/// `softmax(x)` along `axis` (checked by the caller).
pub(crate) fn softmax<T: Scalar>(x: &Tensor<T>, axis: usize) -> Tensor<T> {
    let xd = x.data();
    let mut y = vec![T::zero(); x.numel()];
    for_each_lane(x.shape(), axis, |lane| {
        let (m, s) = lane_stats(xd, lane);
        for &i in lane {
            y[i] = (xd[i] - m).exp() / s;
        }
    });
    Tensor::from_parts("softmax", y, x.shape().to_vec())
}

/// `log_softmax(x)` along `axis` (checked by the caller).
pub(crate) fn log_softmax<T: Scalar>(x: &Tensor<T>, axis: usize) -> Tensor<T> {
    let xd = x.data();
    let mut y = vec![T::zero(); x.numel()];
    for_each_lane(x.shape(), axis, |lane| {
        let (m, s) = lane_stats(xd, lane);
        let log_z = m + s.ln();
        for &i in lane {
            y[i] = xd[i] - log_z;
        }
    });
    Tensor::from_parts("log_softmax", y, x.shape().to_vec())
}

fn softmax_backward<T: Scalar>(
    ctx: &mut Backward<'_, T>,
    x: usize,
    axis: usize,
    y: &Tensor<T>,
    dy: &Tensor<T>,
) {
    if !ctx.needs(x) {
        return;
    }
    let (yd, gd) = (y.data(), dy.data());
    let mut dx = vec![T::zero(); y.numel()];
    for_each_lane(y.shape(), axis, |lane| {
        let dot = lane.iter().fold(T::zero(), |s, &i| s + gd[i] * yd[i]);
        for &i in lane {
            dx[i] = yd[i] * (gd[i] - dot);
        }
    });
    ctx.accumulate(
        x,
        Tensor::from_parts("softmax backward", dx, y.shape().to_vec()),
    );
}

fn log_softmax_backward<T: Scalar>(
    ctx: &mut Backward<'_, T>,
    x: usize,
    axis: usize,
    y: &Tensor<T>,
    dy: &Tensor<T>,
) {
    if !ctx.needs(x) {
        return;
    }
    let (yd, gd) = (y.data(), dy.data());
    let mut dx = vec![T::zero(); y.numel()];
    for_each_lane(y.shape(), axis, |lane| {
        let total = lane.iter().fold(T::zero(), |s, &i| s + gd[i]);
        for &i in lane {
            dx[i] = gd[i] - yd[i].exp() * total;
        }
    });
    ctx.accumulate(
        x,
        Tensor::from_parts("log_softmax backward", dx, y.shape().to_vec()),
    );
}
