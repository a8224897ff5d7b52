//! A layer's spec read back as what the crate needs to copy or fold it: rebuilding a layer from
//! its spec (its `Display`, which [`crate::Sequential::from_spec`] parses back), and the settings
//! of convolutions and batch normalizations, which carry no tensors.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::{Conv2dOptions, Scalar};

use super::blocks::{self, Entry, Item};
use super::{bind, build};
use crate::module::Module;
use crate::sequential::Sequential;

/// The settings of a layer that folding needs, read from its spec.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum LayerKind {
    /// `conv2d(...)`: stride, padding, dilation, groups.
    Conv2d(Conv2dOptions),
    /// `batchnorm2d(...)`: its `eps`.
    BatchNorm2d {
        /// Added to the running variance.
        eps: f64,
    },
    /// Any other layer, or text that is not a single layer's spec.
    Other,
}

/// What the single-layer spec `text` describes.
pub(crate) fn kind(text: &str) -> LayerKind {
    let Ok(entries) = blocks::parse(text, &bind::check_layer) else {
        return LayerKind::Other;
    };
    let [Entry {
        name: None,
        item: Item::Layer(layer),
    }] = entries.as_slice()
    else {
        return LayerKind::Other;
    };
    let Ok(a) = bind::bind(layer) else {
        return LayerKind::Other;
    };
    match a.sig.name {
        "conv2d" => LayerKind::Conv2d(Conv2dOptions {
            stride: a.pair("stride"),
            padding: a.pair("padding"),
            dilation: a.pair("dilation"),
            groups: a.size("groups"),
        }),
        "batchnorm2d" => LayerKind::BatchNorm2d {
            eps: a.float("eps"),
        },
        _ => LayerKind::Other,
    }
}

/// A fresh layer (or, for a spec of several layers, a [`Sequential`]) built from `text`, with
/// placeholder weights; `None` if `text` is not a spec.
pub(crate) fn rebuild<T: Scalar>(text: &str) -> Option<Box<dyn Module<T>>> {
    let entries = blocks::parse(text, &bind::check_layer).ok()?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    if let [Entry { name: None, item }] = entries.as_slice() {
        return build::build_item(item, &mut rng).ok();
    }
    let model: Sequential<T> = Sequential::from_spec(text).ok()?;
    Some(Box::new(model))
}
