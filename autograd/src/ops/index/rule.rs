//! The index family's payload and rules: backward scatters `dy` back to the positions read,
//! adding where an index repeats.

use crate::kernels::reduce::add_assign;
use crate::rule::{Backward, Rule};
use crate::scalar::Scalar;
use crate::shape::{self, split_at_axis};
use crate::tensor::Tensor;

/// An indexing op on the tape.
pub(crate) enum IndexOp {
    /// Entries `indices` of `axis` of node `x` (`index_select`).
    Select {
        x: usize,
        axis: usize,
        indices: Vec<usize>,
    },
    /// `out[.., j, ..] = x[.., index[.., j, ..], ..]` along `axis` (`gather`).
    Gather {
        x: usize,
        axis: usize,
        index: Vec<usize>,
    },
}

impl<T: Scalar> Rule<T> for IndexOp {
    fn inputs(&self) -> Vec<usize> {
        match self {
            IndexOp::Select { x, .. } | IndexOp::Gather { x, .. } => vec![*x],
        }
    }

    fn name(&self) -> String {
        match self {
            IndexOp::Select { axis, .. } => format!("index_select(axis={axis})"),
            IndexOp::Gather { axis, .. } => format!("gather(axis={axis})"),
        }
    }

    /// `index_select`: `dx[.., indices[j], ..] += dy[.., j, ..]`. `gather`:
    /// `dx[o, index[o, j, i], i] += dy[o, j, i]`.
    fn backward(&self, ctx: &mut Backward<'_, T>, _y: &Tensor<T>, dy: Tensor<T>) {
        match self {
            IndexOp::Select { x, axis, indices } => {
                index_select_backward(ctx, *x, *axis, indices, &dy)
            }
            IndexOp::Gather { x, axis, index } => gather_backward(ctx, *x, *axis, index, &dy),
        }
    }
}

/// `dx[.., indices[j], ..] += dy[.., j, ..]`.
fn index_select_backward<T: Scalar>(
    ctx: &mut Backward<'_, T>,
    x: usize,
    axis: usize,
    indices: &[usize],
    dy: &Tensor<T>,
) {
    if !ctx.needs(x) {
        return;
    }
    let xs = ctx.value(x).shape().to_vec();
    let (outer, size, inner) = split_at_axis(&xs, axis);
    let mut dx = vec![T::zero(); shape::numel(&xs)];
    let g = dy.data();
    for o in 0..outer {
        for (j, &i) in indices.iter().enumerate() {
            let src = &g[(o * indices.len() + j) * inner..][..inner];
            let dst = &mut dx[(o * size + i) * inner..][..inner];
            add_assign(dst, src);
        }
    }
    ctx.accumulate(x, Tensor::from_parts("index_select backward", dx, xs));
}

/// `dx[o, index[o, j, i], i] += dy[o, j, i]`.
fn gather_backward<T: Scalar>(
    ctx: &mut Backward<'_, T>,
    x: usize,
    axis: usize,
    index: &[usize],
    dy: &Tensor<T>,
) {
    if !ctx.needs(x) {
        return;
    }
    let xs = ctx.value(x).shape().to_vec();
    let (outer, size, inner) = split_at_axis(&xs, axis);
    let m = dy.shape()[axis];
    let mut dx = vec![T::zero(); shape::numel(&xs)];
    for o in 0..outer {
        for j in 0..m {
            for i in 0..inner {
                let at = (o * m + j) * inner + i;
                let src = (o * size + index[at]) * inner + i;
                dx[src] = dx[src] + dy.data()[at];
            }
        }
    }
    ctx.accumulate(x, Tensor::from_parts("gather backward", dx, xs));
}
