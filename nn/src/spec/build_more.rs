//! Construction of the layers of modern classifiers (activations, adaptive pooling, layer
//! normalization, attention) from bound arguments, through their own constructors.

use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::Scalar;

use super::bind::Args;
use super::limits::{check_elements, config_message};
use crate::layers::{
    AdaptiveAvgPool2d, Approximate, Hardsigmoid, Hardswish, Identity, LayerNorm, LayerNorm2d,
    MultiheadAttention, ReLU6, SiLU, GELU,
};
use crate::module::Module;

/// Builds the layer `a` names, or `None` if it is not one of this file's.
pub(super) fn build<T: Scalar>(
    a: &Args,
    rng: &mut ChaCha8Rng,
) -> Option<Result<Box<dyn Module<T>>, String>> {
    let name = a.sig.name;
    let layer: Box<dyn Module<T>> = match name {
        "identity" => Box::new(Identity),
        "gelu" => match Approximate::from_name(a.text("approximate")) {
            Ok(approximate) => Box::new(GELU { approximate }),
            Err(e) => return Some(Err(config_message(e))),
        },
        "silu" => Box::new(SiLU),
        "hardswish" => Box::new(Hardswish),
        "hardsigmoid" => Box::new(Hardsigmoid),
        "relu6" => Box::new(ReLU6),
        "adaptiveavgpool2d" => {
            return Some(
                AdaptiveAvgPool2d::new(a.pair("output_size"))
                    .map(|l| Box::new(l) as Box<dyn Module<T>>)
                    .map_err(config_message),
            )
        }
        "layernorm" => {
            let shape = a.shape("normalized_shape");
            let built = check_elements(name, shape).and_then(|()| {
                let (affine, bias) = (a.flag("elementwise_affine"), a.flag("bias"));
                LayerNorm::<T>::new(shape, a.float("eps"), affine, bias).map_err(config_message)
            });
            return Some(built.map(|l| Box::new(l) as Box<dyn Module<T>>));
        }
        "layernorm2d" => {
            let c = a.size("num_channels");
            let built = check_elements(name, &[c]).and_then(|()| {
                LayerNorm2d::<T>::new(c, a.float("eps"), a.flag("elementwise_affine"))
                    .map_err(config_message)
            });
            return Some(built.map(|l| Box::new(l) as Box<dyn Module<T>>));
        }
        "multiheadattention" => {
            let (e, heads) = (a.size("embed_dim"), a.size("num_heads"));
            let built = check_elements(name, &[3, e, e]).and_then(|()| {
                MultiheadAttention::<T>::new(e, heads, a.flag("bias"), a.flag("batch_first"), rng)
                    .map_err(config_message)
            });
            return Some(built.map(|l| Box::new(l) as Box<dyn Module<T>>));
        }
        _ => return None,
    };
    Some(Ok(layer))
}
