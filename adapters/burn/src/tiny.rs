//! A tiny MLP written in burn, with seeded weights: the model of the example and the tests.

use burn_tensor::backend::Backend;
use burn_tensor::{Element, Tensor};
use smoothgrad_autograd::Scalar;

use crate::tensor;

/// `linear(6 -> 8), tanh, linear(8 -> 3)` on inputs `[B, 6]`, in burn ops, with weights drawn
/// from a seed.
pub struct TinyMlp<B: Backend> {
    w1: Tensor<B, 2>,
    b1: Tensor<B, 2>,
    w2: Tensor<B, 2>,
    b2: Tensor<B, 2>,
}

impl<B: Backend> TinyMlp<B> {
    /// The number of input features.
    pub const INPUTS: usize = 6;
    /// The number of outputs.
    pub const CLASSES: usize = 3;

    /// Weights drawn from `N(0, 1)` streams of `seed` (through elements of type `T`), scaled by
    /// `1/sqrt(fan in)`.
    pub fn new<T: Scalar + Element>(seed: u64) -> Self {
        let draw = |shape: &[usize], k: u64, fan_in: usize| {
            let t = smoothgrad_autograd::Tensor::<T>::randn_seeded(shape, seed * 16 + k);
            let scale = T::from_f64_lossy(1.0 / (fan_in as f64).sqrt());
            tensor::<B, T, 2>(&t.map(|v| v * scale))
        };
        TinyMlp {
            w1: draw(&[6, 8], 0, 6),
            b1: draw(&[1, 8], 1, 6),
            w2: draw(&[8, 3], 2, 8),
            b2: draw(&[1, 3], 3, 8),
        }
    }

    /// The logits `[B, 3]` of a batch `[B, 6]`.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let h = (x.matmul(self.w1.clone()) + self.b1.clone()).tanh();
        h.matmul(self.w2.clone()) + self.b2.clone()
    }
}
