//! MobileNetV3 (Howard et al. 2019) as torchvision builds it: `mobilenet_v3_small` and
//! `mobilenet_v3_large` with any width multiplier ([`MobileNetV3Config`]).
//!
//! ```text
//! features.0   Conv2dNormActivation(3 -> c0, 3x3 s2, Hardswish)
//! features.i   InvertedResidual: [expand 1x1] -> depthwise kxk (stride) -> [SE] -> project 1x1,
//!              + x when stride 1 and in == out
//! features.N   Conv2dNormActivation(c -> 6c, 1x1, Hardswish)
//! avgpool -> flatten -> classifier.0 (Linear) -> Hardswish -> Dropout -> classifier.3 (Linear)
//! ```
//!
//! Every BatchNorm has eps 0.001, as torchvision's `norm_layer` for this family.

use rand::Rng;
use smoothgrad_autograd::Scalar;

use super::{make_divisible, Activation, Gate, Net};
use crate::error::{NnError, Result};
use crate::graph::{Graph, TensorOp};
use crate::layers::{AdaptiveAvgPool2d, Dropout, Flatten, Hardswish, Linear};

/// BatchNorm's eps throughout MobileNetV3.
const EPS: f64 = 1e-3;

/// One inverted-residual block, in channels already multiplied by the width multiplier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvertedResidualConfig {
    /// Input channels.
    pub input: usize,
    /// Depthwise kernel size.
    pub kernel: usize,
    /// Expanded (depthwise) channels.
    pub expanded: usize,
    /// Output channels.
    pub out: usize,
    /// Whether the block has a squeeze-and-excitation stage.
    pub use_se: bool,
    /// Hardswish ("HS") or ReLU ("RE").
    pub activation: Activation,
    /// The depthwise convolution's stride.
    pub stride: usize,
}

/// A MobileNetV3's blocks and classifier width.
#[derive(Clone, Debug, PartialEq)]
pub struct MobileNetV3Config {
    /// The inverted-residual blocks, `features.1 ..`.
    pub blocks: Vec<InvertedResidualConfig>,
    /// Width of the classifier's hidden layer.
    pub last_channel: usize,
    /// The classes.
    pub num_classes: usize,
    /// Dropout before the last layer (0.2; the identity when explaining).
    pub dropout: f64,
}

type Row = (usize, usize, usize, usize, bool, bool, usize);

impl MobileNetV3Config {
    /// The table `(input, kernel, expanded, out, use_se, hardswish, stride)` with every width
    /// multiplied by `width_mult` and rounded as torchvision's `_make_divisible`.
    fn from_table(rows: &[Row], last: usize, width_mult: f64, num_classes: usize) -> Self {
        let adjust = |c: usize| make_divisible(c as f64 * width_mult, 8);
        let blocks = rows
            .iter()
            .map(|&(i, k, e, o, se, hs, s)| InvertedResidualConfig {
                input: adjust(i),
                kernel: k,
                expanded: adjust(e),
                out: adjust(o),
                use_se: se,
                activation: if hs {
                    Activation::Hardswish
                } else {
                    Activation::Relu
                },
                stride: s,
            })
            .collect();
        MobileNetV3Config {
            blocks,
            last_channel: adjust(last),
            num_classes,
            dropout: 0.2,
        }
    }

    /// torchvision's `mobilenet_v3_small(width_mult=...)`.
    pub fn small(width_mult: f64, num_classes: usize) -> Self {
        const ROWS: [Row; 11] = [
            (16, 3, 16, 16, true, false, 2),
            (16, 3, 72, 24, false, false, 2),
            (24, 3, 88, 24, false, false, 1),
            (24, 5, 96, 40, true, true, 2),
            (40, 5, 240, 40, true, true, 1),
            (40, 5, 240, 40, true, true, 1),
            (40, 5, 120, 48, true, true, 1),
            (48, 5, 144, 48, true, true, 1),
            (48, 5, 288, 96, true, true, 2),
            (96, 5, 576, 96, true, true, 1),
            (96, 5, 576, 96, true, true, 1),
        ];
        Self::from_table(&ROWS, 1024, width_mult, num_classes)
    }

