//! BatchNorm folding of a graph in place ([`Graph::fold_batchnorm`]), and the folding of one
//! convolution-BatchNorm pair that it and [`crate::fold`] share.
//!
//! With `s[o] = gamma[o] / sqrt(running_var[o] + eps)` (`gamma = 1`, `beta = 0` without
//! `affine`), an evaluation-mode BatchNorm after a convolution `(W, b)` is the convolution
//!
//! ```text
//! W'[o, ...] = W[o, ...] s[o]          b'[o] = (b[o] - running_mean[o]) s[o] + beta[o]
//! ```
//!
//! computed in `f64` and rounded once to the model's type. This is what an imported model needs:
//! PyTorch's `dynamo=True` ONNX exporter leaves every `BatchNormalization` unfolded, and a
//! BatchNorm on the tape costs a pass over the activations forward and another backward.

use std::collections::HashMap;

use smoothgrad_autograd::{Scalar, Tensor};

use super::{Graph, NodeKind};
use crate::layers::{Conv2d, Identity};
use crate::module::{Module, StateKind};
use crate::spec::describe::{kind, LayerKind};

impl<T: Scalar> Graph<T> {
    /// The graph with every evaluation-mode `batchnorm2d` node folded into the `conv2d` node it
    /// reads, when that convolution's value has no other reader and is not the output; the
    /// BatchNorm node becomes an `identity` of the same name (so `--output-node` names and
    /// [`Graph::find`] still work). The same function, up to rounding (1e-12 relative in `f64`).
    ///
    /// Unlike [`crate::prepare::for_explaining`], nothing is copied: modules other than the
    /// folded pairs are kept as they are, whether or not they have a spec.
    ///
    /// ```
    /// use smoothgrad_autograd::{Conv2dOptions, Tensor};
    /// use smoothgrad_nn::{BatchNorm2d, Conv2d, GraphBuilder, Module, ReLU};
    /// use rand::SeedableRng;
    ///
    /// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    /// let conv = Conv2d::<f64>::new(2, 3, [3, 3], Conv2dOptions::default(), false, &mut rng).unwrap();
    /// let mut g = GraphBuilder::new();
    /// let x = g.input();
    /// let h = g.module("conv", conv, x);
    /// let h = g.module("bn", BatchNorm2d::new(3, 1e-5, 0.1, true).unwrap(), h);
    /// let y = g.module("relu", ReLU, h);
    /// let folded = g.finish(y).unwrap().fold_batchnorm();
    /// assert_eq!(folded.to_string(), "input = input; conv = conv2d(2,3,3)(input); \
    ///                                 bn = identity(conv); relu = relu(bn); output relu");
    /// ```
    pub fn fold_batchnorm(mut self) -> Self {
        let n = self.nodes.len();
        let mut readers = vec![0usize; n];
        for node in &self.nodes {
            for v in &node.inputs {
                readers[v.0] += 1;
            }
        }
        let output = self.output.0;
        for j in 0..n {
            let (NodeKind::Module(bn), [v]) =
                (&self.nodes[j].kind, self.nodes[j].inputs.as_slice())
            else {
                continue;
            };
            let i = v.0;
            if readers[i] != 1 || i == output {
                continue;
            }
            let NodeKind::Module(conv) = &self.nodes[i].kind else {
                continue;
            };
            if let Some(folded) = fold_pair(conv.as_ref(), bn.as_ref()) {
                self.nodes[i].kind = NodeKind::Module(Box::new(folded));
                self.nodes[j].kind = NodeKind::Module(Box::new(Identity));
            }
        }
        self
    }
}

