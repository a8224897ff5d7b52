//! The conv family's payload and rule: 2-D convolution with optional bias.
//!
//! Backward: `dx = col2im(W^T dy)`, `dW = sum_n dy cols^T`, `db = sum_{n,i,j} dy`. The input is
//! already on the tape, so backward recomputes the columns it needs for `dW` instead of keeping
//! them, and skips them entirely when only `dx` is wanted (explaining a model).

use crate::kernels::conv::{
    conv2d_backward_bias, conv2d_backward_input, conv2d_backward_weight, Conv2dGeometry,
};
use crate::rule::{Backward, Rule};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A convolution on the tape: input `x`, weight `w`, optional bias `b`, and the checked geometry.
pub(crate) struct Conv2dOp {
    /// The input's tape index.
    pub(crate) x: usize,
    /// The weight's tape index.
    pub(crate) w: usize,
    /// The bias's tape index, if any.
    pub(crate) b: Option<usize>,
    /// Shapes and options, validated in forward.
    pub(crate) geom: Conv2dGeometry,
}

impl<T: Scalar> Rule<T> for Conv2dOp {
    fn inputs(&self) -> Vec<usize> {
        [Some(self.x), Some(self.w), self.b]
            .into_iter()
            .flatten()
            .collect()
    }

    fn name(&self) -> String {
        "conv2d".into()
    }

    /// `dx = col2im(W^T dy)`, `dW = sum_n dy cols^T`, `db = sum_{n,i,j} dy`, each only if needed.
    fn backward(&self, ctx: &mut Backward<'_, T>, _y: &Tensor<T>, dy: Tensor<T>) {
        let Conv2dOp { x, w, b, ref geom } = *self;
        if ctx.needs(x) {
            let dx = conv2d_backward_input(geom, ctx.value(w).data(), dy.data());
            let shape = ctx.value(x).shape().to_vec();
            ctx.accumulate(x, Tensor::from_parts("conv2d backward", dx, shape));
        }
        if ctx.needs(w) {
            let dw = conv2d_backward_weight(geom, ctx.value(x).data(), dy.data());
            let shape = ctx.value(w).shape().to_vec();
            ctx.accumulate(w, Tensor::from_parts("conv2d backward", dw, shape));
        }
        if let Some(b) = b.filter(|&b| ctx.needs(b)) {
            let db = conv2d_backward_bias(geom, dy.data());
            ctx.accumulate(b, Tensor::from_parts("conv2d backward", db, vec![geom.o]));
        }
    }
}
