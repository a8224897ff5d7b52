//! `Conv2d`: PyTorch's 2-D convolution layer (NCHW input, OIHW weight).

use std::fmt;

use rand::Rng;
use smoothgrad_autograd::kernels::conv::Conv2dGeometry;
use smoothgrad_autograd::{Conv2dOptions, Scalar, Tensor, Var};

use super::{pair, shape_error};
use crate::error::{NnError, Result};
use crate::init;
use crate::module::{Context, Module, StateKind};

/// A 2-D convolution: `y = conv2d(x, W) + b` with `W: [out, in / groups, kH, kW]`.
///
/// Spec: `conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
/// groups=1, bias=True)`; sizes are an integer or a pair `(h,w)`.
pub struct Conv2d<T: Scalar = f32> {
    /// The weight, `[out_channels, in_channels / groups, kH, kW]`.
    pub weight: Tensor<T>,
    /// The bias, `[out_channels]`, if any.
    pub bias: Option<Tensor<T>>,
    /// Stride, padding, dilation and groups.
    pub options: Conv2dOptions,
}

impl<T: Scalar> Conv2d<T> {
    /// A layer with PyTorch's default initialisation drawn from `rng`.
    ///
    /// # Errors
    /// [`NnError::Config`] if a size is 0 or the channels do not divide by `groups`.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: [usize; 2],
        options: Conv2dOptions,
        bias: bool,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let g = options.groups;
        let bad = in_channels == 0
            || out_channels == 0
            || kernel_size.contains(&0)
            || g == 0
            || !in_channels.is_multiple_of(g)
            || !out_channels.is_multiple_of(g)
            || options.stride.contains(&0)
            || options.dilation.contains(&0);
        if bad {
            return Err(NnError::Config(format!(
                "conv2d: invalid settings: in_channels {in_channels}, out_channels {out_channels}, \
                 kernel_size {kernel_size:?}, {options:?} (sizes, strides and dilations must be \
                 positive and both channel counts divisible by groups)"
            )));
        }
        let shape = [
            out_channels,
            in_channels / g,
            kernel_size[0],
            kernel_size[1],
        ];
        let fan_in = in_channels / g * kernel_size[0] * kernel_size[1];
        let weight = init::pytorch_default(&shape, fan_in, rng);
        let bias = bias.then(|| init::pytorch_default(&[out_channels], fan_in, rng));
        Ok(Conv2d {
            weight,
            bias,
            options,
        })
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.weight.shape()[1] * self.options.groups
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }

    /// `[kH, kW]`.
    pub fn kernel_size(&self) -> [usize; 2] {
        [self.weight.shape()[2], self.weight.shape()[3]]
    }
}

impl<T: Scalar> Module<T> for Conv2d<T> {
    fn spec(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        let w = cx.param("weight", &self.weight);
        let b = self.bias.as_ref().map(|b| cx.param("bias", b));
        x.conv2d(w, b, self.options)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Conv2dGeometry::new(input, self.weight.shape(), self.options)
            .map(|g| g.output_shape().to_vec())
            .map_err(|e| shape_error(self, e.trim_start_matches("conv2d: ").to_string()))
    }

    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {
        f("weight", StateKind::Parameter, &self.weight);
        if let Some(b) = &self.bias {
            f("bias", StateKind::Parameter, b);
        }
    }

    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {
        f("weight", StateKind::Parameter, &mut self.weight);
        if let Some(b) = &mut self.bias {
            f("bias", StateKind::Parameter, b);
        }
    }
}

impl<T: Scalar> fmt::Display for Conv2d<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        write!(
            f,
            "conv2d({},{},{}",
            self.in_channels(),
            self.out_channels(),
            pair(self.kernel_size())
        )?;
        if o.stride != [1, 1] {
            write!(f, ",stride={}", pair(o.stride))?;
        }
        if o.padding != [0, 0] {
            write!(f, ",padding={}", pair(o.padding))?;
        }
        if o.dilation != [1, 1] {
            write!(f, ",dilation={}", pair(o.dilation))?;
        }
        if o.groups != 1 {
            write!(f, ",groups={}", o.groups)?;
        }
        if self.bias.is_none() {
            write!(f, ",bias=False")?;
        }
        write!(f, ")")
    }
}