/// The convolution `conv` with the batch normalization `bn` folded in, if `conv` is a `conv2d`,
/// `bn` an evaluation-mode `batchnorm2d` of its output channels.
pub(crate) fn fold_pair<T: Scalar>(conv: &dyn Module<T>, bn: &dyn Module<T>) -> Option<Conv2d<T>> {
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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use smoothgrad_autograd::{Tape, Tensor};

    use super::*;
    use crate::models::mobilenet_v3::{mobilenet_v3, MobileNetV3Config};
    use crate::models::resnet::{resnet, ResNetConfig};
    use crate::module::Context;

    /// BatchNorm statistics and affine parameters far from the identity (a fold that dropped
    /// the mean, the variance, gamma or beta would show).
    fn perturb(g: &mut Graph<f64>) {
        let mut k = 0.0f64;
        g.visit_state_mut(&mut |name, _, t| {
            let (lo, span) = if name.ends_with("running_var") || name.ends_with("bn1.weight") {
                (0.5, 1.3)
            } else if name.ends_with("running_mean") || name.ends_with(".bias") {
                (-0.4, 0.8)
            } else {
                return;
            };
            *t = Tensor::from_fn(t.shape(), |_| {
                k += 0.37;
                lo + (k * 7.1) % span
            });
        });
    }

    /// Logits and the input gradient of `sum(logits * w)`.
    fn run(g: &Graph<f64>, x: &Tensor<f64>) -> (Tensor<f64>, Tensor<f64>) {
        let tape = Tape::new();
        let v = tape.var(x.clone());
        let y = g.forward(v, &mut Context::inference(&tape));
        let w = Tensor::randn_seeded(&y.shape(), 5);
        let out = y.value();
        (out, tape.backward_with(y, w).wrt(v))
    }

    fn relative(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
        let scale = b.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        a.max_abs_diff(b) / scale
    }

    fn check(mut g: Graph<f64>, folds: usize, input: &[usize]) {
        perturb(&mut g);
        let x = Tensor::randn_seeded(input, 3);
        let (y0, g0) = run(&g, &x);
        let names: Vec<String> = g.nodes().iter().map(|n| n.name().to_string()).collect();
        let folded = g.fold_batchnorm();
        let identities = folded
            .nodes()
            .iter()
            .filter(|n| matches!(n.kind(), NodeKind::Module(m) if m.to_string() == "identity"))
            .count();
        assert_eq!(identities, folds);
        let after: Vec<String> = folded
            .nodes()
            .iter()
            .map(|n| n.name().to_string())
            .collect();
        assert_eq!(names, after, "folding keeps every node and its name");
        let (y1, g1) = run(&folded, &x);
        assert!(
            relative(&y1, &y0) <= 1e-12,
            "logits off by {:e}",
            relative(&y1, &y0)
        );
        assert!(
            relative(&g1, &g0) <= 1e-12,
            "gradient off by {:e}",
            relative(&g1, &g0)
        );
    }

    #[test]
    fn a_folded_resnet_computes_the_same_logits_and_input_gradients() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let config = ResNetConfig {
            widths: [4, 8, 8, 8],
            stem: 4,
            ..ResNetConfig::resnet18(5)
        };
        // conv1/bn1, two per block (8 blocks) and three downsample pairs: 20 BatchNorms.
        check(resnet(&config, &mut rng).unwrap(), 20, &[2, 3, 32, 32]);
    }

    #[test]
    fn a_folded_mobilenet_computes_the_same_logits_and_input_gradients() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut config = MobileNetV3Config::small(0.25, 4);
        config.blocks.truncate(4);
        config.last_channel = 16;
        let g = mobilenet_v3(&config, &mut rng).unwrap();
        let bns = g
            .nodes()
            .iter()
            .filter(|n| matches!(n.kind(), NodeKind::Module(m) if m.to_string().starts_with("batchnorm2d")))
            .count();
        assert!(bns > 8);
        check(g, bns, &[2, 3, 32, 32]);
    }

    #[test]
    fn a_convolution_with_a_second_reader_is_left_alone() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let conv = Conv2d::<f64>::new(2, 2, [1, 1], Default::default(), true, &mut rng).unwrap();
        let mut g = crate::GraphBuilder::new();
        let x = g.input();
        let c = g.module("conv", conv, x);
        let b = g.module(
            "bn",
            crate::BatchNorm2d::new(2, 1e-5, 0.1, true).unwrap(),
            c,
        );
        let y = g.add("add", b, c);
        let graph = g.finish(y).unwrap();
        let text = graph.to_string();
        assert_eq!(graph.fold_batchnorm().to_string(), text);
    }
}
