//! Whole models at realistic sizes (32x32 RGB input, pooling, global average pooling) against
//! finite differences in f64: the input gradient SmoothGrad averages must be exact where the
//! kernels take their fast paths, not only on the small shapes of the per-layer properties.

use super::*;

fn check_model(spec: &str, input: &[usize], seed: u64) {
    let model: Sequential<f64> = Sequential::from_spec_seeded(spec, seed).unwrap();
    let x = Tensor::<f64>::randn_seeded(input, seed + 1);
    let report = check_gradients(
        |tape, v| model.forward(v[0], &mut Context::inference(tape)),
        &[x],
        &CheckOptions::fast(6),
    );
    assert!(report.is_ok(), "{spec}: {}", report.unwrap_err());
}

#[test]
fn the_demo_cnn_input_gradient_matches_finite_differences() {
    check_model(
        "conv2d(3,16,3,padding=1), relu, maxpool2d(2), conv2d(16,32,3,padding=1), relu, \
         maxpool2d(2), conv2d(32,64,3,padding=1), relu, avgpool2d(8), flatten, linear(64,4)",
        &[2, 3, 32, 32],
        3,
    );
}

#[test]
fn the_cifar_benchmark_cnn_input_gradient_matches_finite_differences() {
    check_model(
        "conv2d(3,32,3,padding=1), relu, conv2d(32,32,3,padding=1), relu, maxpool2d(2), \
         conv2d(32,64,3,padding=1), relu, conv2d(64,64,3,padding=1), relu, maxpool2d(2), \
         flatten, linear(4096,128), relu, linear(128,10)",
        &[1, 3, 32, 32],
        5,
    );
}
