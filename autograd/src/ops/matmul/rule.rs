//! The matmul family's payload and rule: `C = A B` (or `A B^T`) over the last two axes, batched;
//! backward `dA = dC B^T`, `dB = A^T dC`, each summed over broadcast batch axes (by the kernels).

use crate::kernels::matmul::{matmul_backward_a, matmul_backward_b, MatmulGeometry};
use crate::rule::{Backward, Rule};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A matrix product on the tape: nodes `a` and `b`, `b` read transposed if `transpose_b`.
pub(crate) struct MatMulOp {
    /// The left operand's tape index.
    pub(crate) a: usize,
    /// The right operand's tape index.
    pub(crate) b: usize,
    /// Whether the product is `A B^T`.
    pub(crate) transpose_b: bool,
}

impl<T: Scalar> Rule<T> for MatMulOp {
    fn inputs(&self) -> Vec<usize> {
        vec![self.a, self.b]
    }

    fn name(&self) -> String {
        "matmul".into()
    }

    /// `dA = dC B^T`, `dB = A^T dC` (transposes read in place, never materialized).
    fn backward(&self, ctx: &mut Backward<'_, T>, _y: &Tensor<T>, dy: Tensor<T>) {
        let (a, b) = (self.a, self.b);
        let g = MatmulGeometry::new(ctx.value(a).shape(), ctx.value(b).shape(), self.transpose_b)
            .expect("matmul backward: shapes were checked in forward");
        if ctx.needs(a) {
            let da = matmul_backward_a(&g, ctx.value(b).data(), dy.data());
            let shape = ctx.value(a).shape().to_vec();
            ctx.accumulate(a, Tensor::from_parts("matmul backward", da, shape));
        }
        if ctx.needs(b) {
            let db = matmul_backward_b(&g, ctx.value(a).data(), dy.data());
            let shape = ctx.value(b).shape().to_vec();
            ctx.accumulate(b, Tensor::from_parts("matmul backward", db, shape));
        }
    }
}
