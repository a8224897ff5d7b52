//! EfficientNet (Tan & Le 2019) B0 to B7 as torchvision builds them ([`EfficientNetConfig`]).
//!
//! ```text
//! features.0   Conv2dNormActivation(3 -> c0, 3x3 s2, SiLU)
//! features.s.j MBConv: [expand 1x1] -> depthwise kxk (stride) -> SE (SiLU, Sigmoid) -> project 1x1,
//!              + x when stride 1 and in == out (stochastic depth: the identity when explaining)
//! features.8   Conv2dNormActivation(c -> 4c, 1x1, SiLU)
//! avgpool -> flatten -> classifier.0 (Dropout) -> classifier.1 (Linear)
//! ```
//!
//! BatchNorm eps is 1e-5 (torchvision's default for B0-B7).

use rand::Rng;
use smoothgrad_autograd::Scalar;

use super::{make_divisible, Activation, Gate, Net};
use crate::error::{NnError, Result};
use crate::graph::{Graph, TensorOp};
use crate::layers::{AdaptiveAvgPool2d, Dropout, Flatten, Linear};

const EPS: f64 = 1e-5;

/// One stage of MBConv blocks, before the width and depth multipliers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageConfig {
    /// Expansion of the block's input channels.
    pub expand_ratio: usize,
    /// Depthwise kernel size.
    pub kernel: usize,
    /// Stride of the stage's first block.
    pub stride: usize,
    /// Input channels of the stage.
    pub input: usize,
    /// Output channels.
    pub out: usize,
    /// Blocks.
    pub layers: usize,
}

/// An EfficientNet: the B0 stage table and the multipliers of a variant.
#[derive(Clone, Debug, PartialEq)]
pub struct EfficientNetConfig {
    /// The stages, before the multipliers.
    pub stages: Vec<StageConfig>,
    /// Multiplies every width (rounded as torchvision's `_make_divisible(c * w, 8)`).
    pub width_mult: f64,
    /// Multiplies every stage's block count (rounded up).
    pub depth_mult: f64,
    /// Dropout before the classifier (the identity when explaining).
    pub dropout: f64,
    /// The classes.
    pub num_classes: usize,
}

impl EfficientNetConfig {
    /// EfficientNet-B0's stage table with the given multipliers (B0: 1.0, 1.0; B1: 1.0, 1.1;
    /// B2: 1.1, 1.2; B3: 1.2, 1.4; ...) and dropout.
    pub fn new(width_mult: f64, depth_mult: f64, dropout: f64, num_classes: usize) -> Self {
        let s = |expand_ratio, kernel, stride, input, out, layers| StageConfig {
            expand_ratio,
            kernel,
            stride,
            input,
            out,
            layers,
        };
        EfficientNetConfig {
            stages: vec![
                s(1, 3, 1, 32, 16, 1),
                s(6, 3, 2, 16, 24, 2),
                s(6, 5, 2, 24, 40, 2),
                s(6, 3, 2, 40, 80, 3),
                s(6, 5, 1, 80, 112, 3),
                s(6, 5, 2, 112, 192, 4),
                s(6, 3, 1, 192, 320, 1),
            ],
            width_mult,
            depth_mult,
            dropout,
            num_classes,
        }
    }

    /// torchvision's `efficientnet_b0`.
    pub fn b0(num_classes: usize) -> Self {
        Self::new(1.0, 1.0, 0.2, num_classes)
    }
}

/// Builds the EfficientNet `config` describes, with PyTorch's default initialisation from `rng`.
///
/// # Errors
/// [`NnError::Config`] for an empty stage list or a size of 0.
pub fn efficientnet<T: Scalar>(
    config: &EfficientNetConfig,
    rng: &mut impl Rng,
) -> Result<Graph<T>> {
    let Some(first) = config.stages.first() else {
        return Err(NnError::Config("efficientnet: no stages".into()));
    };
    let adjust = |c: usize| make_divisible(c as f64 * config.width_mult, 8);
    let mut net = Net::new(rng);
    let x = net.g.input();
    let c0 = adjust(first.input);
    let silu = Activation::Silu;
    let mut h = net.conv_bn_act("features.0", x, 3, c0, 3, 2, 1, EPS, silu)?;
    let mut channels = c0;
    for (s, stage) in config.stages.iter().enumerate() {
        let blocks = (stage.layers as f64 * config.depth_mult).ceil() as usize;
        let out = adjust(stage.out);
        for j in 0..blocks {
            let (cin, stride) = if j == 0 {
                (adjust(stage.input), stage.stride)
            } else {
                (out, 1)
            };
            if cin != channels {
                return Err(NnError::Config(format!(
                    "efficientnet: stage {s} takes {cin} channels, the previous gives {channels}"
                )));
            }
            let name = format!("features.{}.{j}", s + 1);
            let input = h;
            let mut part = 0;
            let mut next = || {
                part += 1;
                format!("{name}.block.{}", part - 1)
            };
            let e = make_divisible((cin * stage.expand_ratio) as f64, 8);
            if e != cin {
                h = net.conv_bn_act(&next(), h, cin, e, 1, 1, 1, EPS, silu)?;
            }
            h = net.conv_bn_act(&next(), h, e, e, stage.kernel, stride, e, EPS, silu)?;
            let squeeze = (cin / 4).max(1);
            h = net.squeeze_excitation(&next(), h, (e, squeeze), silu, Gate::Sigmoid)?;
            h = net.conv_bn_act(&next(), h, e, out, 1, 1, 1, EPS, Activation::None)?;
            if stride == 1 && cin == out {
                h = net.g.op(&format!("{name}.add"), TensorOp::Add, &[h, input]);
            }
            channels = out;
        }
    }
    let name = format!("features.{}", config.stages.len() + 1);
    let last = 4 * channels;
    h = net.conv_bn_act(&name, h, channels, last, 1, 1, 1, EPS, silu)?;
    let h = net.m("avgpool", AdaptiveAvgPool2d::new([1, 1])?, h);
    let h = net.m("flatten", Flatten::default(), h);
    let h = net.m("classifier.0", Dropout::new(config.dropout)?, h);
    let fc = Linear::new(last, config.num_classes, true, net.rng);
    let y = net.m("classifier.1", fc, h);
    net.g.finish(y)
}
