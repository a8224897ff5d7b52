//! BatchNorm folding: an evaluation-mode `BatchNorm2d` that directly follows a `Conv2d` is merged
//! into the convolution, so the model computes the same function with one layer less (and the
//! explanation's backward pass skips the normalization).
//!
//! With `s[o] = gamma[o] / sqrt(running_var[o] + eps)` (`gamma = 1`, `beta = 0` without
//! `affine`), the folded convolution has
//!
//! ```text
//! W'[o, ...] = W[o, ...] s[o]          b'[o] = (b[o] - running_mean[o]) s[o] + beta[o]
//! ```
//!
//! (`b = 0` for a convolution without bias; the folded one always has a bias), computed in `f64`
//! and rounded once to the model's type. The BatchNorm is replaced by an [`Identity`], so layer
//! indices and node names stay those of the original (the folded convolution keeps its state
//! names, `3.weight`, `layer1.0.conv1.bias`).
//!
//! Folding works on a copy (see [`crate::prepare::for_explaining`]); the original model, its
//! `state_dict` and its PyTorch names are unchanged. There is no `BatchNorm1d` layer yet, so a
//! `Linear` is never folded. Layers are recognised by their spec (`conv2d(...)`,
//! `batchnorm2d(...)`), which is how this crate's layers describe themselves.
//!
//! ```
//! use smoothgrad_autograd::{Conv2dOptions, Tape, Tensor};
//! use smoothgrad_nn::{fold, BatchNorm2d, Context, Conv2d, Module, ReLU, Sequential};
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let conv = Conv2d::<f64>::new(2, 3, [3, 3], Conv2dOptions::default(), false, &mut rng).unwrap();
//! let model = Sequential::new()
//!     .with(conv)
//!     .with(BatchNorm2d::new(3, 1e-5, 0.1, true).unwrap())
//!     .with(ReLU);
//! let folded = fold::fold_batchnorm(&model).unwrap();
//! assert_eq!(folded.to_string(), "conv2d(2,3,3), identity, relu");
//! assert_eq!(model.state_dict().len(), 6); // unchanged: conv weight, BN's five tensors
//!
//! let x = Tensor::randn_seeded(&[1, 2, 5, 5], 1);
//! let run = |m: &Sequential<f64>| {
//!     let tape = Tape::new();
//!     m.forward(tape.constant(x.clone()), &mut Context::inference(&tape)).value()
//! };
//! assert!(run(&model).max_abs_diff(&run(&folded)) < 1e-12);
//! ```

use std::collections::HashMap;

use smoothgrad_autograd::{Scalar, Tensor};

use crate::copy::{copy_graph, copy_module};
use crate::error::Result;
use crate::graph::{Graph, NodeKind};
use crate::layers::{Conv2d, Identity};
use crate::module::{Module, StateKind};
use crate::sequential::Sequential;
use crate::spec::describe::{kind, LayerKind};

