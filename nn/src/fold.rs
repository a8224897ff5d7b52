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

use smoothgrad_autograd::Scalar;

use crate::copy::{copy_graph, copy_module};
use crate::error::Result;
use crate::graph::fold::fold_pair;
use crate::graph::Graph;
use crate::layers::Identity;
use crate::sequential::Sequential;

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
/// output). The BatchNorm node becomes an `identity` of the same name. The copy is folded by
/// [`Graph::fold_batchnorm`], which folds an owned graph in place, with no copy.
///
/// # Errors
/// [`crate::NnError::Config`] if a module cannot be copied (it prints no spec this crate parses).
pub fn fold_batchnorm_graph<T: Scalar>(graph: &Graph<T>) -> Result<Graph<T>> {
    Ok(copy_graph(graph)?.fold_batchnorm())
}
