//! The model parameter randomization test (Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim 2018,
//! "Sanity Checks for Saliency Maps", NeurIPS, section 3).
//!
//! An explanation that reflects what the model learned must change when the learned weights are
//! replaced by random ones. The test compares the map of the trained model with the map of a
//! randomized copy by the Spearman rank correlation of their absolute values: **a high
//! correlation after randomization means the method is insensitive to the model, a failed sanity
//! check**; near 0 is a pass. (Adebayo et al. report both the absolute and the signed variant; the
//! absolute one is the usual headline, and the one here.) Edge detectors and the input itself
//! score 1, whatever the model.

use std::collections::HashMap;
use std::ops::Range;

use smoothgrad_autograd::{Scalar, Tensor};
use smoothgrad_nn::{init, Module, StateKind};

use super::rank::spearman;
use crate::streams::{stream, Domain};

/// Re-initialises every parameter of `model` from `seed`, keeping buffers (BatchNorm's running
/// statistics): the "full" randomization of Adebayo et al. Equivalent to
/// `randomize_layers(model, 0..n, seed)` for a model of `n` layers; see [`randomize_layers`] for
/// the distributions.
pub fn randomize_parameters<T: Scalar, M: Module<T> + ?Sized>(model: &mut M, seed: u64) {
    let n = Layers::of(model).count();
    randomize_layers(model, 0..n, seed);
}

/// Re-initialises the parameters ([`StateKind::Parameter`]) of layers `layers` from `seed`,
/// keeping buffers and the other layers.
///
/// The layers of a model are its children ([`Module::named_children`]): a
/// [`Sequential`](smoothgrad_nn::Sequential)'s layers by index, a [`Graph`](smoothgrad_nn::Graph)'s module nodes in node
/// order; a tensor belongs to the child whose name prefixes its own (`3.weight` to layer 3,
/// `layer1.0.conv1.weight` to node `layer1.0.conv1`). A module without children is one layer.
///
/// Every tensor is drawn from PyTorch's default `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`
/// ([`init::pytorch_default`]), where `fan_in` is, for a weight of two or more axes,
/// [`init::fans`] of its shape (`in` for `Linear`, `in/groups * kH * kW` for `Conv2d`); for a
/// one-axis parameter (a bias) the fan-in of its layer's weight, as PyTorch initialises biases;
/// and for a one-axis parameter without such a weight (BatchNorm's `weight` and `bias`, whose
/// PyTorch defaults 1 and 0 are not random) its own length. So a randomized layer is
/// distributed exactly as a freshly constructed one.
///
/// Tensor `k` (in `state_dict` order) of layer `l` draws from the ChaCha8 stream keyed by
/// `(seed, l, k)`, so a layer gets the same random weights whether it is randomized alone, with
/// others, or as a step of [`cascading_randomization`].
///
/// # Panics
/// If the range is beyond the model.
pub fn randomize_layers<T: Scalar, M: Module<T> + ?Sized>(
    model: &mut M,
    layers: Range<usize>,
    seed: u64,
) {
    let owners = Layers::of(model);
    assert!(
        layers.end <= owners.count(),
        "randomize_layers: layers {layers:?} are outside a model of {} layers",
        owners.count()
    );
    // The fan-in of every `owner.weight` with two or more axes, by owner ("3", or "3.1" nested).
    let mut fan_in: HashMap<String, usize> = HashMap::new();
    model.visit_state(&mut |name, kind, t| {
        if let Some(owner) = name.strip_suffix(".weight") {
            if kind == StateKind::Parameter && t.rank() >= 2 {
                fan_in.insert(owner.to_string(), init::fans(t.shape()).0);
            }
        }
    });
    let mut counters: HashMap<usize, usize> = HashMap::new();
    model.visit_state_mut(&mut |name, kind, t| {
        let Some(layer) = owners.layer_of(name) else {
            return;
        };
        if kind != StateKind::Parameter || !layers.contains(&layer) {
            return;
        }
        let k = counters.entry(layer).or_insert(0);
        let mut rng = stream(seed, layer as u64, *k as u64, Domain::Randomization);
        *k += 1;
        let fan = if t.rank() >= 2 {
            init::fans(t.shape()).0
        } else {
            let owner = name.rsplit_once('.').map_or("", |(o, _)| o);
            fan_in.get(owner).copied().unwrap_or(t.numel())
        };
        *t = init::pytorch_default(t.shape(), fan, &mut rng);
    });
}

/// A model's layers, by the prefix of their state names: its children, or itself alone.
struct Layers {
    /// Each child's name, `None` for a model without children (one layer, every name its own).
    prefixes: Option<Vec<String>>,
}

impl Layers {
    fn of<T: Scalar, M: Module<T> + ?Sized>(model: &M) -> Self {
        let children = model.named_children();
        Layers {
            prefixes: (!children.is_empty())
                .then(|| children.into_iter().map(|(name, _)| name).collect()),
        }
    }

    /// How many layers there are.
    fn count(&self) -> usize {
        self.prefixes.as_ref().map_or(1, Vec::len)
    }