/// A copy of `model` with every evaluation-mode `batchnorm2d` that directly follows a `conv2d`
/// folded into it (the BatchNorm becomes an `identity`).
///
/// # Errors
/// [`crate::NnError::Config`] if a layer cannot be copied (it prints no spec this crate parses).
pub fn fold_batchnorm<T: Scalar>(model: &Sequential<T>) -> Result<Sequential<T>> {
    let layers = model.layers();
    let mut out = Sequential::new();
    let mut i = 0;
    while i < layers.len() {
        let next = layers.get(i + 1).map(|l| l.as_ref());
        match next.and_then(|bn| fold_pair(layers[i].as_ref(), bn)) {
            Some(conv) => {
                out.push(conv);
                out.push(Identity);
                i += 2;
            }
            None => {
                out.push_boxed(copy_module(layers[i].as_ref())?);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// A copy of `graph` with every evaluation-mode `batchnorm2d` node folded into the `conv2d`
/// node it reads, when that convolution's value is read by nothing else (and is not the
/// output). The BatchNorm node becomes an `identity` of the same name.
///
/// # Errors
/// [`crate::NnError::Config`] if a module cannot be copied (it prints no spec this crate parses).
pub fn fold_batchnorm_graph<T: Scalar>(graph: &Graph<T>) -> Result<Graph<T>> {
    let mut copy = copy_graph(graph)?;
    let n = copy.nodes().len();
    let mut readers = vec![0usize; n];
    for node in copy.nodes() {
        for v in node.inputs() {
            readers[v.index()] += 1;
        }
    }
    let output = copy.output().index();
    for j in 0..n {
        let node = &copy.nodes()[j];
        let (NodeKind::Module(bn), [v]) = (node.kind(), node.inputs()) else {
            continue;
        };
        let i = v.index();
        if readers[i] != 1 || i == output {
            continue;
        }
        let NodeKind::Module(conv) = copy.nodes()[i].kind() else {
            continue;
        };
        if let Some(folded) = fold_pair(conv.as_ref(), bn.as_ref()) {
            copy.set_kind(i, NodeKind::Module(Box::new(folded)));
            copy.set_kind(j, NodeKind::Module(Box::new(Identity)));
        }
    }
    Ok(copy)
}

/// The convolution `conv` with the batch normalization `bn` folded in, if `conv` is a `conv2d`,
/// `bn` an evaluation-mode `batchnorm2d` of its output channels.
fn fold_pair<T: Scalar>(conv: &dyn Module<T>, bn: &dyn Module<T>) -> Option<Conv2d<T>> {
    let LayerKind::Conv2d(options) = kind(&conv.spec().unwrap_or_default()) else {
        return None;
    };
    let LayerKind::BatchNorm2d { eps } = kind(&bn.spec().unwrap_or_default()) else {
        return None;
    };
    if bn.is_training() || conv.is_training() {
        return None;
    }
    let (conv_state, bn_state) = (state(conv), state(bn));
    // The state must be exactly a convolution's and a BatchNorm's (a one-layer `Sequential`
    // prints the same spec but names its state `0.weight`).
    let only = |st: &HashMap<String, Tensor<T>>, names: &[&str]| {
        st.keys().all(|k| names.contains(&k.as_str()))
    };
    if !only(&conv_state, &["weight", "bias"])
        || !only(
            &bn_state,
            &[
                "weight",
                "bias",
                "running_mean",
                "running_var",
                "num_batches_tracked",
            ],
        )
    {
        return None;
    }
    let weight = conv_state.get("weight").filter(|w| w.rank() == 4)?;
    let c = weight.shape()[0];
    let channel = |name: &str| -> Option<Vec<f64>> {
        bn_state.get(name).filter(|t| t.shape() == [c]).map(widen)
    };
    let (mean, var) = (channel("running_mean")?, channel("running_var")?);
    let (gamma, beta) = match (
        bn_state.contains_key("weight"),
        bn_state.contains_key("bias"),
    ) {
        (true, true) => (channel("weight")?, channel("bias")?),
        (false, false) => (vec![1.0; c], vec![0.0; c]),
        _ => return None,
    };
    let bias = match conv_state.get("bias") {
        Some(b) if b.shape() == [c] => widen(b),
        Some(_) => return None,
        None => vec![0.0; c],
    };
    let scale: Vec<f64> = (0..c).map(|o| gamma[o] / (var[o] + eps).sqrt()).collect();
    let per_out = weight.numel() / c;
    let w = widen(weight);
    let folded_w = Tensor::from_fn(weight.shape(), |i| {
        T::from_f64_lossy(w[i] * scale[i / per_out])
    });
    let folded_b = Tensor::from_fn(&[c], |o| {
        T::from_f64_lossy((bias[o] - mean[o]) * scale[o] + beta[o])
    });
    Some(Conv2d {
        weight: folded_w,
        bias: Some(folded_b),
        options,
    })
}

/// A layer's stored tensors by name.
fn state<T: Scalar>(m: &dyn Module<T>) -> HashMap<String, Tensor<T>> {
    let mut out = HashMap::new();
    m.visit_state(&mut |name, _: StateKind, t| {
        out.insert(name.to_string(), t.clone());
    });
    out
}

/// A tensor's values in `f64`.
fn widen<T: Scalar>(t: &Tensor<T>) -> Vec<f64> {
    t.data().iter().map(|v| v.to_f64_lossless()).collect()
}
