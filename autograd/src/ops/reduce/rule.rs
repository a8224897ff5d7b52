//! The reduce family's payload and rules.
//!
//! Sum: `y = sum_axes x`, backward `dx = broadcast(dy)`. Max: `y = max_axes x`, backward routes
//! `dy` to the position of the maximum kept from forward.

use crate::rule::{Backward, Rule};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A reduction on the tape.
pub(crate) enum ReduceOp {
    /// Sum of node `x` over axes; `kept` is the output shape with the summed axes kept as 1.
    Sum { x: usize, kept: Vec<usize> },
    /// Maximum of node `x` over axes; `argmax[i]` is the flat input index of output element `i`.
    Max { x: usize, argmax: Vec<usize> },
}

impl<T: Scalar> Rule<T> for ReduceOp {
    fn inputs(&self) -> Vec<usize> {
        match self {
            ReduceOp::Sum { x, .. } | ReduceOp::Max { x, .. } => vec![*x],
        }
    }

    fn name(&self) -> String {
        match self {
            ReduceOp::Sum { .. } => "sum".into(),
            ReduceOp::Max { .. } => "max".into(),
        }
    }

    /// Sum: `dx = dy` broadcast back over the summed axes. Max: `dx[argmax[i]] += dy[i]`.
    fn backward(&self, ctx: &mut Backward<'_, T>, _y: &Tensor<T>, dy: Tensor<T>) {
        match self {
            ReduceOp::Sum { x, kept } => {
                if ctx.needs(*x) {
                    let g = dy
                        .reshape(kept)
                        .expect("sum backward: kept shape has the output's size");
                    let dx = g.broadcast_to(ctx.value(*x).shape());
                    ctx.accumulate(*x, dx);
                }
            }
            ReduceOp::Max { x, argmax } => {
                if ctx.needs(*x) {
                    let xv = ctx.value(*x);
                    let mut dx = vec![T::zero(); xv.numel()];
                    for (&i, &g) in argmax.iter().zip(dy.data()) {
                        dx[i] = dx[i] + g;
                    }
                    let shape = xv.shape().to_vec();
                    ctx.accumulate(*x, Tensor::from_parts("max backward", dx, shape));
                }
            }
        }
    }
}