    /// The layer a `state_dict` name belongs to (`"3.weight"` -> 3): the child whose name,
    /// followed by `.`, is the longest prefix of it.
    fn layer_of(&self, name: &str) -> Option<usize> {
        let Some(prefixes) = &self.prefixes else {
            return Some(0);
        };
        prefixes
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                name.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
            })
            .max_by_key(|(_, p)| p.len())
            .map(|(i, _)| i)
    }
}

/// The model parameter randomization test of Adebayo et al. 2018 ("Sanity Checks for Saliency
/// Maps", NeurIPS, section 3): the Spearman rank correlation ([`spearman`], average ranks for
/// ties) between the absolute values of the map of the trained model and the map of the model
/// after [`randomize_parameters`], in `[-1, 1]`.
///
/// An explanation that reflects what the model learned must change when its weights are random,
/// so **near 0 passes the sanity check; a high correlation means the method is insensitive to the
/// model, a failed check** (an edge detector, or the input itself, scores 1 whatever the model).
/// Adebayo et al. report the absolute and the signed variant; the absolute one is the headline
/// and the one here. A constant map gives 0 (see [`super::rank`]).
///
/// # Panics
/// If the maps differ in length.
pub fn randomization_spearman<M: Scalar>(map_trained: &[M], map_random: &[M]) -> f64 {
    let abs = |m: &[M]| {
        m.iter()
            .map(|v| v.to_f64_lossless().abs())
            .collect::<Vec<f64>>()
    };
    spearman(&abs(map_trained), &abs(map_random))
}

/// Cascading randomization (Adebayo et al., figure 2): randomizes the layers that have parameters
/// from the top (the output) down, cumulatively, and after each one compares the explanation with
/// the trained model's by [`randomization_spearman`].
///
/// `explain` maps a model to a saliency map (for example, the channel-reduced attribution of a
/// fixed image and class). Returns `(layer index, correlation)` for each layer with parameters,
/// last layer first: entry `i` has layers `l_i..` randomized. A method that passes shows the
/// correlation dropping as randomization reaches lower layers. Layers are drawn as in
/// [`randomize_layers`] from `seed`, so the last entry uses the model of
/// [`randomize_parameters`]`(model, seed)`.
///
/// The model is restored to its trained parameters before returning (also if `explain` panics).
pub fn cascading_randomization<T: Scalar, M: Module<T> + ?Sized>(
    model: &mut M,
    mut explain: impl FnMut(&M) -> Vec<f64>,
    seed: u64,
) -> Vec<(usize, f64)> {
    let guard = Restore::new(model);
    let trained = explain(guard.model);
    let owners = Layers::of(&*guard.model);
    let mut layers: Vec<usize> = Vec::new();
    guard.model.visit_state(&mut |name, kind, _| {
        let Some(l) = owners.layer_of(name) else {
            return;
        };
        if kind == StateKind::Parameter && layers.last() != Some(&l) {
            layers.push(l);
        }
    });
    layers
        .into_iter()
        .rev()
        .map(|l| {
            randomize_layers(guard.model, l..l + 1, seed);
            (l, randomization_spearman(&trained, &explain(guard.model)))
        })
        .collect()
}

/// Puts saved parameters back when dropped.
struct Restore<'a, T: Scalar, M: Module<T> + ?Sized> {
    model: &'a mut M,
    saved: HashMap<String, Tensor<T>>,
}

impl<'a, T: Scalar, M: Module<T> + ?Sized> Restore<'a, T, M> {
    fn new(model: &'a mut M) -> Self {
        let mut saved = HashMap::new();
        model.visit_state(&mut |name, kind, t| {
            if kind == StateKind::Parameter {
                saved.insert(name.to_string(), t.clone());
            }
        });
        Restore { model, saved }
    }
}

impl<T: Scalar, M: Module<T> + ?Sized> Drop for Restore<'_, T, M> {
    fn drop(&mut self) {
        let saved = &self.saved;
        self.model.visit_state_mut(&mut |name, _, t| {
            if let Some(v) = saved.get(name) {
                *t = v.clone();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_belong_to_the_child_whose_name_prefixes_theirs() {
        let names = |n: &[&str]| Layers {
            prefixes: Some(n.iter().map(|s| s.to_string()).collect()),
        };
        let chain = names(&["0", "1", "2", "3", "12"]);
        assert_eq!(chain.layer_of("3.weight"), Some(3));
        assert_eq!(chain.layer_of("12.1.running_mean"), Some(4));
        assert_eq!(chain.layer_of("1.bias"), Some(1));
        assert_eq!(chain.layer_of("7.bias"), None);
        let graph = names(&["layer1.0", "layer1.0.conv1", "fc"]);
        assert_eq!(graph.layer_of("layer1.0.conv1.weight"), Some(1));
        assert_eq!(graph.layer_of("layer1.0.weight"), Some(0));
        assert_eq!(graph.layer_of("fc.bias"), Some(2));
        assert_eq!(Layers { prefixes: None }.layer_of("weight"), Some(0));
    }
}
