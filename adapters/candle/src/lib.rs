//! SmoothGrad for [candle](https://docs.rs/candle-core) models: [`Candle`] wraps a candle forward
//! pass as a [`smoothgrad::Differentiable`] model, so the whole `smoothgrad` engine (SmoothGrad,
//! SmoothGrad-squared and VarGrad over the gradient, gradient x input or integrated gradients,
//! with its noise streams, batching, early stop and determinism) runs over candle's own
//! gradients.
//!
//! Per batch, the adapter runs the forward pass once on a candle [`Var`], turns the outputs `z`
//! into the scores and `dS/dz` ([`smoothgrad::Operator::output_gradients`]), and asks candle for
//! `d(sum z * dS/dz)/dx`, which is `dS/dx` for every row at once, one backward pass per target
//! slot.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use smoothgrad::{Operator, SmoothGrad, Targets};
//! use smoothgrad_candle::Candle;
//!
//! // z = tanh(x W^T): any candle computation from a batch [B, ...] to [B, K].
//! let w = Tensor::new(&[[1.0f32, -2.0, 0.5], [0.3, 0.1, -1.0]], &Device::Cpu).unwrap();
//! let model = Candle::new(move |x: &Tensor| x.matmul(&w.t()?)?.tanh());
//! let inputs = smoothgrad_autograd::Tensor::<f32>::randn_seeded(&[2, 3], 1);
//! let sg = SmoothGrad { samples: 16, ..SmoothGrad::default() };
//! let e = sg.explain(&model, &inputs, &Targets::Classes(vec![0, 1]), &Operator::Logit).unwrap();
//! assert_eq!(e.mean.shape(), &[2, 3]);
//! ```

#![warn(missing_docs)]

pub mod tiny;

use std::error::Error;

use candle_core::{Device, Tensor, Var, WithDType};
use smoothgrad::{Differentiable, Operator, Scored};
use smoothgrad_autograd::Scalar;

/// A candle model as a [`Differentiable`] model: a forward pass from a batch `[B, ...]` to outputs
/// `[B, K]`, run on the CPU.
///
/// The closure sees candle tensors of the element type explained (`f32` or `f64`); it is shared
/// across threads, so what it captures (the weights) must be `Sync`, as candle tensors are.
pub struct Candle<F> {
    forward: F,
    device: Device,
}

impl<F> Candle<F>
where
    F: Fn(&Tensor) -> candle_core::Result<Tensor> + Sync,
{
    /// Wraps a forward pass, run on the CPU.
    pub fn new(forward: F) -> Self {
        Candle {
            forward,
            device: Device::Cpu,
        }
    }

    /// The forward pass on a batch of ours.
    fn try_outputs<T: Scalar + WithDType>(
        &self,
        x: &smoothgrad_autograd::Tensor<T>,
    ) -> candle_core::Result<Tensor> {
        (self.forward)(&to_candle(x, &self.device)?)
    }
}

/// A tensor of ours as a candle tensor of the same shape and element type.
pub fn to_candle<T: Scalar + WithDType>(
    x: &smoothgrad_autograd::Tensor<T>,
    device: &Device,
) -> candle_core::Result<Tensor> {
    Tensor::from_vec(x.to_vec(), x.shape(), device)
}

/// A candle tensor as a tensor of ours of the same shape and element type.
pub fn from_candle<T: Scalar + WithDType>(
    t: &Tensor,
) -> candle_core::Result<smoothgrad_autograd::Tensor<T>> {
    let data = t.flatten_all()?.to_vec1::<T>()?;
    smoothgrad_autograd::Tensor::from_vec(data, t.dims())
        .map_err(|e| candle_core::Error::Msg(e.to_string()))
}

/// Implements [`Differentiable`] for each element type (one impl per type rather than one for
/// every `T`, which the blanket impl over [`smoothgrad::Model`] would conflict with).
macro_rules! differentiable {
    ($($t:ty),*) => {$(
impl<F> Differentiable<$t> for Candle<F>
where
    F: Fn(&Tensor) -> candle_core::Result<Tensor> + Sync,
{
    fn outputs(&self, x: &smoothgrad_autograd::Tensor<$t>) -> smoothgrad_autograd::Tensor<$t> {
        self.try_outputs(x)
            .and_then(|z| from_candle(&z))
            .unwrap_or_else(|e| panic!("candle forward pass failed: {e}"))
    }

    fn scores_and_gradients(
        &self,
        x: &smoothgrad_autograd::Tensor<$t>,
        targets: &[Vec<usize>],
        operator: &Operator<$t>,
    ) -> Vec<Scored<$t>> {
        let run = || -> candle_core::Result<Vec<Scored<$t>>> {
            let input = Var::from_tensor(&to_candle(x, &self.device)?)?;
            let z = (self.forward)(input.as_tensor())?;
            let outputs = from_candle::<$t>(&z)?;
            let slots = targets.first().map_or(0, Vec::len);
            (0..slots)
                .map(|j| {
                    let column: Vec<usize> = targets.iter().map(|t| t[j]).collect();
                    let seed = operator.output_gradients(&outputs, &column);
                    let seed_c = to_candle(&seed.gradients, &self.device)?;
                    let grads = (&z * &seed_c)?.sum_all()?.backward()?;
                    let gradients = match grads.get(input.as_tensor()) {
                        Some(g) => from_candle(g)?,
                        // The scores do not depend on the input.
                        None => smoothgrad_autograd::Tensor::zeros(x.shape()),
                    };
                    Ok(Scored {
                        scores: seed.scores,
                        gradients,
                    })
                })
                .collect()
        };
        run().unwrap_or_else(|e| panic!("candle backward pass failed: {e}"))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        let zeros = smoothgrad_autograd::Tensor::<$t>::zeros(input);
        let z = self
            .try_outputs(&zeros)
            .map_err(|e| format!("the candle model rejects input of shape {input:?}: {e}"))?;
        Ok(z.dims().to_vec())
    }
}
    )*};
}

differentiable!(f32, f64);
