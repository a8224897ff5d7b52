//! 2-D max and average pooling over `[N, C, H, W]` (PyTorch's `max_pool2d`, `avg_pool2d` with
//! `ceil_mode = false`, `count_include_pad = true`).
//!
//! Max: `y = max over the window`, backward sends `dy` to the argmax kept from forward (the first
//! maximum on ties). Average: `y = (1 / (kH kW)) sum over the window` (padding counts as zeros),
//! backward spreads `dy / (kH kW)` over the window.

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use crate::kernels::pool::{avg_pool2d_forward, max_pool2d_forward, Pool2dGeometry, Pool2dOptions};
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::var::Var;
use rule::PoolOp;

impl<'t, T: Scalar> Var<'t, T> {
    /// Max pooling of a `[N, C, H, W]` input; output size `(H + 2 pad - k) / stride + 1`.
    ///
    /// # Panics
    /// If the input is not 4-d or the options do not fit it.
    pub fn max_pool2d(self, opts: Pool2dOptions) -> Var<'t, T> {
        let x = self.value();
        let geom = Pool2dGeometry::new(x.shape(), opts).unwrap_or_else(|e| panic!("{e}"));
        let (y, argmax) = max_pool2d_forward(&geom, x.data());
        let value = Tensor::from_parts("max_pool2d", y, geom.output_shape().to_vec());
        self.record(
            value,
            PoolOp::Max {
                x: self.id(),
                geom,
                argmax,
            },
        )
    }

    /// Average pooling of a `[N, C, H, W]` input (padding counted in the divisor).
    ///
    /// # Panics
    /// If the input is not 4-d or the options do not fit it.
    pub fn avg_pool2d(self, opts: Pool2dOptions) -> Var<'t, T> {
        let x = self.value();
        let geom = Pool2dGeometry::new(x.shape(), opts).unwrap_or_else(|e| panic!("{e}"));
        let y = avg_pool2d_forward(&geom, x.data());
        let value = Tensor::from_parts("avg_pool2d", y, geom.output_shape().to_vec());
        self.record(value, PoolOp::Avg { x: self.id(), geom })
    }
}
