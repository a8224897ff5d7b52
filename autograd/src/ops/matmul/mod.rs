//! Matrix multiplication: `C = A B` over the last two axes, batched (with broadcasting) over the
//! rest. Backward (in `rule.rs`): `dA = dC B^T`, `dB = A^T dC`, each summed over broadcast batch axes.

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use crate::kernels::matmul::{matmul_forward, MatmulGeometry};
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::var::Var;
use rule::MatMulOp;

impl<'t, T: Scalar> Var<'t, T> {
    fn matmul_impl(self, other: Var<'t, T>, transpose_b: bool) -> Var<'t, T> {
        self.same_tape("matmul", &other);
        let (a, b) = (self.value(), other.value());
        let g = MatmulGeometry::new(a.shape(), b.shape(), transpose_b)
            .unwrap_or_else(|e| panic!("{e}"));
        let value = Tensor::from_parts(
            "matmul",
            matmul_forward(&g, a.data(), b.data()),
            g.output_shape(),
        );
        let (a, b) = (self.id(), other.id());
        self.record(value, MatMulOp { a, b, transpose_b })
    }

    /// The matrix product `A B` of `[..., m, k]` and `[..., k, n]`, batch axes broadcast:
    /// `C[.., i, j] = sum_p A[.., i, p] B[.., p, j]`.
    ///
    /// Backward: `dA = dC B^T`, `dB = A^T dC`.
    ///
    /// # Panics
    /// If either operand has fewer than 2 axes, the inner sizes differ or the batch axes do not
    /// broadcast; the message names both shapes.
    pub fn matmul(self, other: Var<'t, T>) -> Var<'t, T> {
        self.matmul_impl(other, false)
    }

    /// `A B^T` for `B` of shape `[..., n, k]`, without materializing the transpose: a linear layer
    /// `x W^T` with PyTorch's `[out, in]` weight.
    ///
    /// # Panics
    /// As [`Var::matmul`].
    pub fn matmul_t(self, other: Var<'t, T>) -> Var<'t, T> {
        self.matmul_impl(other, true)
    }
}
