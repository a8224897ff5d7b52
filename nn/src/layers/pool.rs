//! `MaxPool2d` and `AvgPool2d` (PyTorch's, with `ceil_mode` and, for the average,
//! `count_include_pad`; plus ONNX-style asymmetric pads through [`Pool2dOptions::pads`]).

use std::fmt;

use smoothgrad_autograd::kernels::pool::Pool2dGeometry;
use smoothgrad_autograd::{Pool2dOptions, Scalar, Var};

use super::{pair, shape_error};
use crate::error::{NnError, Result};
use crate::module::{Context, Module};

/// Checks pooling options the way PyTorch does when the layer is built (each of the four pads
/// at most half its kernel size).
fn check_options(name: &str, o: &Pool2dOptions) -> Result<()> {
    let bad = o.kernel.contains(&0)
        || o.stride.contains(&0)
        || (0..4).any(|i| o.pads[i] * 2 > o.kernel[i % 2]);
    if bad {
        return Err(NnError::Config(format!(
            "{name}: invalid settings {o:?}: kernel and stride must be positive and padding at \
             most half the kernel"
        )));
    }
    Ok(())
}

/// Writes `name(kernel[,stride=s][,padding=p][,ceil_mode=True][,count_include_pad=False])`,
/// leaving out PyTorch's defaults (`count_include_pad` only for the average pool, `avg`).
/// Asymmetric pads, which PyTorch's layers cannot express, are written `pads=(t,l,b,r)`: readable,
/// but outside the spec language.
fn write_spec(f: &mut fmt::Formatter<'_>, name: &str, o: &Pool2dOptions, avg: bool) -> fmt::Result {
    write!(f, "{name}({}", pair(o.kernel))?;
    if o.stride != o.kernel {
        write!(f, ",stride={}", pair(o.stride))?;
    }
    match o.symmetric_padding() {
        Some([0, 0]) => {}
        Some(p) => write!(f, ",padding={}", pair(p))?,
        None => {
            let [t, l, b, r] = o.pads;
            write!(f, ",pads=({t},{l},{b},{r})")?;
        }
    }
    if o.ceil_mode {
        write!(f, ",ceil_mode=True")?;
    }
    if avg && !o.count_include_pad {
        write!(f, ",count_include_pad=False")?;
    }
    write!(f, ")")
}

macro_rules! pool_layer {
    ($(#[$doc:meta])* $name:ident, $spec:literal, $method:ident, $avg:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            /// Kernel, stride (PyTorch's default: the kernel), padding and `ceil_mode` (and for the
            /// average pool `count_include_pad`).
            pub options: Pool2dOptions,
        }

        impl $name {
            /// A layer with these options.
            ///
            /// # Errors
            /// [`NnError::Config`] for a zero size or a pad over half the kernel.
            pub fn new(options: Pool2dOptions) -> Result<Self> {
                check_options($spec, &options)?;
                Ok($name { options })
            }
        }

        impl<T: Scalar> Module<T> for $name {
            fn spec(&self) -> Option<String> {
                Some(self.to_string())
            }

            fn forward<'t>(&self, x: Var<'t, T>, _cx: &mut Context<'t, T>) -> Var<'t, T> {
                x.$method(self.options)
            }

            fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
                Pool2dGeometry::new(input, self.options)
                    .map(|g| g.output_shape().to_vec())
                    .map_err(|e| shape_error(self, e.trim_start_matches("pool2d: ").to_string()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_spec(f, $spec, &self.options, $avg)
            }
        }
    };
}

pool_layer!(
    /// Max over each window. Spec:
    /// `maxpool2d(kernel_size, stride=kernel_size, padding=0, ceil_mode=False)`.
    MaxPool2d, "maxpool2d", max_pool2d, false
);
pool_layer!(
    /// Mean over each window. Spec: `avgpool2d(kernel_size, stride=kernel_size, padding=0,
    /// ceil_mode=False, count_include_pad=True)`.
    AvgPool2d, "avgpool2d", avg_pool2d, true
);
