//! A tiny CNN written in candle, with seeded weights: the model of the example and the tests.

use candle_core::{Device, Result, Tensor, WithDType};
use smoothgrad_autograd::Scalar;

use crate::to_candle;

/// `conv2d(1 -> 3, 3x3, padding 1) + bias, tanh, max_pool2d(2), flatten, linear(27 -> 4)` on
/// inputs `[B, 1, 6, 6]`, in candle ops, with weights drawn from a seed.
pub struct TinyCnn {
    conv_w: Tensor,
    conv_b: Tensor,
    fc_w: Tensor,
    fc_b: Tensor,
}

impl TinyCnn {
    /// The input shape of one sample.
    pub const INPUT: [usize; 3] = [1, 6, 6];
    /// The number of outputs.
    pub const CLASSES: usize = 4;

    /// Weights of element type `T` (`f32` or `f64`) drawn from `N(0, 1)` streams of `seed`,
    /// scaled by `1/sqrt(fan in)`.
    ///
    /// # Errors
    /// A candle error creating the tensors.
    pub fn new<T: Scalar + WithDType>(seed: u64) -> Result<Self> {
        let draw = |shape: &[usize], k: u64, fan_in: usize| {
            let t = smoothgrad_autograd::Tensor::<T>::randn_seeded(shape, seed * 16 + k);
            let scale = T::from_f64_lossy(1.0 / (fan_in as f64).sqrt());
            to_candle(&t.map(|v| v * scale), &Device::Cpu)
        };
        Ok(TinyCnn {
            conv_w: draw(&[3, 1, 3, 3], 0, 9)?,
            conv_b: draw(&[3], 1, 9)?,
            fc_w: draw(&[Self::CLASSES, 27], 2, 27)?,
            fc_b: draw(&[Self::CLASSES], 3, 27)?,
        })
    }

    /// The logits `[B, 4]` of a batch `[B, 1, 6, 6]`.
    ///
    /// # Errors
    /// A candle error, for instance for an input of another shape.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = x
            .conv2d(&self.conv_w, 1, 1, 1, 1)?
            .broadcast_add(&self.conv_b.reshape((1, 3, 1, 1))?)?
            .tanh()?;
        let h = h.max_pool2d(2)?.flatten_from(1)?;
        h.matmul(&self.fc_w.t()?)?.broadcast_add(&self.fc_b)
    }
}
