//! [`Differentiable`]: bring your own gradient. A batch in, per-sample scores and their input
//! gradients out; the SmoothGrad engine, gradient, gradient x input and integrated gradients need
//! nothing more, so a model of any framework (candle, burn, dfdx, a hand-written one) gets them
//! by implementing this trait.
//!
//! Every [`Model`] (every [`smoothgrad_nn::Module`], a [`crate::Cut`], a [`crate::FnModel`]) is
//! `Differentiable` through our tape. Methods that need the tape itself (guided backprop, which
//! changes the backward rule of every ReLU) require [`Model`] in their type instead, so asking
//! for them over a foreign model is a compile error, not a run-time one.
//!
//! Implementing it for a model of another framework takes the forward pass and one
//! vector-Jacobian product: [`Operator::output_gradients`] turns the model's outputs `z` `[B, K]`
//! into the scores and `dS/dz`, and the framework pulls `dS/dz` back to the input,
//! `dS/dx = (dz/dx)^T dS/dz`. Here for a linear model `z = x W^T`, whose pullback is `dS/dz W`:
//!
//! ```
//! use smoothgrad::{Differentiable, Gradient, Operator, Scored, SmoothGrad, Targets};
//! use smoothgrad_autograd::Tensor;
//!
//! /// z = x W^T, with W [K, D], computed by hand (any framework would do).
//! struct Linear { w: Vec<f64>, k: usize, d: usize }
//!
//! impl Linear {
//!     /// `[B, D] x [K, D]^T`, or the pullback `[B, K] x [K, D]` when `pull`.
//!     fn mul(&self, a: &[f64], pull: bool) -> Vec<f64> {
//!         let (inner, outer) = if pull { (self.k, self.d) } else { (self.d, self.k) };
//!         a.chunks(inner)
//!             .flat_map(|row| (0..outer).map(move |o| (0..inner).map(|i| {
//!                 let w = if pull { self.w[i * self.d + o] } else { self.w[o * self.d + i] };
//!                 row[i] * w
//!             }).sum::<f64>()))
//!             .collect()
//!     }
//! }
//!
//! impl Differentiable<f64> for Linear {
//!     fn outputs(&self, x: &Tensor<f64>) -> Tensor<f64> {
//!         Tensor::from_vec(self.mul(x.data(), false), &[x.shape()[0], self.k]).unwrap()
//!     }
//!
//!     fn scores_and_gradients(
//!         &self,
//!         x: &Tensor<f64>,
//!         targets: &[Vec<usize>],
//!         operator: &Operator<f64>,
//!     ) -> Vec<Scored<f64>> {
//!         let z = self.outputs(x);
//!         (0..targets[0].len())
//!             .map(|j| {
//!                 let column: Vec<usize> = targets.iter().map(|t| t[j]).collect();
//!                 let dz = operator.output_gradients(&z, &column);
//!                 let dx = self.mul(dz.gradients.data(), true);
//!                 Scored { scores: dz.scores, gradients: Tensor::from_vec(dx, x.shape()).unwrap() }
//!             })
//!             .collect()
//!     }
//! }
//!
//! let model = Linear { w: vec![1.0, 2.0, 3.0, -1.0, 0.5, 0.0], k: 2, d: 3 };
//! let inputs = Tensor::from_vec(vec![0.1, 0.2, 0.3], &[1, 3]).unwrap();
//! let sg = SmoothGrad { samples: 8, ..SmoothGrad::default() };
//! let e = sg.explain(&model, &inputs, &Targets::Classes(vec![1]), &Operator::Logit).unwrap();
//! // A linear model's gradient is its weight row, whatever the noise.
//! for (m, w) in e.mean.data().iter().zip([-1.0, 0.5, 0.0]) {
//!     assert!((m - w).abs() < 1e-12);
//! }
//! ```

use std::error::Error;
use std::panic::{catch_unwind, AssertUnwindSafe};

use smoothgrad_autograd::{ReluBackward, Scalar, Tape, Tensor};

use crate::model::Model;
use crate::operator::Operator;

