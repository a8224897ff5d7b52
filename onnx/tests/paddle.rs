//! A PaddlePaddle CNN (Conv2D with bias as a separate Add, BatchNorm2D, ReLU, depthwise
//! Conv2D, ReLU6 as Clip, MaxPool2D, Hardswish as HardSigmoid times x, AdaptiveAvgPool2D,
//! flatten through Shape/Slice/Concat, Linear as MatMul + Add) exported by paddle2onnx at opset
//! 13 with a fixed batch of 1 and a dynamic batch (`tests/fixtures/make_paddle_fixtures.py`):
//! imported as float32 and run on a batch of 3, its logits and input gradient match Paddle's
//! float32 ones to 1e-4 of their max.

mod reference;

use reference::{check, load};

#[test]
fn paddle2onnx_fixed_and_dynamic_batch() {
    let r = load::<f32>("paddle_io.safetensors", "logits");
    let fixed = check(&r, "paddle.onnx", 1e-4);
    let dynamic = check(&r, "paddle_dynamic.onnx", 1e-4);
    assert_eq!(fixed.data(), dynamic.data());
}