    /// torchvision's `mobilenet_v3_large(width_mult=...)`.
    pub fn large(width_mult: f64, num_classes: usize) -> Self {
        const ROWS: [Row; 15] = [
            (16, 3, 16, 16, false, false, 1),
            (16, 3, 64, 24, false, false, 2),
            (24, 3, 72, 24, false, false, 1),
            (24, 5, 72, 40, true, false, 2),
            (40, 5, 120, 40, true, false, 1),
            (40, 5, 120, 40, true, false, 1),
            (40, 3, 240, 80, false, true, 2),
            (80, 3, 200, 80, false, true, 1),
            (80, 3, 184, 80, false, true, 1),
            (80, 3, 184, 80, false, true, 1),
            (80, 3, 480, 112, true, true, 1),
            (112, 3, 672, 112, true, true, 1),
            (112, 5, 672, 160, true, true, 2),
            (160, 5, 960, 160, true, true, 1),
            (160, 5, 960, 160, true, true, 1),
        ];
        Self::from_table(&ROWS, 1280, width_mult, num_classes)
    }
}

/// Builds the MobileNetV3 `config` describes, with PyTorch's default initialisation from `rng`.
///
/// # Errors
/// [`NnError::Config`] for an empty block list or a size of 0.
pub fn mobilenet_v3<T: Scalar>(config: &MobileNetV3Config, rng: &mut impl Rng) -> Result<Graph<T>> {
    let Some(first) = config.blocks.first() else {
        return Err(NnError::Config("mobilenet_v3: no blocks".into()));
    };
    let mut net = Net::new(rng);
    let x = net.g.input();
    let c0 = first.input;
    let mut h = net.conv_bn_act("features.0", x, 3, c0, 3, 2, 1, EPS, Activation::Hardswish)?;
    for (i, b) in config.blocks.iter().enumerate() {
        let name = format!("features.{}", i + 1);
        let input = h;
        let mut part = 0;
        let next = |part: &mut usize| {
            *part += 1;
            format!("{name}.block.{}", *part - 1)
        };
        if b.expanded != b.input {
            let n = next(&mut part);
            h = net.conv_bn_act(&n, h, b.input, b.expanded, 1, 1, 1, EPS, b.activation)?;
        }
        let n = next(&mut part);
        let (e, k, s) = (b.expanded, b.kernel, b.stride);
        h = net.conv_bn_act(&n, h, e, e, k, s, e, EPS, b.activation)?;
        if b.use_se {
            let n = next(&mut part);
            let squeeze = make_divisible((e / 4) as f64, 8);
            h = net.squeeze_excitation(&n, h, (e, squeeze), Activation::Relu, Gate::Hardsigmoid)?;
        }
        let n = next(&mut part);
        h = net.conv_bn_act(&n, h, e, b.out, 1, 1, 1, EPS, Activation::None)?;
        if b.stride == 1 && b.input == b.out {
            h = net.g.op(&format!("{name}.add"), TensorOp::Add, &[h, input]);
        }
    }
    let last = config.blocks.last().map_or(c0, |b| b.out);
    let n = config.blocks.len() + 1;
    let name = format!("features.{n}");
    h = net.conv_bn_act(
        &name,
        h,
        last,
        6 * last,
        1,
        1,
        1,
        EPS,
        Activation::Hardswish,
    )?;
    let h = net.m("avgpool", AdaptiveAvgPool2d::new([1, 1])?, h);
    let h = net.m("flatten", Flatten::default(), h);
    let fc = Linear::new(6 * last, config.last_channel, true, net.rng);
    let h = net.m("classifier.0", fc, h);
    let h = net.m("classifier.1", Hardswish, h);
    let h = net.m("classifier.2", Dropout::new(config.dropout)?, h);
    let fc = Linear::new(config.last_channel, config.num_classes, true, net.rng);
    let y = net.m("classifier.3", fc, h);
    net.g.finish(y)
}
