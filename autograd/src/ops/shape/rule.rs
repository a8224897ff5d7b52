//! The shape family's payload and rules: moves of elements without arithmetic, each undone on
//! the gradient.

use crate::kernels::broadcast::sum_to_shape;
use crate::rule::{Backward, Rule};
use crate::scalar::Scalar;
use crate::shape::{self, split_at_axis};
use crate::tensor::Tensor;

/// A shape op on the tape.
pub(crate) enum ShapeOp {
    /// Axes of node `x` reordered: output axis `i` is input axis `perm[i]`.
    Permute { x: usize, perm: Vec<usize> },
    /// Node `x` with a new shape, same data.
    Reshape { x: usize },
    /// Node `x` repeated along broadcast axes.
    BroadcastTo { x: usize },
    /// The slice `start..start + len` of `axis` of node `x` (`len` is the output's).
    Narrow { x: usize, axis: usize, start: usize },
    /// Nodes `xs` joined along `axis`.
    Concat { xs: Vec<usize>, axis: usize },
}

impl<T: Scalar> Rule<T> for ShapeOp {
    fn inputs(&self) -> Vec<usize> {
        match self {
            ShapeOp::Permute { x, .. }
            | ShapeOp::Reshape { x }
            | ShapeOp::BroadcastTo { x }
            | ShapeOp::Narrow { x, .. } => vec![*x],
            ShapeOp::Concat { xs, .. } => xs.clone(),
        }
    }

    fn name(&self) -> String {
        match self {
            ShapeOp::Permute { perm, .. } => format!("permute{perm:?}"),
            ShapeOp::Reshape { .. } => "reshape".into(),
            ShapeOp::BroadcastTo { .. } => "broadcast_to".into(),
            ShapeOp::Narrow { axis, start, .. } => format!("narrow(axis={axis}, start={start})"),
            ShapeOp::Concat { axis, .. } => format!("concat(axis={axis})"),
        }
    }

    /// Permute: `dx = permute(dy, perm^-1)`. Reshape: `dx = reshape(dy)` (no data moves).
    /// Broadcast: `dx` = `dy` summed over the broadcast axes. Narrow: `dy` placed at
    /// `start..start + len` of `axis`, zeros elsewhere. Concat: each input's slice of `dy`.
    fn backward(&self, ctx: &mut Backward<'_, T>, _y: &Tensor<T>, dy: Tensor<T>) {
        match self {
            ShapeOp::Permute { x, perm } => {
                if ctx.needs(*x) {
                    let mut inverse = vec![0; perm.len()];
                    for (i, &p) in perm.iter().enumerate() {
                        inverse[p] = i;
                    }
                    ctx.accumulate(*x, dy.permute(&inverse));
                }
            }
            ShapeOp::Reshape { x } => {
                if ctx.needs(*x) {
                    let g = dy
                        .reshape(ctx.value(*x).shape())
                        .expect("reshape backward: sizes agree");
                    ctx.accumulate(*x, g);
                }
            }
            ShapeOp::BroadcastTo { x } => {
                if ctx.needs(*x) {
                    let g = sum_to_shape(&dy, ctx.value(*x).shape());
                    ctx.accumulate(*x, g);
                }
            }
            ShapeOp::Narrow { x, axis, start } => narrow_backward(ctx, *x, *axis, *start, &dy),
            ShapeOp::Concat { xs, axis } => concat_backward(ctx, xs, *axis, &dy),
        }
    }
}

/// `dx` is `dy` placed at `start..start + len` of `axis`, zeros elsewhere.
fn narrow_backward<T: Scalar>(
    ctx: &mut Backward<'_, T>,
    x: usize,
    axis: usize,
    start: usize,
    dy: &Tensor<T>,
) {
    if ctx.needs(x) {
        let xs = ctx.value(x).shape().to_vec();
        let (outer, size, inner) = split_at_axis(&xs, axis);
        let len = dy.shape()[axis];
        let mut dx = vec![T::zero(); shape::numel(&xs)];
        for o in 0..outer {
            let src = &dy.data()[o * len * inner..(o + 1) * len * inner];
            let at = (o * size + start) * inner;
            dx[at..at + len * inner].copy_from_slice(src);
        }
        ctx.accumulate(x, Tensor::from_parts("narrow backward", dx, xs));
    }
}

/// Each input's gradient is its slice of `dy` along `axis`.
fn concat_backward<T: Scalar>(
    ctx: &mut Backward<'_, T>,
    xs: &[usize],
    axis: usize,
    dy: &Tensor<T>,
) {
    let (outer, total, inner) = split_at_axis(dy.shape(), axis);
    let mut start = 0;
    for &x in xs {
        let shape = ctx.value(x).shape().to_vec();
        let len = shape[axis];
        if ctx.needs(x) {
            let mut dx = Vec::with_capacity(shape::numel(&shape));
            for o in 0..outer {
                let at = (o * total + start) * inner;
                dx.extend_from_slice(&dy.data()[at..at + len * inner]);
            }
            ctx.accumulate(x, Tensor::from_parts("concat backward", dx, shape));
        }
        start += len;
    }
}
