//! torchvision's own blocks (ResNet basic blocks, a DenseNet block, squeeze-and-excitation, a
//! ViT encoder block, a ConvNeXt block) written with `GraphBuilder` and this crate's layers in
//! f64, loaded from the `state_dict` PyTorch saved (`tests/fixtures/torchvision/NAME.safetensors`,
//! keys unchanged), and compared with PyTorch's float64 output and input gradient
//! (`NAME_io.safetensors`: `output` and `grad` = d(sum(output * w)) / d input; `grad_exact` where
//! present, see the fixtures' README) to 1e-10 of their largest magnitude.

mod blocks;
mod fold;
mod models;

use std::path::PathBuf;

use smoothgrad_autograd::io::read_file;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{weights, Context, Graph, Module};

/// The fixture directory.
fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torchvision")
}

/// `block` with the weights of fixture `name` loaded (all or nothing, every key used).
fn loaded(name: &str, mut block: Graph<f64>) -> Graph<f64> {
    weights::load_into(&mut block, fixtures().join(format!("{name}.safetensors")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    block
}

/// The reference tensors of fixture `name`: input, cotangent `w`, output, input gradient.
struct Reference {
    input: Tensor<f64>,
    w: Tensor<f64>,
    output: Tensor<f64>,
    grad: Tensor<f64>,
}

fn reference(name: &str) -> Reference {
    let file = read_file(fixtures().join(format!("{name}_io.safetensors"))).unwrap();
    let get = |key: &str| file.get::<f64>(key).unwrap();
    let grad = if file.contains("grad_exact") {
        get("grad_exact")
    } else {
        get("grad")
    };
    Reference {
        input: get("input"),
        w: get("w"),
        output: get("output"),
        grad,
    }
}

/// The output of `model` at `input` and the gradient of `sum(output * w)` with respect to it.
fn run(
    model: &dyn Module<f64>,
    input: &Tensor<f64>,
    w: &Tensor<f64>,
) -> (Tensor<f64>, Tensor<f64>) {
    let tape = Tape::new();
    let x = tape.var(input.clone());
    let y = model.forward(x, &mut Context::inference(&tape));
    let output = y.value();
    let grads = tape.backward_with(y, w.clone());
    (output, grads.wrt(x))
}

/// `max |a - b| / max |b|`.
fn relative(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let scale = b.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.max_abs_diff(b) / scale
}

/// Builds, loads and runs fixture `name`, asserting output and input gradient to 1e-10.
fn check_fixture(name: &str, block: Graph<f64>) {
    let model = loaded(name, block);
    let r = reference(name);
    assert_eq!(
        model.output_shape(r.input.shape()).unwrap(),
        r.output.shape(),
        "{name}"
    );
    let (output, grad) = run(&model, &r.input, &r.w);
    let (eo, eg) = (relative(&output, &r.output), relative(&grad, &r.grad));
    assert!(eo <= 1e-10, "{name}: output off by {eo:e} of its max");
    assert!(
        eg <= 1e-10,
        "{name}: input gradient off by {eg:e} of its max"
    );
}

#[test]
fn basic_block_matches_torchvision() {
    check_fixture("basic_block", blocks::basic_block(8, 8, 1));
}

#[test]
fn basic_block_down_matches_torchvision() {
    check_fixture("basic_block_down", blocks::basic_block(8, 16, 2));
}

#[test]
fn dense_block_matches_torchvision() {
    check_fixture("dense_block", blocks::dense_block(8, 2, 2, 4));
}

#[test]
fn se_block_matches_torchvision() {
    check_fixture("se_block", blocks::se_block(16, 8));
}

#[test]
fn vit_encoder_block_matches_torchvision() {
    check_fixture("vit_encoder_block", blocks::vit_encoder_block(16, 2, 32));
}

#[test]
fn convnext_block_matches_torchvision() {
    check_fixture("convnext_block", blocks::convnext_block(8));
}

#[test]
fn the_blocks_keep_torchvisions_state_dict_names() {
    let names =
        |g: Graph<f64>| -> Vec<String> { g.state_dict().into_iter().map(|(n, ..)| n).collect() };
    assert_eq!(
        names(blocks::vit_encoder_block(16, 2, 32)),
        [
            "ln_1.weight",
            "ln_1.bias",
            "self_attention.in_proj_weight",
            "self_attention.in_proj_bias",
            "self_attention.out_proj.weight",
            "self_attention.out_proj.bias",
            "ln_2.weight",
            "ln_2.bias",
            "mlp.0.weight",
            "mlp.0.bias",
            "mlp.3.weight",
            "mlp.3.bias",
        ]
    );
    let convnext = names(blocks::convnext_block(8));
    assert!(
        convnext.contains(&"layer_scale".to_string()),
        "{convnext:?}"
    );
}
