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

use autograd::{Scalar, Tensor};
use nn::{init, Module, Sequential, StateKind};

use super::rank::spearman;
use crate::streams::{stream, Domain};

/// Re-initialises every parameter of `model` from `seed`, keeping buffers (BatchNorm's running
/// statistics): the "full" randomization of Adebayo et al. Equivalent to
/// `randomize_layers(model, 0..model.len(), seed)`; see [`randomize_layers`] for the distributions.
pub fn randomize_parameters<T: Scalar>(model: &mut Sequential<T>, seed: u64) {
    let n = model.len();
    randomize_layers(model, 0..n, seed);
}

/// Re-initialises the parameters ([`StateKind::Parameter`]) of layers `layers` from `seed`,
/// keeping buffers and the other layers.
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
pub fn randomize_layers<T: Scalar>(model: &mut Sequential<T>, layers: Range<usize>, seed: u64) {
    assert!(
        layers.end <= model.len(),
        "randomize_layers: layers {layers:?} are outside a model of {} layers",
        model.len()
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
        let layer = layer_index(name);
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

/// The index of the top-level layer a `state_dict` name belongs to (`"3.weight"` -> 3).
fn layer_index(name: &str) -> usize {
    name.split('.')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("Sequential names its tensors `index.name`")
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
pub fn cascading_randomization<T: Scalar>(
    model: &mut Sequential<T>,
    mut explain: impl FnMut(&Sequential<T>) -> Vec<f64>,
    seed: u64,
) -> Vec<(usize, f64)> {
    let guard = Restore::new(model);
    let trained = explain(guard.model);
    let mut layers: Vec<usize> = Vec::new();
    guard.model.visit_state(&mut |name, kind, _| {
        let l = layer_index(name);
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
struct Restore<'a, T: Scalar> {
    model: &'a mut Sequential<T>,
    saved: HashMap<String, Tensor<T>>,
}

impl<'a, T: Scalar> Restore<'a, T> {
    fn new(model: &'a mut Sequential<T>) -> Self {
        let mut saved = HashMap::new();
        model.visit_state(&mut |name, kind, t| {
            if kind == StateKind::Parameter {
                saved.insert(name.to_string(), t.clone());
            }
        });
        Restore { model, saved }
    }
}

impl<T: Scalar> Drop for Restore<'_, T> {
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
    fn layer_indices_come_from_the_first_name_segment() {
        assert_eq!(layer_index("3.weight"), 3);
        assert_eq!(layer_index("12.1.running_mean"), 12);
    }
}
