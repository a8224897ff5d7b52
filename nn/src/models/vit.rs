//! The Vision Transformer (Dosovitskiy et al. 2021) as torchvision builds it
//! ([`VitConfig::vit_b_16`] and smaller ones).
//!
//! ```text
//! conv_proj (p x p, stride p) -> [N, E, h*w] -> [N, h*w, E] -> [class_token; patches]
//!   + encoder.pos_embedding -> encoder.layers.encoder_layer_i -> encoder.ln -> token 0 -> heads.head
//! EncoderBlock:  x = x + self_attention(ln_1(x));  x + mlp(ln_2(x))   (mlp: Linear, GELU, Linear)
//! ```

use rand::Rng;
use smoothgrad_autograd::{Conv2dOptions, Scalar};

use super::Net;
use crate::error::{NnError, Result};
use crate::graph::{Graph, TensorOp, ValueId};
use crate::init;
use crate::layers::{Conv2d, LayerNorm, Linear, MultiheadAttention, GELU};

/// LayerNorm's eps in torchvision's ViT.
const EPS: f64 = 1e-6;

/// A Vision Transformer's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VitConfig {
    /// Input height and width (square).
    pub image_size: usize,
    /// Patch height and width.
    pub patch_size: usize,
    /// Encoder blocks.
    pub num_layers: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Token width `E`.
    pub hidden_dim: usize,
    /// Width of each block's MLP.
    pub mlp_dim: usize,
    /// The classes.
    pub num_classes: usize,
}

impl VitConfig {
    /// torchvision's `vit_b_16` (224x224 input, 16x16 patches, 12 layers, 12 heads, E = 768).
    pub fn vit_b_16(num_classes: usize) -> Self {
        VitConfig {
            image_size: 224,
            patch_size: 16,
            num_layers: 12,
            num_heads: 12,
            hidden_dim: 768,
            mlp_dim: 3072,
            num_classes,
        }
    }
}

/// Builds the Vision Transformer `config` describes, with PyTorch's default initialisation from
/// `rng` (the class token and position embedding drawn from N(0, 0.02^2)).
///
/// # Errors
/// [`NnError::Config`] if the image size is not a multiple of the patch size, or a size is 0.
pub fn vit<T: Scalar>(config: &VitConfig, rng: &mut impl Rng) -> Result<Graph<T>> {
    let c = *config;
    if c.patch_size == 0 || c.image_size == 0 || !c.image_size.is_multiple_of(c.patch_size) {
        return Err(NnError::Config(format!(
            "vit: image size {} must be a positive multiple of the patch size {}",
            c.image_size, c.patch_size
        )));
    }
    let e = c.hidden_dim;
    let patches = (c.image_size / c.patch_size).pow(2);
    let mut net = Net::new(rng);
    let x = net.g.input();
    let options = Conv2dOptions::default().stride(c.patch_size);
    let conv = Conv2d::new(3, e, [c.patch_size, c.patch_size], options, true, net.rng)?;
    let h = net.m("conv_proj", conv, x);
    let h = net.g.op(
        "reshape",
        TensorOp::Reshape {
            dims: vec![e as isize, patches as isize],
        },
        &[h],
    );
    let h = net.g.op(
        "permute",
        TensorOp::Permute {
            perm: vec![0, 2, 1],
        },
        &[h],
    );
    let token = init::normal(&[1, 1, e], 0.02, net.rng);
    let token = net.g.param("class_token", token);
    let token = net.g.op("expand", TensorOp::ExpandBatch, &[token, h]);
    let h = net.g.op("cat", TensorOp::Concat { axis: 1 }, &[token, h]);
    let pos = init::normal(&[1, patches + 1, e], 0.02, net.rng);
    let pos = net.g.param("encoder.pos_embedding", pos);
    let mut h = net.g.op("encoder.add_pos", TensorOp::Add, &[h, pos]);
    for i in 0..c.num_layers {
        h = encoder_block(
            &mut net,
            &c,
            &format!("encoder.layers.encoder_layer_{i}"),
            h,
        )?;
    }
    let h = net.m("encoder.ln", LayerNorm::new(&[e], EPS, true, true)?, h);
    let h = net.g.op(
        "class_token_out",
        TensorOp::Narrow {
            axis: 1,
            start: 0,
            len: 1,
        },
        &[h],
    );
    let h = net.g.op("flatten", TensorOp::Flatten { start: 1 }, &[h]);
    let head = Linear::new(e, c.num_classes, true, net.rng);
    let y = net.m("heads.head", head, h);
    net.g.finish(y)
}

/// torchvision's `EncoderBlock` under `name`.
fn encoder_block<T: Scalar, R: Rng>(
    net: &mut Net<'_, T, R>,
    c: &VitConfig,
    name: &str,
    x: ValueId,
) -> Result<ValueId> {
    let e = c.hidden_dim;
    let h = net.m(
        &format!("{name}.ln_1"),
        LayerNorm::new(&[e], EPS, true, true)?,
        x,
    );
    let attention = MultiheadAttention::new(e, c.num_heads, true, true, net.rng)?;
    let h = net.m(&format!("{name}.self_attention"), attention, h);
    let x = net.g.op(&format!("{name}.add_1"), TensorOp::Add, &[h, x]);
    let h = net.m(
        &format!("{name}.ln_2"),
        LayerNorm::new(&[e], EPS, true, true)?,
        x,
    );
    let fc1 = Linear::new(e, c.mlp_dim, true, net.rng);
    let h = net.m(&format!("{name}.mlp.0"), fc1, h);
    let h = net.m(&format!("{name}.mlp.1"), GELU::default(), h);
    let fc2 = Linear::new(c.mlp_dim, e, true, net.rng);
    let h = net.m(&format!("{name}.mlp.3"), fc2, h);
    Ok(net.g.op(&format!("{name}.add_2"), TensorOp::Add, &[x, h]))
}
