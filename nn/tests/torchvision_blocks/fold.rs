//! BatchNorm folding on the torchvision blocks: the prepared (folded) model computes what the
//! original does, to 1e-12 in f64 and 1e-5 in f32, while the original keeps its state.

use smoothgrad_autograd::{Scalar, Tensor};
use smoothgrad_nn::prepare::for_explaining;
use smoothgrad_nn::{weights, Graph, Module, NodeKind, Sequential};

use super::{blocks, fixtures, reference, relative, run};

fn loaded<T: Scalar>(name: &str, mut block: Graph<T>) -> Graph<T> {
    weights::load_into(&mut block, fixtures().join(format!("{name}.safetensors"))).unwrap();
    block
}

fn cast<T: Scalar>(t: &Tensor<f64>) -> Tensor<T> {
    t.cast()
}

/// Runs fixture `name` in `T` before and after preparing, and compares.
fn check_folded<T: Scalar>(name: &str, block: Graph<T>, folds: usize, tol: f64) {
    let model = loaded(name, block);
    let before: Vec<(String, Tensor<T>)> = model
        .state_dict()
        .into_iter()
        .map(|(n, _, t)| (n, t))
        .collect();
    let prepared = for_explaining(&model).unwrap();
    let identities = prepared
        .nodes()
        .iter()
        .filter(|n| matches!(n.kind(), NodeKind::Module(m) if m.to_string() == "identity"))
        .count();
    assert_eq!(identities, folds, "{name}: {prepared}");
    let after: Vec<(String, Tensor<T>)> = model
        .state_dict()
        .into_iter()
        .map(|(n, _, t)| (n, t))
        .collect();
    assert_eq!(before, after, "{name}: the original's state changed");

    let r = reference(name);
    let (x, w) = (cast::<T>(&r.input), cast::<T>(&r.w));
    let (y0, g0) = run_t(&model, &x, &w);
    let (y1, g1) = run_t(&prepared, &x, &w);
    let widen = |t: &Tensor<T>| t.cast::<f64>();
    let (eo, eg) = (
        relative(&widen(&y1), &widen(&y0)),
        relative(&widen(&g1), &widen(&g0)),
    );
    assert!(eo <= tol, "{name}: folded output off by {eo:e}");
    assert!(eg <= tol, "{name}: folded input gradient off by {eg:e}");
}

fn run_t<T: Scalar>(m: &dyn Module<T>, x: &Tensor<T>, w: &Tensor<T>) -> (Tensor<T>, Tensor<T>) {
    let tape = smoothgrad_autograd::Tape::new();
    let v = tape.var(x.clone());
    let y = m.forward(v, &mut smoothgrad_nn::Context::inference(&tape));
    let out = y.value();
    let g = tape.backward_with(y, w.clone());
    (out, g.wrt(v))
}

#[test]
fn folded_basic_blocks_match_in_f64_and_f32() {
    check_folded("basic_block", blocks::basic_block::<f64>(8, 8, 1), 2, 1e-12);
    check_folded("basic_block", blocks::basic_block::<f32>(8, 8, 1), 2, 1e-5);
    check_folded(
        "basic_block_down",
        blocks::basic_block::<f64>(8, 16, 2),
        3,
        1e-12,
    );
    check_folded(
        "basic_block_down",
        blocks::basic_block::<f32>(8, 16, 2),
        3,
        1e-5,
    );
}

#[test]
fn folded_dense_block_matches_and_pre_activation_bns_stay() {
    // Only conv1 -> norm2 folds; norm1 follows a concat, not a convolution.
    check_folded(
        "dense_block",
        blocks::dense_block::<f64>(8, 2, 2, 4),
        2,
        1e-12,
    );
    check_folded(
        "dense_block",
        blocks::dense_block::<f32>(8, 2, 2, 4),
        2,
        1e-5,
    );
}

