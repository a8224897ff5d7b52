//! 2-D max, average and adaptive average pooling over `[N, C, H, W]` (PyTorch's `max_pool2d`,
//! `avg_pool2d` with `ceil_mode` and `count_include_pad`, plus asymmetric pads, and
//! `adaptive_avg_pool2d`).
//!
//! Max: `y = max over the window`, backward sends `dy` to the argmax kept from forward (the first
//! maximum on ties). Average: `y = (1 / d) sum over the window` (padding counts as zeros; `d` is
//! PyTorch's divisor), backward spreads `dy / d` over the window's in-image part.

pub(crate) mod rule;
#[cfg(test)]
mod tests;

use crate::kernels::pool::adaptive::{adaptive_avg_pool2d_forward, AdaptivePool2dGeometry};
use crate::kernels::pool::{avg_pool2d_forward, max_pool2d_forward, Pool2dGeometry, Pool2dOptions};
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::var::Var;
use rule::PoolOp;

impl<'t, T: Scalar> Var<'t, T> {
    /// Max pooling of a `[N, C, H, W]` input; output size `(H + top + bottom - k) / stride + 1`
    /// (rounded up under `ceil_mode`, PyTorch's rule). Derivative: 1 at each window's first
    /// maximum, 0 elsewhere.
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

    /// Average pooling of a `[N, C, H, W]` input: `y = (1 / d) sum` over the window, with
    /// PyTorch's divisor `d` (the window clipped to the padded input under `count_include_pad`,
    /// else its in-image part). Derivative: `1 / d` for each in-image input of the window.
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

    /// Adaptive average pooling of a `[N, C, H, W]` input to `[N, C, oh, ow]` (PyTorch's
    /// `adaptive_avg_pool2d`): output `(i, j)` is the mean over rows
    /// `floor(i H / oh) .. ceil((i + 1) H / oh)` and the columns likewise. Derivative:
    /// `1 / (window size)` for each input of the window. `[1, 1]` is global average pooling.
    ///
    /// # Panics
    /// If the input is not 4-d, has an empty plane, or an output size is 0.
    pub fn adaptive_avg_pool2d(&self, output_size: [usize; 2]) -> Var<'t, T> {
        let x = self.value();
        let geom =
            AdaptivePool2dGeometry::new(x.shape(), output_size).unwrap_or_else(|e| panic!("{e}"));
        let y = adaptive_avg_pool2d_forward(&geom, x.data());
        let value = Tensor::from_parts("adaptive_avg_pool2d", y, geom.output_shape().to_vec());
        self.record(value, PoolOp::AdaptiveAvg { x: self.id(), geom })
    }
}
