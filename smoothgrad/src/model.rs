//! [`Model`]: anything that maps a batch `[B, ...]` to outputs `[B, K]` on a tape.
//!
//! Implemented for [`nn::Sequential`], for a `Sequential` cut before a layer ([`Cut`]: the logits
//! of a network that ends in softmax), and for closures ([`FnModel`]).

use std::error::Error;
use std::panic::{catch_unwind, AssertUnwindSafe};

use autograd::{Scalar, Tape, Tensor, Var};
use nn::{Context, Module, Sequential};

/// A differentiable model: a batch in, one row of `K` outputs per sample out.
///
/// Models are shared by reference across threads, one tape per thread, so they must be `Sync`;
/// their weights go on each tape as constants, so explaining never computes weight gradients.
pub trait Model<T: Scalar = f32>: Sync {
    /// Maps `x` `[B, ...]` to `[B, K]` on `x`'s tape.
    fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T>;

    /// The output shape for an input batch shape, or why the model rejects it.
    ///
    /// The default runs the model once on zeros of that shape and turns a panic inside an op (a
    /// shape mismatch) into an error; models that know their shapes override it.
    ///
    /// # Errors
    /// Why the model rejects the shape, saying what it expected and what it was given: any error
    /// (a `String` converts with `.into()`), kept as the source of the
    /// [`ExplainError::InputRejected`](crate::ExplainError::InputRejected) it becomes.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        let probe = AssertUnwindSafe(|| {
            let tape = Tape::<T>::new();
            self.forward(tape.constant(Tensor::zeros(input))).shape()
        });
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
    /// mixes the samples of a batch and changes as it runs, so explanations refuse it.
    fn is_training(&self) -> bool {
        false
    }
}

impl<T: Scalar> Model<T> for Sequential<T> {
    fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T> {
        Module::forward(self, x, &mut Context::inference(x.tape()))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        Ok(Module::output_shape(self, input)?)
    }

    fn is_training(&self) -> bool {
        Module::is_training(self)
    }
}

/// A [`Sequential`] cut before layer `end`: layers `0..end` only. SmoothGrad's authors recommend
/// explaining the logits, the layer before softmax; `Cut::before_softmax` finds that cut.
pub struct Cut<'a, T: Scalar = f32> {
    model: &'a Sequential<T>,
    end: usize,
}

impl<'a, T: Scalar> Cut<'a, T> {
    /// Layers `0..end` of `model`.
    ///
    /// # Errors
    /// If `end` is beyond the model.
    pub fn new(model: &'a Sequential<T>, end: usize) -> std::result::Result<Self, String> {
        if end > model.len() {
            return Err(format!(
                "cannot cut before layer {end}: the model has {} layers",
                model.len()
            ));
        }
        Ok(Cut { model, end })
    }

    /// The model without its trailing softmax or log-softmax layers (or whole if it has none).
    pub fn before_softmax(model: &'a Sequential<T>) -> Self {
        let mut end = model.len();
        while end > 0 {
            let spec = model.layers()[end - 1].to_string();
            if !(spec.starts_with("softmax") || spec.starts_with("logsoftmax")) {
                break;
            }
            end -= 1;
        }
        Cut { model, end }
    }

    /// How many layers are kept.
    pub fn len(&self) -> usize {
        self.end
    }

    /// Whether no layer is kept (the identity).
    pub fn is_empty(&self) -> bool {
        self.end == 0
    }
}

impl<T: Scalar> Model<T> for Cut<'_, T> {
    fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T> {
        self.model
            .forward_range(x, &mut Context::inference(x.tape()), 0..self.end)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        Ok(self.model.output_shape_range(input, 0..self.end)?)
    }

    fn is_training(&self) -> bool {
        Module::is_training(self.model)
    }
}

/// A closure as a model: `FnModel::new(|x| x.matmul_t(w).relu())`.
pub struct FnModel<F>(F);

impl<F> FnModel<F> {
    /// Wraps a closure from a batch to `[B, K]` outputs. (A constructor rather than a public
    /// field, so that the compiler infers the closure's lifetime-generic signature.)
    pub fn new<T: Scalar>(f: F) -> Self
    where
        F: for<'t> Fn(Var<'t, T>) -> Var<'t, T> + Sync,
    {
        FnModel(f)
    }
}

impl<T: Scalar, F> Model<T> for FnModel<F>
where
    F: for<'t> Fn(Var<'t, T>) -> Var<'t, T> + Sync,
{
    fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T> {
        (self.0)(x)
    }
}

impl<T: Scalar, M: Model<T> + ?Sized> Model<T> for &M {
    fn forward<'t>(&self, x: Var<'t, T>) -> Var<'t, T> {
        (**self).forward(x)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, Box<dyn Error + Send + Sync>> {
        (**self).output_shape(input)
    }

    fn is_training(&self) -> bool {
        (**self).is_training()
    }
}
