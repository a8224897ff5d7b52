//! Explaining torchvision's own architectures: `smoothgrad_nn::models` ResNet-18, MobileNetV3-small,
//! EfficientNet-B0 and a ViT (reduced widths, torchvision's `state_dict` keys), loaded from the
//! `state_dict` PyTorch saved, give the gradient PyTorch computes in float64
//! (`nn/tests/fixtures/torchvision/NAME_io.safetensors`, made by the script beside them), with the
//! `Gradient` method and with SmoothGrad at zero noise, and in f32 to 1e-4 of the gradient's max.

use std::path::PathBuf;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad::{Gradient, Method, Noise, NoiseLevel, Operator, SmoothGrad, Targets};
use smoothgrad_autograd::io::read_file;
use smoothgrad_autograd::{Scalar, Tensor};
use smoothgrad_nn::models::efficientnet::{efficientnet, EfficientNetConfig};
use smoothgrad_nn::models::mobilenet_v3::{mobilenet_v3, MobileNetV3Config};
use smoothgrad_nn::models::resnet::{resnet, ResNetConfig};
use smoothgrad_nn::models::vit::{vit, VitConfig};
use smoothgrad_nn::{weights, Graph};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../nn/tests/fixtures/torchvision")
        .join(name)
}

/// Fixture `name`'s model (built by `build`) with its weights, as `T`.
fn model<T: Scalar>(name: &str, build: fn(&mut ChaCha8Rng) -> Graph<T>) -> Graph<T> {
    let mut m = build(&mut ChaCha8Rng::seed_from_u64(0));
    weights::load_into(&mut m, fixture(&format!("{name}.safetensors"))).unwrap();
    m
}

/// Input, targets and PyTorch's float64 input gradient of fixture `name`.
fn reference(name: &str) -> (Tensor<f64>, Vec<usize>, Tensor<f64>) {
    let file = read_file(fixture(&format!("{name}_io.safetensors"))).unwrap();
    let grad = if file.contains("grad_exact") {
        "grad_exact"
    } else {
        "grad"
    };
    let targets = file.get_i64("target").unwrap().0;
    (
        file.get("input").unwrap(),
        targets.iter().map(|&t| t as usize).collect(),
        file.get(grad).unwrap(),
    )
}

/// `max |a - b| / max |b|`.
fn relative(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

fn check(
    name: &str,
    build64: fn(&mut ChaCha8Rng) -> Graph<f64>,
    build32: fn(&mut ChaCha8Rng) -> Graph<f32>,
) {
    let (input, targets, grad) = reference(name);
    let t = Targets::Classes(targets);
    let m64 = model(name, build64);
    let g = Gradient
        .explain(&m64, &input, &t, &Operator::Logit, 1)
        .unwrap();
    let e = relative(g.values.data(), grad.data());
    assert!(e <= 1e-10, "{name}: f64 gradient off by {e:e} of its max");
    let sg = SmoothGrad {
        samples: 3,
        noise: Noise {
            level: NoiseLevel::Absolute(0.0),
            ..Noise::default()
        },
        ..SmoothGrad::new(Gradient)
    };
    let s = sg.explain(&m64, &input, &t, &Operator::Logit).unwrap();
    let e = relative(s.mean.data(), grad.data());
    assert!(e <= 1e-10, "{name}: SmoothGrad at noise 0 off by {e:e}");
    let m32 = model(name, build32);
    let g32 = Gradient
        .explain(&m32, &input.cast::<f32>(), &t, &Operator::Logit, 2)
        .unwrap();
    let as64: Vec<f64> = g32.values.data().iter().map(|&v| v as f64).collect();
    let e = relative(&as64, grad.data());
    assert!(e <= 1e-4, "{name}: f32 gradient off by {e:e} of its max");
}

fn resnet18<T: Scalar>(rng: &mut ChaCha8Rng) -> Graph<T> {
    let config = ResNetConfig {
        widths: [8, 16, 32, 64],
        stem: 8,
        ..ResNetConfig::resnet18(10)
    };
    resnet(&config, rng).unwrap()
}

fn mobilenet<T: Scalar>(rng: &mut ChaCha8Rng) -> Graph<T> {
    mobilenet_v3(&MobileNetV3Config::small(0.25, 10), rng).unwrap()
}

fn efficientnet_b0<T: Scalar>(rng: &mut ChaCha8Rng) -> Graph<T> {
    efficientnet(&EfficientNetConfig::new(0.25, 0.25, 0.2, 10), rng).unwrap()
}

fn small_vit<T: Scalar>(rng: &mut ChaCha8Rng) -> Graph<T> {
    let config = VitConfig {
        image_size: 32,
        patch_size: 8,
        num_layers: 2,
        num_heads: 2,
        hidden_dim: 16,
        mlp_dim: 32,
        num_classes: 10,
    };
    vit(&config, rng).unwrap()
}

#[test]
fn resnet18_explains_as_pytorch_differentiates() {
    check("resnet18", resnet18::<f64>, resnet18::<f32>);
}

#[test]
fn mobilenet_v3_small_explains_as_pytorch_differentiates() {
    check("mobilenet_v3_small", mobilenet::<f64>, mobilenet::<f32>);
}

#[test]
fn efficientnet_b0_explains_as_pytorch_differentiates() {
    check(
        "efficientnet_b0",
        efficientnet_b0::<f64>,
        efficientnet_b0::<f32>,
    );
}

#[test]
fn vit_explains_as_pytorch_differentiates() {
    check("vit", small_vit::<f64>, small_vit::<f32>);
}
