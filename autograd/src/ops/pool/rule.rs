//! The pool family's payload and rules.
//!
//! Max: backward sends `dy` to the argmax kept from forward (the first maximum on ties).
//! Average: backward spreads `dy / divisor` over the window's in-image part (PyTorch's divisor,
//! see [`Pool2dOptions`](crate::Pool2dOptions)). Adaptive average: the same with PyTorch's
//! adaptive windows.

use crate::kernels::pool::adaptive::{adaptive_avg_pool2d_backward, AdaptivePool2dGeometry};
use crate::kernels::pool::{avg_pool2d_backward, max_pool2d_backward, Pool2dGeometry};
use crate::rule::{Backward, Rule};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A pooling on the tape.
pub(crate) enum PoolOp {
    /// Max pooling of node `x`, with the flat input index of every window's maximum.
    Max {
        x: usize,
        geom: Pool2dGeometry,
        argmax: Vec<u32>,
    },
    /// Average pooling of node `x`.
    Avg { x: usize, geom: Pool2dGeometry },
    /// Adaptive average pooling of node `x`.
    AdaptiveAvg {
        x: usize,
        geom: AdaptivePool2dGeometry,
    },
}

impl<T: Scalar> Rule<T> for PoolOp {
    fn inputs(&self) -> Vec<usize> {
        match self {
            PoolOp::Max { x, .. } | PoolOp::Avg { x, .. } | PoolOp::AdaptiveAvg { x, .. } => {
                vec![*x]
            }
        }
    }

    fn name(&self) -> String {
        match self {
            PoolOp::Max { .. } => "max_pool2d".into(),
            PoolOp::Avg { .. } => "avg_pool2d".into(),
            PoolOp::AdaptiveAvg { geom, .. } => format!("adaptive_avg_pool2d({:?})", geom.output),
        }
    }

    /// Max: `dx[argmax[k]] += dy[k]`. Average (fixed or adaptive windows): every in-image input
    /// of window `k` receives `dy[k] / divisor[k]`.
    fn backward(&self, ctx: &mut Backward<'_, T>, _y: &Tensor<T>, dy: Tensor<T>) {
        let (x, dx, op) = match self {
            PoolOp::Max { x, geom, argmax } => (
                *x,
                ctx.needs(*x)
                    .then(|| max_pool2d_backward(geom, argmax, dy.data())),
                "max_pool2d backward",
            ),
            PoolOp::Avg { x, geom } => (
                *x,
                ctx.needs(*x).then(|| avg_pool2d_backward(geom, dy.data())),
                "avg_pool2d backward",
            ),
            PoolOp::AdaptiveAvg { x, geom } => (
                *x,
                ctx.needs(*x)
                    .then(|| adaptive_avg_pool2d_backward(geom, dy.data())),
                "adaptive_avg_pool2d backward",
            ),
        };
        if let Some(dx) = dx {
            let shape = ctx.value(x).shape().to_vec();
            ctx.accumulate(x, Tensor::from_parts(op, dx, shape));
        }
    }
}
