//! torchvision's classification architectures written with [`crate::GraphBuilder`], with
//! torchvision's own `state_dict` names, so `model.state_dict()` of the PyTorch model loads
//! unchanged ([`crate::weights::load_into`]).
//!
//! - [`resnet`]: ResNet-18/34/50/101/152, ResNeXt and Wide ResNet (BasicBlock and Bottleneck).
//! - [`mobilenet_v3`]: MobileNetV3 small and large, with any width multiplier.
//! - [`efficientnet`]: EfficientNet B0 to B7.
//! - [`vit`]: the Vision Transformer (`vit_b_16` and smaller ones).
//!
//! Each takes a configuration with torchvision's defaults and a random stream for the initial
//! weights (PyTorch's default initialisation; real weights come from a file). Widths and depths
//! are free, so a test can build a reduced model whose keys are still torchvision's.
//!
//! ```
//! use smoothgrad_nn::models::resnet::{resnet, ResNetConfig};
//! use smoothgrad_nn::Module;
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let config = ResNetConfig { widths: [8, 16, 32, 64], stem: 8, ..ResNetConfig::resnet18(10) };
//! let model = resnet::<f32>(&config, &mut rng).unwrap();
//! assert_eq!(model.output_shape(&[2, 3, 32, 32]).unwrap(), vec![2, 10]);
//! let keys: Vec<String> = model.state_dict().into_iter().map(|(k, ..)| k).collect();
//! assert_eq!(keys[..2], ["conv1.weight".to_string(), "bn1.weight".to_string()]);
//! assert!(keys.contains(&"layer2.0.downsample.0.weight".to_string()));
//! ```

pub mod efficientnet;
pub mod mobilenet_v3;
pub mod resnet;
pub mod vit;

use rand::Rng;
use smoothgrad_autograd::{Conv2dOptions, Scalar};

use crate::error::Result;
use crate::graph::{GraphBuilder, ValueId};
use crate::layers::{BatchNorm2d, Conv2d, Hardsigmoid, Hardswish, ReLU, SiLU, Sigmoid};
use crate::module::Module;

/// The activation after a convolution and its normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// No activation (a projection).
    None,
    /// `ReLU`.
    Relu,
    /// `Hardswish` (MobileNetV3's "HS").
    Hardswish,
    /// `SiLU` (EfficientNet).
    Silu,
}

/// The gate of a squeeze-and-excitation stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    /// `Hardsigmoid` (MobileNetV3).
    Hardsigmoid,
    /// `Sigmoid` (EfficientNet).
    Sigmoid,
}

/// A builder with the random stream the layers draw their initial weights from.
pub(crate) struct Net<'r, T: Scalar, R: Rng> {
    pub(crate) g: GraphBuilder<T>,
    pub(crate) rng: &'r mut R,
}

impl<'r, T: Scalar, R: Rng> Net<'r, T, R> {
    pub(crate) fn new(rng: &'r mut R) -> Self {
        Net {
            g: GraphBuilder::new(),
            rng,
        }
    }

    /// A module node.
    pub(crate) fn m(
        &mut self,
        name: &str,
        module: impl Module<T> + 'static,
        x: ValueId,
    ) -> ValueId {
        self.g.module(name, module, x)
    }

    /// A `cin -> cout` convolution with a `k x k` kernel, "same" padding `(k - 1) / 2`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn conv(
        &mut self,
        name: &str,
        x: ValueId,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        groups: usize,
        bias: bool,
    ) -> Result<ValueId> {
        let options = Conv2dOptions {
            stride: [stride, stride],
            padding: [(k - 1) / 2, (k - 1) / 2],
            dilation: [1, 1],
            groups,
        };
        let conv = Conv2d::new(cin, cout, [k, k], options, bias, self.rng)?;
        Ok(self.m(name, conv, x))
    }

    /// `BatchNorm2d(c, eps)` under `name`.
    pub(crate) fn bn(&mut self, name: &str, x: ValueId, c: usize, eps: f64) -> Result<ValueId> {
        Ok(self.m(name, BatchNorm2d::new(c, eps, 0.1, true)?, x))
    }

    /// An activation node named `name` (it holds no state).
    pub(crate) fn act(&mut self, name: &str, x: ValueId, act: Activation) -> ValueId {
        match act {
            Activation::None => x,
            Activation::Relu => self.m(name, ReLU, x),
            Activation::Hardswish => self.m(name, Hardswish, x),
            Activation::Silu => self.m(name, SiLU, x),
        }
    }

    /// torchvision's `Conv2dNormActivation`: `name.0` a bias-free convolution, `name.1` its
    /// BatchNorm, `name.2` the activation.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn conv_bn_act(
        &mut self,
        name: &str,
        x: ValueId,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        groups: usize,
        eps: f64,
        act: Activation,
    ) -> Result<ValueId> {
        let h = self.conv(&format!("{name}.0"), x, cin, cout, k, stride, groups, false)?;
        let h = self.bn(&format!("{name}.1"), h, cout, eps)?;
        Ok(self.act(&format!("{name}.2"), h, act))
    }

    /// torchvision's `SqueezeExcitation(c, squeeze, activation, scale_activation)` under `name`:
    /// global average pooling, `fc1` (a 1x1 convolution with bias), `act`, `fc2`, then `gate`,
    /// and the input scaled by it.
    pub(crate) fn squeeze_excitation(
        &mut self,
        name: &str,
        x: ValueId,
        (c, squeeze): (usize, usize),
        act: Activation,
        gate: Gate,
    ) -> Result<ValueId> {
        let pooled = self.g.op(
            &format!("{name}.avgpool"),
            crate::graph::TensorOp::Mean {
                axes: vec![2, 3],
                keepdim: true,
            },
            &[x],
        );
        let h = self.conv(&format!("{name}.fc1"), pooled, c, squeeze, 1, 1, 1, true)?;
        let h = self.act(&format!("{name}.activation"), h, act);
        let h = self.conv(&format!("{name}.fc2"), h, squeeze, c, 1, 1, 1, true)?;
        let scale = match gate {
            Gate::Hardsigmoid => self.m(&format!("{name}.scale_activation"), Hardsigmoid, h),
            Gate::Sigmoid => self.m(&format!("{name}.scale_activation"), Sigmoid, h),
        };
        Ok(self.g.op(
            &format!("{name}.mul"),
            crate::graph::TensorOp::Mul,
            &[scale, x],
        ))
    }
}

/// torchvision's `_make_divisible(v, 8)`: `v` rounded to the nearest multiple of `divisor` (at
/// least `divisor`), rounded up once more if that lost over 10% of `v`.
pub fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let mut new = (((v + d / 2.0) as usize) / divisor * divisor).max(divisor);
    if (new as f64) < 0.9 * v {
        new += divisor;
    }
    new
}
