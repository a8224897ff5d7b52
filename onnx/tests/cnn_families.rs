//! Every torchvision CNN family of the ONNX issue (reduced widths and depths), exported by both
//! PyTorch exporters (TorchScript, opset 17, and dynamo, opset 18+) with a fixed batch of 1 and
//! with a dynamic batch, by `tests/fixtures/make_cnn_fixtures.py`: logits and input gradients
//! match PyTorch's float64 references, a batch of several inputs gives what each input gives
//! alone (the batch-1 export runs on any batch), and the fixed and dynamic exports agree.

use std::path::PathBuf;

use smoothgrad::{Gradient, Method, Operator, Targets};
use smoothgrad_autograd::io::read_file;
use smoothgrad_autograd::{Tape, Tensor};
use smoothgrad_nn::{Context, Graph, Module};

/// The four exports of each family: exporter (`ts` TorchScript, `dy` dynamo) x batch
/// (fixed 1, `_dyn` dynamic).
const VARIANTS: [&str; 4] = ["ts", "ts_dyn", "dy", "dy_dyn"];

fn path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cnn")
        .join(file)
}

/// `max |a - b| / max |b|`.
fn relative(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

fn logits<T: smoothgrad_autograd::Scalar>(m: &Graph<T>, x: &Tensor<T>) -> Tensor<T> {
    let tape = Tape::new();
    m.forward(tape.var(x.clone()), &mut Context::inference(&tape))
        .value()
        .clone()
}

/// The reference input, target classes, logits and gradient of `family`.
struct Reference {
    input: Tensor<f64>,
    targets: Vec<usize>,
    logits: Tensor<f64>,
    grad: Tensor<f64>,
}

fn reference(family: &str) -> Reference {
    let io = read_file(path(&format!("{family}_ref.safetensors"))).unwrap();
    Reference {
        input: io.get("input").unwrap(),
        targets: io
            .get_i64("target")
            .unwrap()
            .0
            .iter()
            .map(|&t| t as usize)
            .collect(),
        logits: io.get("logits").unwrap(),
        grad: io.get("grad").unwrap(),
    }
}

/// A batch of three: the reference samples and scaled copies, `[3, C, H, W]`.
fn batch_of_three(input: &Tensor<f64>) -> Tensor<f64> {
    let shape = input.shape();
    let per: usize = shape[1..].iter().product();
    let d = input.data();
    let mut v = Vec::with_capacity(3 * per);
    for k in 0..3 {
        let s = k % shape[0];
        let scale = [1.0, 0.5, -0.75][k];
        v.extend(d[s * per..(s + 1) * per].iter().map(|x| x * scale));
    }
    let mut out = shape.to_vec();
    out[0] = 3;
    Tensor::from_vec(v, &out).unwrap()
}

/// Checks every export of `family` against the references to `tol` of their max.
fn check_family(family: &str, tol: f64) {
    let r = reference(family);
    let batch = batch_of_three(&r.input);
    let per: usize = batch.shape()[1..].iter().product();
    let mut first: Option<Tensor<f64>> = None;
    for v in VARIANTS {
        let file = format!("{family}_{v}.onnx");
        let m =
            smoothgrad_onnx::import::<f64>(path(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let out = logits(&m, &r.input);
        assert_eq!(out.shape(), r.logits.shape(), "{file}");
        let e = relative(out.data(), r.logits.data());
        assert!(e <= tol, "{file}: logits off by {e:e} of their max");
        let g = Gradient
            .explain(
                &m,
                &r.input,
                &Targets::Classes(r.targets.clone()),
                &Operator::Logit,
                1,
            )
            .unwrap();
        let e = relative(g.values.data(), r.grad.data());
        assert!(e <= tol, "{file}: input gradient off by {e:e} of its max");
        // One graph run on a batch of 3 equals each input run alone, bit for bit.
        let all = logits(&m, &batch);
        for k in 0..3 {
            let one = Tensor::from_vec(
                batch.data()[k * per..(k + 1) * per].to_vec(),
                &[&[1], &batch.shape()[1..]].concat(),
            )
            .unwrap();
            let alone = logits(&m, &one);
            assert_eq!(
                &all.data()[k * 10..(k + 1) * 10],
                alone.data(),
                "{file}: sample {k}"
            );
        }
        // The fixed-batch and dynamic exports agree on that batch.
        match &first {
            None => first = Some(all),
            Some(f) => {
                let e = relative(all.data(), f.data());
                assert!(e <= tol, "{file}: batch of 3 off the first export by {e:e}");
            }
        }
    }
}

macro_rules! family_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            check_family(stringify!($name), 1e-9);
        }
    )*};
}

family_tests!(
    resnet50,
    resnext50_32x4d,
    wide_resnet50_2,
    vgg11_bn,
    alexnet,
    squeezenet1_1,
    densenet121,
    googlenet,
    mobilenet_v2,
    mobilenet_v3_small,
    mobilenet_v3_large,
    mnasnet0_5,
    shufflenet_v2_x0_5,
    efficientnet_b0,
    regnet_y_400mf,
);

/// Float32 exports (TorchScript ResNet-50, dynamo ShuffleNetV2) imported as `f32` match the
/// float64 references to float32 rounding.
#[test]
fn float32_exports() {
    for (family, file) in [
        ("resnet50", "resnet50_ts_f32.onnx"),
        ("shufflenet_v2_x0_5", "shufflenet_v2_x0_5_dy_f32.onnx"),
    ] {
        let r = reference(family);
        let m = smoothgrad_onnx::import::<f32>(path(file)).unwrap();
        let x = Tensor::from_vec(
            r.input.data().iter().map(|&v| v as f32).collect(),
            r.input.shape(),
        )
        .unwrap();
        let out: Vec<f64> = logits(&m, &x)
            .data()
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let e = relative(&out, r.logits.data());
        assert!(e <= 1e-4, "{file}: logits off by {e:e} of their max");
    }
}
