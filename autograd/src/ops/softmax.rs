//! Softmax and log-softmax along an axis, numerically stable, with fused backward rules.
//!
//! `softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m)` with `m = max_j x_j`, so nothing overflows.
//! Backward, with `y` the output: softmax `dx = y (dy - sum_j dy_j y_j)`; log-softmax
//! `dx = dy - softmax(x) sum_j dy_j`. Neither builds the Jacobian.

use crate::op::{Backward, Op};
use crate::scalar::Scalar;
use crate::shape::split_at_axis;
use crate::tensor::Tensor;
use crate::var::Var;

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

fn check_axis(op: &str, shape: &[usize], axis: usize) {
    assert!(
        axis < shape.len(),
        "{op}: axis {axis} is out of range for shape {shape:?}"
    );
}

pub(crate) fn softmax_backward<T: Scalar>(
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

pub(crate) fn log_softmax_backward<T: Scalar>(
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

impl<'t, T: Scalar> Var<'t, T> {
    /// Softmax along `axis`: non-negative values summing to 1 along it.
    ///
    /// # Panics
    /// If `axis` is out of range.
    pub fn softmax(self, axis: usize) -> Var<'t, T> {
        let x = self.value();
        check_axis("softmax", x.shape(), axis);
        let xd = x.data();
        let mut y = vec![T::zero(); x.numel()];
        for_each_lane(x.shape(), axis, |lane| {
            let (m, s) = lane_stats(xd, lane);
            for &i in lane {
                y[i] = (xd[i] - m).exp() / s;
            }
        });
        let value = Tensor::from_parts("softmax", y, x.shape().to_vec());
        self.tape().push(value, Op::Softmax { x: self.id(), axis })
    }

    /// Log-softmax along `axis`: `x_i - m - ln sum_j e^(x_j - m)`, exact even where softmax
    /// underflows to 0.
    ///
    /// # Panics
    /// If `axis` is out of range.
    pub fn log_softmax(self, axis: usize) -> Var<'t, T> {
        let x = self.value();
        check_axis("log_softmax", x.shape(), axis);
        let xd = x.data();
        let mut y = vec![T::zero(); x.numel()];
        for_each_lane(x.shape(), axis, |lane| {
            let (m, s) = lane_stats(xd, lane);
            let log_z = m + s.ln();
            for &i in lane {
                y[i] = xd[i] - log_z;
            }
        });
        let value = Tensor::from_parts("log_softmax", y, x.shape().to_vec());
        self.tape()
            .push(value, Op::LogSoftmax { x: self.id(), axis })
    }
}