#[test]
fn folded_model_still_matches_pytorch() {
    let prepared =
        for_explaining(&loaded("basic_block_down", blocks::basic_block(8, 16, 2))).unwrap();
    let r = reference("basic_block_down");
    let (y, g) = run(&prepared, &r.input, &r.w);
    assert!(relative(&y, &r.output) <= 1e-10);
    assert!(relative(&g, &r.grad) <= 1e-10);
}

#[test]
fn a_convolution_read_twice_is_not_folded() {
    // conv1's value feeds bn1 and the skip connection: folding bn1 would change the skip.
    let mut g = smoothgrad_nn::GraphBuilder::<f64>::new();
    let x = g.input();
    let c = g.module("conv", blocks::conv(2, 2, 1, Default::default(), false), x);
    let b = g.module("bn", blocks::bn(2), c);
    let y = g.add("add", b, c);
    let graph = g.finish(y).unwrap();
    let prepared = for_explaining(&graph).unwrap();
    assert_eq!(prepared.to_string(), graph.to_string());
}

#[test]
fn sequential_folding_keeps_indices_and_the_original() {
    let mut model: Sequential<f64> =
        Sequential::from_spec_seeded("conv2d(2,3,3,padding=1), batchnorm2d(3), relu, conv2d(3,2,1,bias=False), batchnorm2d(2,affine=False)", 7)
            .unwrap();
    // Non-trivial running statistics and affine parameters.
    let mut k = 0.0f64;
    let mut next = |lo: f64, span: f64| {
        k += 0.37;
        lo + (k * 7.1) % span
    };
    model.visit_state_mut(&mut |name, _, t| {
        let (lo, span) = match name {
            n if n.ends_with("running_var") || n == "1.weight" => (0.5, 1.3),
            n if n.ends_with("running_mean") || n == "1.bias" => (-0.5, 1.0),
            _ => return,
        };
        *t = Tensor::from_fn(t.shape(), |_| next(lo, span));
    });
    let prepared = for_explaining(&model).unwrap();
    assert_eq!(
        prepared.to_string(),
        "conv2d(2,3,3,padding=1), identity, relu, conv2d(3,2,1), identity"
    );
    let names: Vec<String> = prepared.state_dict().into_iter().map(|(n, ..)| n).collect();
    assert_eq!(names, ["0.weight", "0.bias", "3.weight", "3.bias"]);
    assert_eq!(model.state_dict().len(), 2 + 5 + 1 + 3);
    let x = Tensor::randn_seeded(&[2, 2, 4, 4], 3);
    let w = Tensor::randn_seeded(&[2, 2, 4, 4], 4);
    let (y0, g0) = run(&model, &x, &w);
    let (y1, g1) = run(&prepared, &x, &w);
    assert!(relative(&y1, &y0) <= 1e-12);
    assert!(relative(&g1, &g0) <= 1e-12);
}

#[test]
fn a_training_batchnorm_is_folded_only_once_prepared() {
    let mut model: Sequential<f64> =
        Sequential::from_spec("conv2d(1,2,3), batchnorm2d(2)").unwrap();
    model.set_training(true);
    let folded = smoothgrad_nn::fold::fold_batchnorm(&model).unwrap();
    assert_eq!(folded.to_string(), "conv2d(1,2,3), batchnorm2d(2)");
    assert!(folded.is_training());
    let prepared = for_explaining(&model).unwrap();
    assert_eq!(prepared.to_string(), "conv2d(1,2,3), identity");
}

#[test]
fn a_layer_that_only_prints_like_a_batchnorm_is_not_folded() {
    // A one-layer Sequential prints "batchnorm2d(2)" but names its state "0.running_mean": it
    // is neither folded nor copied as a bare BatchNorm (an error, not a wrong model).
    let inner: Sequential<f64> = Sequential::from_spec("batchnorm2d(2)").unwrap();
    let model = Sequential::from_spec("conv2d(1,2,3)").unwrap().with(inner);
    let err = smoothgrad_nn::fold::fold_batchnorm(&model)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot copy the layer \"batchnorm2d(2)\""),
        "{err}"
    );
}