/// Per-sample scores and their gradients, for one target slot of a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored<T: Scalar = f32> {
    /// `S(x_b)` for every row `b`: `[B]`.
    pub scores: Tensor<T>,
    /// `dS(x_b)/dx_b` for every row, with the shape of what was differentiated (the inputs
    /// `[B, ...]` from [`Differentiable::scores_and_gradients`], the outputs `[B, K]` from
    /// [`Operator::output_gradients`]).
    pub gradients: Tensor<T>,
}

/// A model that gives the scores of a batch and their input gradients: all that SmoothGrad,
/// gradient, gradient x input and integrated gradients need of it.
///
/// Samples must not interact (row `b` of the outputs depends on row `b` of the inputs only), and
/// the model is shared by reference across threads, so it must be `Sync`. See the
/// [module documentation](crate::differentiable) for an implementation in a few lines.
pub trait Differentiable<T: Scalar = f32>: Sync {
    /// The outputs `[B, K]` of a batch `x` `[B, ...]` (no gradient needed): the predicted classes
    /// and the checks of a request come from them.
    fn outputs(&self, x: &Tensor<T>) -> Tensor<T>;

    /// For each target slot `j` (`targets[b]` lists the classes of row `b`, the same number for
    /// every row): the scores `S_j(x_b) = operator(outputs(x)_b, targets[b][j])` `[B]` and their
    /// input gradients `dS_j(x_b)/dx_b` `[B, ...]`, with `x`'s shape.
    ///
    /// Inputs, targets and operator are validated before this is called; an error the
    /// validation could not foresee is a bug of the model and may panic.
    fn scores_and_gradients(
        &self,
        x: &Tensor<T>,
        targets: &[Vec<usize>],
        operator: &Operator<T>,
    ) -> Vec<Scored<T>>;

    /// The output shape for an input batch shape, or why the model rejects it.
    ///
    /// The default runs [`Differentiable::outputs`] once on zeros of that shape and turns a panic
    /// into an error; models that know their shapes override it.
    ///
    /// # Errors
    /// Why the model rejects the shape, saying what it expected and what it was given (kept as
    /// the source of the [`ExplainError::InputRejected`](crate::ExplainError::InputRejected) it
    /// becomes).
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        let probe = AssertUnwindSafe(|| self.outputs(&Tensor::zeros(input)).shape().to_vec());
        catch_unwind(probe).map_err(|payload| {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the model panicked".to_string());
            format!("the model rejects input of shape {input:?}: {msg}").into()
        })
    }

    /// Whether the model is in training mode (dropout active, batch statistics): such a model
    /// mixes the samples of a batch, so explanations refuse it.
    fn is_training(&self) -> bool {
        false
    }
}

/// Every [`Model`] through our tape: one forward pass, then one backward pass per target slot.
impl<T: Scalar, M: Model<T> + ?Sized> Differentiable<T> for M {
    fn outputs(&self, x: &Tensor<T>) -> Tensor<T> {
        let tape = Tape::new();
        self.forward(tape.constant(x.clone())).value()
    }

    fn scores_and_gradients(
        &self,
        x: &Tensor<T>,
        targets: &[Vec<usize>],
        operator: &Operator<T>,
    ) -> Vec<Scored<T>> {
        tape_gradients(self, x, targets, operator, ReluBackward::Standard)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        Model::output_shape(self, input)
    }

    fn is_training(&self) -> bool {
        Model::is_training(self)
    }
}

/// `S` and `dS/dx` for every target slot on our tape: one forward of `x`, then one backward per
/// slot, with the given ReLU rule.
pub(crate) fn tape_gradients<T: Scalar, M: Model<T> + ?Sized>(
    model: &M,
    x: &Tensor<T>,
    targets: &[Vec<usize>],
    operator: &Operator<T>,
    relu: ReluBackward,
) -> Vec<Scored<T>> {
    let tape = Tape::new();
    tape.set_relu_backward(relu);
    let input = tape.var(x.clone());
    let outputs = model.forward(input);
    let slots = targets.first().map_or(0, Vec::len);
    (0..slots)
        .map(|j| {
            let column: Vec<usize> = targets.iter().map(|t| t[j]).collect();
            let scores = operator.score(outputs, &column);
            let gradients = tape.backward(scores.sum()).wrt(input);
            Scored {
                scores: scores.value(),
                gradients,
            }
        })
        .collect()
}
