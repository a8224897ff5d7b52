//! A Keras CNN (NHWC input; Conv2D with SAME padding, BatchNormalization, ReLU,
//! DepthwiseConv2D, pooling, GlobalAveragePooling2D, Dense, Softmax) converted by tf2onnx at
//! opsets 11, 13 and 17, with a fixed batch of 1 and a dynamic batch
//! (`tests/fixtures/make_tf2onnx_fixtures.py`): imported as float32 and run on a batch of 3
//! NHWC images in one graph run, its softmax output and the input gradient of
//! `sum_i probs[i, target[i]]` match TensorFlow's float32 ones to 1e-4 of their max.

mod reference;

use reference::{check, load, relative, run, sample};

fn opset(k: u32) {
    let r = load::<f32>("tf2onnx_io.safetensors", "probs");
    let fixed = check(&r, &format!("tf2onnx_opset{k}.onnx"), 1e-4);
    let dynamic = check(&r, &format!("tf2onnx_opset{k}_dynamic.onnx"), 1e-4);
    assert_eq!(
        fixed.data(),
        dynamic.data(),
        "opset {k}: fixed and dynamic batch differ"
    );
    let m = smoothgrad_onnx::import::<f32>(reference::fixture(&format!("tf2onnx_opset{k}.onnx")))
        .unwrap();
    for i in 0..3 {
        let one = run(&m, &sample(&r.input, i));
        assert_eq!(
            one.data(),
            sample(&fixed, i).data(),
            "opset {k}: sample {i}"
        );
    }
}

#[test]
fn tf2onnx_opset_11() {
    opset(11);
}

#[test]
fn tf2onnx_opset_13() {
    opset(13);
}

#[test]
fn tf2onnx_opset_17() {
    opset(17);
}

#[test]
fn float64_import_of_the_float32_model() {
    let r = load::<f32>("tf2onnx_io.safetensors", "probs");
    let m = smoothgrad_onnx::import::<f64>(reference::fixture("tf2onnx_opset13.onnx")).unwrap();
    let x = smoothgrad_autograd::Tensor::from_vec(
        r.input.data().iter().map(|&v| f64::from(v)).collect(),
        r.input.shape(),
    )
    .unwrap();
    let out: Vec<f64> = run(&m, &x).data().to_vec();
    let want: Vec<f64> = r.output.data().iter().map(|&v| f64::from(v)).collect();
    let e = relative(&out, &want);
    assert!(e <= 1e-5, "f64 probabilities off by {e:e}");
}
