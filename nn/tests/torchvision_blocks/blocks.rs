//! The blocks, written with `GraphBuilder` under torchvision's module names.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::{Conv2dOptions, Scalar, Tensor};
use smoothgrad_nn::{
    AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Graph, GraphBuilder, Hardsigmoid, LayerNorm, Linear,
    MultiheadAttention, ReLU, TensorOp, GELU,
};

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(0)
}

/// A `k x k` convolution; its weights are placeholders until the fixture is loaded.
pub fn conv<T: Scalar>(
    cin: usize,
    cout: usize,
    k: usize,
    options: Conv2dOptions,
    bias: bool,
) -> Conv2d<T> {
    Conv2d::new(cin, cout, [k, k], options, bias, &mut rng()).unwrap()
}

pub fn bn<T: Scalar>(c: usize) -> BatchNorm2d<T> {
    BatchNorm2d::new(c, 1e-5, 0.1, true).unwrap()
}

/// `torchvision.models.resnet.BasicBlock(cin, cout, stride)`, with the `downsample`
/// (1x1 conv, BN) that `ResNet._make_layer` adds when the shape changes.
pub fn basic_block<T: Scalar>(cin: usize, cout: usize, stride: usize) -> Graph<T> {
    let s3 = Conv2dOptions::default().stride(stride).padding(1);
    let mut g = GraphBuilder::new();
    let x = g.input();
    let h = g.module("conv1", conv(cin, cout, 3, s3, false), x);
    let h = g.module("bn1", bn(cout), h);
    let h = g.module("relu", ReLU, h);
    let h = g.module(
        "conv2",
        conv(cout, cout, 3, Conv2dOptions::default().padding(1), false),
        h,
    );
    let h = g.module("bn2", bn(cout), h);
    let identity = if stride != 1 || cin != cout {
        let s1 = Conv2dOptions::default().stride(stride);
        let d = g.module("downsample.0", conv(cin, cout, 1, s1, false), x);
        g.module("downsample.1", bn(cout), d)
    } else {
        x
    };
    let s = g.add("add", h, identity);
    let y = g.module("relu_out", ReLU, s);
    g.finish(y).unwrap()
}

/// `torchvision.models.densenet._DenseBlock(layers, cin, bn_size, growth_rate)`, eval mode.
pub fn dense_block<T: Scalar>(
    cin: usize,
    layers: usize,
    bn_size: usize,
    growth: usize,
) -> Graph<T> {
    let mut g = GraphBuilder::new();
    let x = g.input();
    let mut features = vec![x];
    for i in 1..=layers {
        let p = format!("denselayer{i}");
        let c = cin + (i - 1) * growth;
        let h = if features.len() == 1 {
            x
        } else {
            g.op(&format!("{p}.cat"), TensorOp::Concat { axis: 1 }, &features)
        };
        let h = g.module(&format!("{p}.norm1"), bn(c), h);
        let h = g.module(&format!("{p}.relu1"), ReLU, h);
        let wide = bn_size * growth;
        let h = g.module(
            &format!("{p}.conv1"),
            conv(c, wide, 1, Conv2dOptions::default(), false),
            h,
        );
        let h = g.module(&format!("{p}.norm2"), bn(wide), h);
        let h = g.module(&format!("{p}.relu2"), ReLU, h);
        let same = Conv2dOptions::default().padding(1);
        let new = g.module(&format!("{p}.conv2"), conv(wide, growth, 3, same, false), h);
        features.push(new);
    }
    let y = g.op("cat", TensorOp::Concat { axis: 1 }, &features);
    g.finish(y).unwrap()
}

/// `torchvision.ops.SqueezeExcitation(c, squeeze, scale_activation=nn.Hardsigmoid)`.
pub fn se_block<T: Scalar>(c: usize, squeeze: usize) -> Graph<T> {
    let one = Conv2dOptions::default();
    let mut g = GraphBuilder::new();
    let x = g.input();
    let s = g.module("avgpool", AdaptiveAvgPool2d::new([1, 1]).unwrap(), x);
    let s = g.module("fc1", conv(c, squeeze, 1, one, true), s);
    let s = g.module("activation", ReLU, s);
    let s = g.module("fc2", conv(squeeze, c, 1, one, true), s);
    let s = g.module("scale_activation", Hardsigmoid, s);
    let y = g.op("scale", TensorOp::Mul, &[s, x]);
    g.finish(y).unwrap()
}

/// `torchvision.models.vision_transformer.EncoderBlock(heads, hidden, mlp_dim, 0, 0)`.
pub fn vit_encoder_block<T: Scalar>(hidden: usize, heads: usize, mlp_dim: usize) -> Graph<T> {
    let ln = || LayerNorm::new(&[hidden], 1e-6, true, true).unwrap();
    let mut g = GraphBuilder::new();
    let x = g.input();
    let h = g.module("ln_1", ln(), x);
    let attention = MultiheadAttention::new(hidden, heads, true, true, &mut rng()).unwrap();
    let a = g.module("self_attention", attention, h);
    let x1 = g.add("add_1", a, x);
    let y = g.module("ln_2", ln(), x1);
    let y = g.module("mlp.0", Linear::new(hidden, mlp_dim, true, &mut rng()), y);
    let y = g.module("mlp.1", GELU::default(), y);
    let y = g.module("mlp.3", Linear::new(mlp_dim, hidden, true, &mut rng()), y);
    let out = g.add("add_2", x1, y);
    g.finish(out).unwrap()
}

/// `torchvision.models.convnext.CNBlock(dim, layer_scale, 0.0)`, eval mode: the bare
/// `layer_scale` parameter is a parameter node.
pub fn convnext_block<T: Scalar>(dim: usize) -> Graph<T> {
    let depthwise = Conv2dOptions::default().padding(3).groups(dim);
    let mut g = GraphBuilder::new();
    let x = g.input();
    let scale = g.param(
        "layer_scale",
        Tensor::full(&[dim, 1, 1], T::from_f64_lossy(1e-6)),
    );
    let h = g.module("block.0", conv(dim, dim, 7, depthwise, true), x);
    let h = g.op(
        "block.1",
        TensorOp::Permute {
            perm: vec![0, 2, 3, 1],
        },
        &[h],
    );
    let h = g.module(
        "block.2",
        LayerNorm::new(&[dim], 1e-6, true, true).unwrap(),
        h,
    );
    let h = g.module("block.3", Linear::new(dim, 4 * dim, true, &mut rng()), h);
    let h = g.module("block.4", GELU::default(), h);
    let h = g.module("block.5", Linear::new(4 * dim, dim, true, &mut rng()), h);
    let h = g.op(
        "block.6",
        TensorOp::Permute {
            perm: vec![0, 3, 1, 2],
        },
        &[h],
    );
    let h = g.op("scale", TensorOp::Mul, &[scale, h]);
    let y = g.add("add", h, x);
    g.finish(y).unwrap()
}
