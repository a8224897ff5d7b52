//! 2-D convolution (PyTorch's `conv2d`: cross-correlation, NCHW input, OIHW weight), lowered to
//! im2col + GEMM by [`crate::kernels::conv`].
//!
//! `y[n,o,i,j] = b[o] + sum_{c,p,q} w[o,c,p,q] x[n, g Cg + c, i s - pad + p d, j s - pad + q d]`
//! for output channel `o` in group `g`. Backward: `dx = col2im(W^T dy)`, `dW = sum_n dy cols^T`,
//! `db = sum_{n,i,j} dy`. The input is already on the tape, so backward recomputes the columns
//! it needs for `dW` instead of keeping them, and skips them entirely when only `dx` is wanted
//! (explaining a model).

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use crate::kernels::conv::{conv2d_forward, Conv2dGeometry, Conv2dOptions};
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::var::Var;
use rule::Conv2dOp;

impl<'t, T: Scalar> Var<'t, T> {
    /// 2-D convolution of this `[N, C, H, W]` input with `weight` `[O, C / groups, kH, kW]` and an
    /// optional `bias` `[O]`; output `[N, O, H_out, W_out]` with
    /// `H_out = (H + 2 pad - dilation (kH - 1) - 1) / stride + 1` (PyTorch's formula).
    ///
    /// # Panics
    /// If the shapes do not fit each other or the options; the message names the shapes.
    pub fn conv2d(
        self,
        weight: Var<'t, T>,
        bias: Option<Var<'t, T>>,
        opts: Conv2dOptions,
    ) -> Var<'t, T> {
        self.same_tape("conv2d", &weight);
        let (x, w) = (self.value(), weight.value());
        let geom =
            Conv2dGeometry::new(x.shape(), w.shape(), opts).unwrap_or_else(|e| panic!("{e}"));
        let b = bias.map(|b| {
            self.same_tape("conv2d", &b);
            let bv = b.value();
            assert!(
                bv.shape() == [geom.o],
                "conv2d: bias of shape {:?} does not fit weight {:?}: expected [{}]",
                bv.shape(),
                w.shape(),
                geom.o
            );
            bv
        });
        let y = conv2d_forward(&geom, x.data(), w.data(), b.as_ref().map(Tensor::data));
        let value = Tensor::from_parts("conv2d", y, geom.output_shape().to_vec());
        let op = Conv2dOp {
            x: self.id(),
            w: weight.id(),
            b: bias.map(|b| b.id()),
            geom,
        };
        self.record(value, op)
    }
}
