//! `AdaptiveAvgPool2d`: average pooling to a fixed output size whatever the input's (PyTorch's;
//! `AdaptiveAvgPool2d(1)` is the global average pooling of ResNet, MobileNet and EfficientNet).

use std::fmt;

use smoothgrad_autograd::kernels::pool::adaptive::AdaptivePool2dGeometry;
use smoothgrad_autograd::{Scalar, Var};

use super::{pair, shape_error};
use crate::error::{NnError, Result};
use crate::module::{Context, Module};

/// Adaptive average pooling of `[N, C, H, W]` to `[N, C, oh, ow]`: output `(i, j)` is the mean
/// over rows `floor(i H / oh) .. ceil((i + 1) H / oh)` and the columns likewise. Spec:
/// `adaptiveavgpool2d(output_size)`, e.g. `adaptiveavgpool2d(1)` or `adaptiveavgpool2d((7,7))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d {
    /// `[oh, ow]`.
    pub output_size: [usize; 2],
}

impl AdaptiveAvgPool2d {
    /// A layer pooling to `output_size`.
    ///
    /// # Errors
    /// [`NnError::Config`] if a size is 0.
    pub fn new(output_size: [usize; 2]) -> Result<Self> {
        if output_size.contains(&0) {
            return Err(NnError::Config(format!(
                "adaptiveavgpool2d: the output size must be positive, found {output_size:?}"
            )));
        }
        Ok(AdaptiveAvgPool2d { output_size })
    }
}

impl<T: Scalar> Module<T> for AdaptiveAvgPool2d {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, _cx: &mut Context<'t, T>) -> Var<'t, T> {
        x.adaptive_avg_pool2d(self.output_size)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        AdaptivePool2dGeometry::new(input, self.output_size)
            .map(|g| g.output_shape().to_vec())
            .map_err(|e| {
                let message = e.trim_start_matches("adaptive_avg_pool2d: ").to_string();
                shape_error(self, message)
            })
    }
}

impl fmt::Display for AdaptiveAvgPool2d {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "adaptiveavgpool2d({})", pair(self.output_size))
    }
}
