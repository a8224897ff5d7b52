//! ResNet (He et al. 2016) as torchvision builds it: `resnet18` ... `resnet152`,
//! `resnext50_32x4d` and `wide_resnet50_2` are [`ResNetConfig`]s.
//!
//! ```text
//! conv1 (7x7 s2 p3) -> bn1 -> relu -> maxpool (3x3 s2 p1) -> layer1..layer4 -> avgpool -> fc
//! BasicBlock:  relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x))
//! Bottleneck:  relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + downsample(x))
//! ```
//!
//! The stride of a stage sits on its first block's 3x3 convolution (`conv1` in a BasicBlock,
//! `conv2` in a Bottleneck, as torchvision's "ResNet V1.5") and on its `downsample` (a 1x1
//! convolution and a BatchNorm), which exists when the stride or the width changes.

use rand::Rng;
use smoothgrad_autograd::{Pool2dOptions, Scalar};

use super::{Activation, Net};
use crate::error::{NnError, Result};
use crate::graph::{Graph, TensorOp, ValueId};
use crate::layers::{AdaptiveAvgPool2d, Flatten, Linear, MaxPool2d};

/// The residual block of a ResNet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// Two 3x3 convolutions (ResNet-18 and -34); expansion 1.
    Basic,
    /// 1x1, 3x3 (grouped for ResNeXt), 1x1 convolutions (ResNet-50 and up); expansion 4.
    Bottleneck,
}

impl Block {
    /// How many times wider a block's output is than its `planes`.
    pub fn expansion(self) -> usize {
        match self {
            Block::Basic => 1,
            Block::Bottleneck => 4,
        }
    }
}

/// A ResNet's shape. The named constructors give torchvision's models; the fields can be changed
/// (for example every width divided by 8, for a small test model with torchvision's keys).
#[derive(Clone, Debug, PartialEq)]
pub struct ResNetConfig {
    /// The residual block.
    pub block: Block,
    /// Blocks per stage (`[2, 2, 2, 2]` for ResNet-18).
    pub layers: [usize; 4],
    /// `planes` per stage (`[64, 128, 256, 512]`); a stage outputs `planes * expansion` channels.
    pub widths: [usize; 4],
    /// Output channels of the 7x7 stem (64).
    pub stem: usize,
    /// Groups of the 3x3 convolution of a Bottleneck (ResNeXt's cardinality; 1).
    pub groups: usize,
    /// Width of each group of a Bottleneck (64; 128 for Wide ResNet, 4 for ResNeXt-50 32x4d).
    pub width_per_group: usize,
    /// The classes of the final `fc` layer.
    pub num_classes: usize,
}

impl ResNetConfig {
    fn new(block: Block, layers: [usize; 4], num_classes: usize) -> Self {
        ResNetConfig {
            block,
            layers,
            widths: [64, 128, 256, 512],
            stem: 64,
            groups: 1,
            width_per_group: 64,
            num_classes,
        }
    }

    /// torchvision's `resnet18`.
    pub fn resnet18(num_classes: usize) -> Self {
        Self::new(Block::Basic, [2, 2, 2, 2], num_classes)
    }

    /// torchvision's `resnet34`.
    pub fn resnet34(num_classes: usize) -> Self {
        Self::new(Block::Basic, [3, 4, 6, 3], num_classes)
    }

    /// torchvision's `resnet50`.
    pub fn resnet50(num_classes: usize) -> Self {
        Self::new(Block::Bottleneck, [3, 4, 6, 3], num_classes)
    }

    /// torchvision's `resnet101`.
    pub fn resnet101(num_classes: usize) -> Self {
        Self::new(Block::Bottleneck, [3, 4, 23, 3], num_classes)
    }

    /// torchvision's `resnet152`.
    pub fn resnet152(num_classes: usize) -> Self {
        Self::new(Block::Bottleneck, [3, 8, 36, 3], num_classes)
    }

    /// torchvision's `resnext50_32x4d`.
    pub fn resnext50_32x4d(num_classes: usize) -> Self {
        ResNetConfig {
            groups: 32,
            width_per_group: 4,
            ..Self::resnet50(num_classes)
        }
    }

    /// torchvision's `wide_resnet50_2`.
    pub fn wide_resnet50_2(num_classes: usize) -> Self {
        ResNetConfig {
            width_per_group: 128,
            ..Self::resnet50(num_classes)
        }
    }
}

