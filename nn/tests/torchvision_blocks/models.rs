//! Whole torchvision classifiers from `smoothgrad_nn::models` (reduced widths, torchvision's keys) against
//! PyTorch's float64 logits and input gradients (`grad` = d(sum_i logits[i, target[i]]) / d input).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::io::read_file;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::models::efficientnet::{efficientnet, EfficientNetConfig};
use smoothgrad_nn::models::mobilenet_v3::{mobilenet_v3, MobileNetV3Config};
use smoothgrad_nn::models::resnet::{resnet, ResNetConfig};
use smoothgrad_nn::models::vit::{vit, VitConfig};
use smoothgrad_nn::{Context, Graph, Module};

use super::{fixtures, loaded, relative};

/// Loads fixture `name` into `model`, runs its input, and checks logits and the input gradient
/// of the targets' logits to `tol` of their max; also checks that every key was used.
fn check_classifier(name: &str, model: Graph<f64>, tol: f64) {
    let model = loaded(name, model);
    let file = read_file(fixtures().join(format!("{name}_io.safetensors"))).unwrap();
    let get = |key: &str| file.get::<f64>(key).unwrap();
    let input = get("input");
    let logits_ref = get("logits");
    let grad_ref = if file.contains("grad_exact") {
        get("grad_exact")
    } else {
        get("grad")
    };
    let targets: Vec<usize> = file
        .get_i64("target")
        .unwrap()
        .0
        .iter()
        .map(|&t| t as usize)
        .collect();
    assert!(
        !model.is_training(),
        "{name}: a fresh model is in eval mode"
    );
    let tape = Tape::new();
    let x = tape.var(input.clone());
    let y = model.forward(x, &mut Context::inference(&tape));
    let k = logits_ref.shape()[1];
    let mut seed = vec![0.0; targets.len() * k];
    for (i, &t) in targets.iter().enumerate() {
        seed[i * k + t] = 1.0;
    }
    let logits = y.value();
    let grads = tape.backward_with(y, Tensor::from_vec(seed, &[targets.len(), k]).unwrap());
    let (el, eg) = (
        relative(&logits, &logits_ref),
        relative(&grads.wrt(x), &grad_ref),
    );
    assert!(el <= tol, "{name}: logits off by {el:e} of their max");
    assert!(eg <= tol, "{name}: input gradient off by {eg:e} of its max");
}

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(1)
}

#[test]
fn resnet18_matches_torchvision() {
    let config = ResNetConfig {
        widths: [8, 16, 32, 64],
        stem: 8,
        ..ResNetConfig::resnet18(10)
    };
    check_classifier("resnet18", resnet(&config, &mut rng()).unwrap(), 1e-10);
}

#[test]
fn mobilenet_v3_small_matches_torchvision() {
    let config = MobileNetV3Config::small(0.25, 10);
    let model = mobilenet_v3(&config, &mut rng()).unwrap();
    check_classifier("mobilenet_v3_small", model, 1e-10);
}

#[test]
fn efficientnet_b0_matches_torchvision() {
    let config = EfficientNetConfig::new(0.25, 0.25, 0.2, 10);
    let model = efficientnet(&config, &mut rng()).unwrap();
    check_classifier("efficientnet_b0", model, 1e-10);
}

#[test]
fn vit_matches_torchvision() {
    let config = VitConfig {
        image_size: 32,
        patch_size: 8,
        num_layers: 2,
        num_heads: 2,
        hidden_dim: 16,
        mlp_dim: 32,
        num_classes: 10,
    };
    check_classifier("vit", vit(&config, &mut rng()).unwrap(), 1e-10);
}

#[test]
fn full_size_models_have_torchvisions_shapes() {
    let r18 = resnet::<f32>(&ResNetConfig::resnet18(1000), &mut rng()).unwrap();
    assert_eq!(r18.output_shape(&[1, 3, 224, 224]).unwrap(), vec![1, 1000]);
    let n: usize = r18.state_dict().iter().map(|(_, _, t)| t.numel()).sum();
    // torchvision's resnet18: 11,689,512 parameters, plus BatchNorm's running statistics
    // (2 x 4800) and 20 `num_batches_tracked` counters.
    assert_eq!(r18.state_dict().len(), 122);
    assert!(n >= 11_689_512, "{n}");
    let mb = mobilenet_v3::<f32>(&MobileNetV3Config::large(1.0, 1000), &mut rng()).unwrap();
    assert_eq!(mb.output_shape(&[2, 3, 224, 224]).unwrap(), vec![2, 1000]);
    let b0 = efficientnet::<f32>(&EfficientNetConfig::b0(1000), &mut rng()).unwrap();
    assert_eq!(b0.output_shape(&[1, 3, 224, 224]).unwrap(), vec![1, 1000]);
    let r50 = resnet::<f32>(&ResNetConfig::resnext50_32x4d(1000), &mut rng()).unwrap();
    assert_eq!(r50.output_shape(&[1, 3, 64, 64]).unwrap(), vec![1, 1000]);
}
