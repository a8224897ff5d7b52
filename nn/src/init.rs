//! Weight initialisation, from a seeded random stream.
//!
//! PyTorch's defaults are reproduced for each layer: `Linear` and `Conv2d` draw weights and biases
//! from `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` (that is `kaiming_uniform_(a = sqrt 5)` for the
//! weight); BatchNorm starts at weight 1, bias 0. Kaiming (He et al. 2015) and Xavier (Glorot &
//! Bengio 2010) schemes are available for anyone who wants them.

use rand::Rng;
use smoothgrad_autograd::{Scalar, Tensor};

/// `(fan_in, fan_out)` of a weight, as PyTorch computes them: for `[out, in, k...]`,
/// `fan_in = in * prod(k)`, `fan_out = out * prod(k)`.
///
/// # Panics
/// If the shape has fewer than 2 axes.
pub fn fans(shape: &[usize]) -> (usize, usize) {
    assert!(
        shape.len() >= 2,
        "fans: weight shape {shape:?} has fewer than 2 axes"
    );
    let receptive: usize = shape[2..].iter().product();
    (shape[1] * receptive, shape[0] * receptive)
}

/// Samples from `U(-bound, bound)`.
pub fn uniform<T: Scalar>(shape: &[usize], bound: f64, rng: &mut impl Rng) -> Tensor<T> {
    if bound == 0.0 {
        return Tensor::zeros(shape);
    }
    Tensor::uniform(
        shape,
        T::from_f64_lossy(-bound),
        T::from_f64_lossy(bound),
        rng,
    )
}

/// Samples from `N(0, std^2)`.
pub fn normal<T: Scalar>(shape: &[usize], std: f64, rng: &mut impl Rng) -> Tensor<T> {
    Tensor::<T>::randn(shape, rng).map(|z| z * T::from_f64_lossy(std))
}

/// PyTorch's default for `Linear` and `Conv2d` weights and biases: `U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in))`.
pub fn pytorch_default<T: Scalar>(shape: &[usize], fan_in: usize, rng: &mut impl Rng) -> Tensor<T> {
    let bound = if fan_in == 0 {
        0.0
    } else {
        1.0 / (fan_in as f64).sqrt()
    };
    uniform(shape, bound, rng)
}

/// Kaiming (He) uniform for ReLU networks: `U(-b, b)` with `b = gain sqrt(3 / fan_in)` and
/// `gain = sqrt(2 / (1 + a^2))` for leaky-ReLU slope `a` (0 for ReLU).
pub fn kaiming_uniform<T: Scalar>(shape: &[usize], a: f64, rng: &mut impl Rng) -> Tensor<T> {
    let (fan_in, _) = fans(shape);
    let gain = (2.0 / (1.0 + a * a)).sqrt();
    uniform(shape, gain * (3.0 / fan_in.max(1) as f64).sqrt(), rng)
}

/// Kaiming (He) normal: `N(0, gain^2 / fan_in)` with the gain of [`kaiming_uniform`].
pub fn kaiming_normal<T: Scalar>(shape: &[usize], a: f64, rng: &mut impl Rng) -> Tensor<T> {
    let (fan_in, _) = fans(shape);
    let gain = (2.0 / (1.0 + a * a)).sqrt();
    normal(shape, gain / (fan_in.max(1) as f64).sqrt(), rng)
}

/// Xavier (Glorot) uniform: `U(-b, b)` with `b = sqrt(6 / (fan_in + fan_out))`.
pub fn xavier_uniform<T: Scalar>(shape: &[usize], rng: &mut impl Rng) -> Tensor<T> {
    let (fan_in, fan_out) = fans(shape);
    uniform(shape, (6.0 / (fan_in + fan_out).max(1) as f64).sqrt(), rng)
}

/// Xavier (Glorot) normal: `N(0, 2 / (fan_in + fan_out))`.
pub fn xavier_normal<T: Scalar>(shape: &[usize], rng: &mut impl Rng) -> Tensor<T> {
    let (fan_in, fan_out) = fans(shape);
    normal(shape, (2.0 / (fan_in + fan_out).max(1) as f64).sqrt(), rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn fans_follow_pytorch() {
        assert_eq!(fans(&[16, 3, 5, 5]), (75, 400));
        assert_eq!(fans(&[10, 784]), (784, 10));
    }

    #[test]
    fn bounds_and_spreads() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let w: Tensor<f64> = pytorch_default(&[64, 100], 100, &mut rng);
        assert!(w.data().iter().all(|x| x.abs() <= 0.1));
        let k: Tensor<f64> = kaiming_normal(&[256, 512], 0.0, &mut rng);
        let var = k.data().iter().map(|x| x * x).sum::<f64>() / k.numel() as f64;
        assert!(
            (var - 2.0 / 512.0).abs() < 0.1 * 2.0 / 512.0,
            "variance {var}"
        );
        let x: Tensor<f64> = xavier_uniform(&[30, 70], &mut rng);
        let b = (6.0f64 / 100.0).sqrt();
        assert!(x.data().iter().all(|v| v.abs() <= b));
    }
}