/// Builds the ResNet `config` describes, with PyTorch's default initialisation from `rng`.
///
/// # Errors
/// [`NnError::Config`] for a size of 0 or groups that do not divide the widths.
pub fn resnet<T: Scalar>(config: &ResNetConfig, rng: &mut impl Rng) -> Result<Graph<T>> {
    if config.layers.contains(&0) || config.widths.contains(&0) || config.stem == 0 {
        return Err(NnError::Config(format!(
            "resnet: every stage needs at least one block and a positive width, found layers \
             {:?}, widths {:?}, stem {}",
            config.layers, config.widths, config.stem
        )));
    }
    let mut net = Net::new(rng);
    let x = net.g.input();
    let h = net.conv("conv1", x, 3, config.stem, 7, 2, 1, false)?;
    let h = net.bn("bn1", h, config.stem, 1e-5)?;
    let h = net.act("relu", h, Activation::Relu);
    let pool = MaxPool2d::new(Pool2dOptions::new(3).stride(2).padding(1))?;
    let mut h = net.m("maxpool", pool, h);
    let mut channels = config.stem;
    for (stage, (&blocks, &planes)) in config.layers.iter().zip(&config.widths).enumerate() {
        for i in 0..blocks {
            let stride = if stage > 0 && i == 0 { 2 } else { 1 };
            let name = format!("layer{}.{i}", stage + 1);
            h = block(&mut net, config, &name, h, channels, planes, stride)?;
            channels = planes * config.block.expansion();
        }
    }
    let h = net.m("avgpool", AdaptiveAvgPool2d::new([1, 1])?, h);
    let h = net.m("flatten", Flatten::default(), h);
    let fc = Linear::new(channels, config.num_classes, true, net.rng);
    let y = net.m("fc", fc, h);
    net.g.finish(y)
}

/// One residual block `name` from `cin` channels, with `planes` and `stride`.
fn block<T: Scalar, R: Rng>(
    net: &mut Net<'_, T, R>,
    config: &ResNetConfig,
    name: &str,
    x: ValueId,
    cin: usize,
    planes: usize,
    stride: usize,
) -> Result<ValueId> {
    let cout = planes * config.block.expansion();
    let body = match config.block {
        Block::Basic => {
            let h = net.conv(
                &format!("{name}.conv1"),
                x,
                cin,
                planes,
                3,
                stride,
                1,
                false,
            )?;
            let h = net.bn(&format!("{name}.bn1"), h, planes, 1e-5)?;
            let h = net.act(&format!("{name}.relu1"), h, Activation::Relu);
            let h = net.conv(&format!("{name}.conv2"), h, planes, planes, 3, 1, 1, false)?;
            net.bn(&format!("{name}.bn2"), h, planes, 1e-5)?
        }
        Block::Bottleneck => {
            let width = planes * config.width_per_group / 64 * config.groups;
            let g = config.groups;
            let h = net.conv(&format!("{name}.conv1"), x, cin, width, 1, 1, 1, false)?;
            let h = net.bn(&format!("{name}.bn1"), h, width, 1e-5)?;
            let h = net.act(&format!("{name}.relu1"), h, Activation::Relu);
            let h = net.conv(
                &format!("{name}.conv2"),
                h,
                width,
                width,
                3,
                stride,
                g,
                false,
            )?;
            let h = net.bn(&format!("{name}.bn2"), h, width, 1e-5)?;
            let h = net.act(&format!("{name}.relu2"), h, Activation::Relu);
            let h = net.conv(&format!("{name}.conv3"), h, width, cout, 1, 1, 1, false)?;
            net.bn(&format!("{name}.bn3"), h, cout, 1e-5)?
        }
    };
    let shortcut = if stride != 1 || cin != cout {
        let d = net.conv(
            &format!("{name}.downsample.0"),
            x,
            cin,
            cout,
            1,
            stride,
            1,
            false,
        )?;
        net.bn(&format!("{name}.downsample.1"), d, cout, 1e-5)?
    } else {
        x
    };
    let sum = net
        .g
        .op(&format!("{name}.add"), TensorOp::Add, &[body, shortcut]);
    Ok(net.act(&format!("{name}.relu"), sum, Activation::Relu))
}
