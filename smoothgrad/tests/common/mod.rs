//! Helpers shared by the smoothgrad integration tests: seeded random numbers, proptest settings,
//! bitwise views of tensors and the small test models.

// Each test binary compiles this module and uses only a subset of it.
#![allow(dead_code)]

use proptest::prelude::ProptestConfig;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::{Conv2dOptions, Pool2dOptions, Scalar, Tensor};
use smoothgrad_nn::Sequential;

/// A random number generator seeded with `seed`.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Proptest's default settings with `cases` cases.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// The bits of every element, as `f64`, so that tensors can be compared bitwise.
pub fn bits<T: Scalar>(t: &Tensor<T>) -> Vec<u64> {
    t.data()
        .iter()
        .map(|v| v.to_f64_lossless().to_bits())
        .collect()
}

/// `linear(d,h), relu, linear(h,h), relu, linear(h,k)`, its weights drawn from `rng(seed)`.
pub fn relu_mlp<T: Scalar>(seed: u64, d: usize, h: usize, k: usize) -> Sequential<T> {
    let mut r = rng(seed);
    Sequential::new()
        .with(smoothgrad_nn::Linear::new(d, h, true, &mut r))
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::Linear::new(h, h, true, &mut r))
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::Linear::new(h, k, true, &mut r))
}

/// A `conv2d(in_channels,out_channels,3,padding=1)` layer with bias, its weights drawn from `r`.
pub fn conv3x3<T: Scalar>(
    in_channels: usize,
    out_channels: usize,
    r: &mut ChaCha8Rng,
) -> smoothgrad_nn::Conv2d<T> {
    smoothgrad_nn::Conv2d::new(
        in_channels,
        out_channels,
        [3, 3],
        Conv2dOptions::default().padding(1),
        true,
        r,
    )
    .unwrap()
}

/// `conv2d(2,3,3,padding=1), relu, maxpool2d(2), flatten` on `[N, 2, 4, 4]`, giving 12 features
/// per input; the conv's weights are drawn from `r`.
pub fn conv_pool_features<T: Scalar>(r: &mut ChaCha8Rng) -> Sequential<T> {
    Sequential::new()
        .with(conv3x3(2, 3, r))
        .with(smoothgrad_nn::ReLU)
        .with(smoothgrad_nn::MaxPool2d::new(Pool2dOptions::new(2)).unwrap())
        .with(smoothgrad_nn::Flatten::default())
}
