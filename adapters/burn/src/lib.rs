//! SmoothGrad for [burn](https://burn.dev) models: [`Burn`] wraps a forward pass on an autodiff
//! backend as a [`smoothgrad::Differentiable`] model, so the whole `smoothgrad` engine
//! (SmoothGrad, SmoothGrad-squared and VarGrad over the gradient, gradient x input or integrated
//! gradients, with its noise streams, batching, early stop and determinism) runs over burn's own
//! gradients.
//!
//! Per batch and target slot, the adapter runs the forward pass on an input that requires a
//! gradient, turns the outputs `z` into the scores and `dS/dz`
//! ([`smoothgrad::Operator::output_gradients`]), and asks burn for `d(sum z * dS/dz)/dx`, which
//! is `dS/dx` for every row at once. (burn consumes its graph in the backward pass, so each
//! target slot has a forward pass of its own.)
//!
//! ```
//! use burn_tensor::Tensor;
//! use smoothgrad::{Operator, SmoothGrad, Targets};
//! use smoothgrad_burn::{tensor, Burn, Cpu};
//!
//! // z = tanh(x W): any burn computation from a batch [B, 3] to [B, 2].
//! let w: Tensor<Cpu, 2> = tensor(&smoothgrad_autograd::Tensor::<f32>::randn_seeded(&[3, 2], 0));
//! let model = Burn::new(move |x: Tensor<Cpu, 2>| x.matmul(w.clone()).tanh());
//! let inputs = smoothgrad_autograd::Tensor::<f32>::randn_seeded(&[2, 3], 1);
//! let sg = SmoothGrad { samples: 16, ..SmoothGrad::default() };
//! let e = sg.explain(&model, &inputs, &Targets::Classes(vec![0, 1]), &Operator::Logit).unwrap();
//! assert_eq!(e.mean.shape(), &[2, 3]);
//! ```

#![warn(missing_docs)]

pub mod tiny;

use std::error::Error;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};

use burn_tensor::backend::{AutodiffBackend, Backend};
use burn_tensor::{Element, Tensor, TensorData};
use smoothgrad::{Differentiable, Operator, Scored};
use smoothgrad_autograd::Scalar;

/// burn's CPU backend (`burn-ndarray`) with autodiff, in `f32`.
pub type Cpu = burn_autodiff::Autodiff<burn_ndarray::NdArray<f32>>;

/// A burn model as a [`Differentiable`] model: a forward pass from a batch of rank `D`
/// (`[B, ...]`) to outputs `[B, K]`, on an autodiff backend `B`, on its default device.
///
/// The closure is shared across threads, so what it captures (the weights) must be `Sync`.
pub struct Burn<B, F, const D: usize> {
    forward: F,
    backend: PhantomData<fn() -> B>,
}

impl<B, F, const D: usize> Burn<B, F, D>
where
    B: AutodiffBackend,
    F: Fn(Tensor<B, D>) -> Tensor<B, 2> + Sync,
{
    /// Wraps a forward pass.
    pub fn new(forward: F) -> Self {
        Burn {
            forward,
            backend: PhantomData,
        }
    }
}

/// A tensor of ours as a burn tensor of rank `D` on `B`'s default device.
///
/// # Panics
/// If the tensor's rank is not `D`.
pub fn tensor<B: Backend, T: Scalar + Element, const D: usize>(
    x: &smoothgrad_autograd::Tensor<T>,
) -> Tensor<B, D> {
    let data = TensorData::new(x.to_vec(), x.shape().to_vec()).convert::<B::FloatElem>();
    Tensor::from_data(data, &B::Device::default())
}

/// A burn tensor as a tensor of ours of the same shape.
pub fn from_burn<B: Backend, T: Scalar + Element, const D: usize>(
    t: Tensor<B, D>,
) -> smoothgrad_autograd::Tensor<T> {
    let shape = t.dims().to_vec();
    let data = t
        .into_data()
        .convert::<T>()
        .into_vec::<T>()
        .expect("converted to the element type");
    smoothgrad_autograd::Tensor::from_vec(data, &shape).expect("burn's shape matches its data")
}

/// Implements [`Differentiable`] for each element type (one impl per type rather than one for
/// every `T`, which the blanket impl over [`smoothgrad::Model`] would conflict with).
macro_rules! differentiable {
    ($($t:ty),*) => {$(
impl<B, F, const D: usize> Differentiable<$t> for Burn<B, F, D>
where
    B: AutodiffBackend,
    F: Fn(Tensor<B, D>) -> Tensor<B, 2> + Sync,
{
    fn outputs(&self, x: &smoothgrad_autograd::Tensor<$t>) -> smoothgrad_autograd::Tensor<$t> {
        from_burn((self.forward)(tensor(x)))
    }

    fn scores_and_gradients(
        &self,
        x: &smoothgrad_autograd::Tensor<$t>,
        targets: &[Vec<usize>],
        operator: &Operator<$t>,
    ) -> Vec<Scored<$t>> {
        let slots = targets.first().map_or(0, Vec::len);
        (0..slots)
            .map(|j| {
                let input: Tensor<B, D> = tensor(x).require_grad();
                let z = (self.forward)(input.clone());
                let outputs = from_burn::<B, $t, 2>(z.clone());
                let column: Vec<usize> = targets.iter().map(|t| t[j]).collect();
                let seed = operator.output_gradients(&outputs, &column);
                let loss = (z * tensor::<B, $t, 2>(&seed.gradients)).sum();
                let grads = loss.backward();
                let gradients = match input.grad(&grads) {
                    Some(g) => from_burn(g),
                    // The scores do not depend on the input.
                    None => smoothgrad_autograd::Tensor::zeros(x.shape()),
                };
                Scored {
                    scores: seed.scores,
                    gradients,
                }
            })
            .collect()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        if input.len() != D {
            return Err(format!(
                "the burn model takes inputs of rank {D}, found shape {input:?} (rank {})",
                input.len()
            )
            .into());
        }
        let zeros = smoothgrad_autograd::Tensor::<$t>::zeros(input);
        let probe = AssertUnwindSafe(|| (self.forward)(tensor(&zeros)).dims().to_vec());
        catch_unwind(probe).map_err(|payload| {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the model panicked".to_string());
            format!("the burn model rejects input of shape {input:?}: {msg}").into()
        })
    }
}
    )*};
}

differentiable!(f32, f64);
