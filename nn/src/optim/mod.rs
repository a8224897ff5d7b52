//! Optimizers: [`Sgd`] (momentum, Nesterov, weight decay) and [`Adam`] (with L2 or decoupled
//! weight decay, that is AdamW), with exactly PyTorch's update rules.
//!
//! A training step records a forward pass with [`Context::training`], differentiates the loss,
//! then hands the context and the gradients to [`Optimizer::step`]:
//!
//! ```
//! use smoothgrad_autograd::{Tape, Tensor};
//! use smoothgrad_nn::optim::{Optimizer, Sgd, SgdConfig};
//! use smoothgrad_nn::{loss, Context, Linear, Module, Sequential};
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let mut model: Sequential = Sequential::new().with(Linear::new(2, 2, true, &mut rng));
//! let mut opt = Sgd::new(SgdConfig::new(0.1).momentum(0.9)).unwrap();
//! let x = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2]).unwrap();
//! let mut losses = Vec::new();
//! for _ in 0..20 {
//!     let tape = Tape::new();
//!     let mut cx = Context::training(&tape, 0);
//!     let logits = model.forward(tape.constant(x.clone()), &mut cx);
//!     let loss = loss::cross_entropy(logits, &[0, 1]);
//!     losses.push(loss.item());
//!     let grads = tape.backward(loss);
//!     opt.step(&mut model, &cx, &grads);
//! }
//! assert!(losses[19] < losses[0] / 4.0);
//! ```
//!
//! There is no `zero_grad`: every step builds a fresh tape whose backward pass returns fresh
//! gradients, so nothing accumulates between steps. (To accumulate over several batches, run their
//! forward passes on one tape and context and backpropagate the sum of the losses: a parameter
//! bound more than once has its gradients summed.)
//!
//! Optimizer state (momentum buffers, Adam's moments and step counts) is keyed by the parameter's
//! `state_dict` name (`0.weight`), as PyTorch keys it by parameter, so one optimizer belongs to one
//! model. A parameter that received no gradient in a step is left alone, state included, as
//! PyTorch skips parameters whose `.grad` is `None`.

use std::collections::HashMap;

use smoothgrad_autograd::{Grads, Scalar, Tensor};

use crate::module::{Context, Module, StateKind};

mod adam;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use sgd::{Sgd, SgdConfig};

/// Updates a model's parameters from their gradients.
///
/// Implementors provide [`Optimizer::update`] (one parameter); [`Optimizer::step`] finds each bound
/// parameter's gradient and calls it. The trait is object safe, so a program can choose its
/// optimizer at run time (`Box<dyn Optimizer>`).
pub trait Optimizer<T: Scalar = f32> {
    /// Updates the parameter `name` in place from its gradient, keeping any per-parameter state
    /// under that name.
    ///
    /// # Panics
    /// If `grad`'s shape is not `param`'s.
    fn update(&mut self, name: &str, param: &mut Tensor<T>, grad: &Tensor<T>);

    /// The learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (for schedules); the optimizer's state is kept.
    fn set_learning_rate(&mut self, lr: f64);

    /// One optimization step: for every parameter bound in `cx` (its full name from
    /// [`Context::bound`]) that `grads` has a gradient for, updates the model's parameter of that
    /// name. Use the context of the forward pass whose loss `grads` differentiates.
    ///
    /// # Panics
    /// If the model has no parameter of a bound name (the context is from another model) or a
    /// gradient's shape is not its parameter's.
    fn step(&mut self, model: &mut dyn Module<T>, cx: &Context<'_, T>, grads: &Grads<T>) {
        let named = gradients_by_name(cx, grads);
        self.apply(model, &named);
    }

    /// Updates each of the model's parameters that `grads` names (by full `state_dict` name) and
    /// leaves the others unchanged: [`Optimizer::step`] for gradients computed elsewhere.
    ///
    /// # Panics
    /// If a name in `grads` is not a parameter of the model (buffers are not trained), or a
    /// gradient's shape is not its parameter's.
    fn apply(&mut self, model: &mut dyn Module<T>, grads: &HashMap<String, Tensor<T>>) {
        let mut used = 0;
        model.visit_state_mut(&mut |name, kind, param| {
            if kind != StateKind::Parameter {
                return;
            }
            if let Some(grad) = grads.get(name) {
                used += 1;
                self.update(name, param, grad);
            }
        });
        if used != grads.len() {
            let mut params = Vec::new();
            model.visit_state_mut(&mut |name, kind, _| {
                if kind == StateKind::Parameter {
                    params.push(name.to_string());
                }
            });
            let mut unknown: Vec<&String> = grads.keys().filter(|n| !params.contains(n)).collect();
            unknown.sort();
            panic!("optimizer: gradients for {unknown:?}, which are not parameters of the model (its parameters: {params:?})");
        }
    }
}

impl<T: Scalar, O: Optimizer<T> + ?Sized> Optimizer<T> for Box<O> {
    fn update(&mut self, name: &str, param: &mut Tensor<T>, grad: &Tensor<T>) {
        (**self).update(name, param, grad);
    }

    fn learning_rate(&self) -> f64 {
        (**self).learning_rate()
    }

    fn set_learning_rate(&mut self, lr: f64) {
        (**self).set_learning_rate(lr);
    }
}

/// The gradient of every parameter bound in `cx` that `grads` has one for, by full name. A
/// parameter bound more than once (two forward passes on one context) gets the sum of its
/// gradients, as PyTorch accumulates `.grad`.
pub fn gradients_by_name<T: Scalar>(
    cx: &Context<'_, T>,
    grads: &Grads<T>,
) -> HashMap<String, Tensor<T>> {
    let mut out: HashMap<String, Tensor<T>> = HashMap::new();
    for (name, var) in cx.bound() {
        let Some(g) = grads.get(*var) else { continue };
        match out.get_mut(name) {
            Some(sum) => *sum = sum.zip_map(g, |a, b| a + b),
            None => {
                out.insert(name.clone(), g.clone());
            }
        }
    }
    out
}

/// Panics unless `grad` has `param`'s shape, naming the optimizer and the parameter.
pub(crate) fn check_shapes<T: Scalar>(
    optimizer: &str,
    name: &str,
    param: &Tensor<T>,
    grad: &Tensor<T>,
) {
    assert_eq!(
        param.shape(),
        grad.shape(),
        "{optimizer}: gradient of shape {:?} for parameter {name} of shape {:?}",
        grad.shape(),
        param.shape()
    );
}

/// Returns an error naming `what` unless `value` is finite and `>= 0`.
pub(crate) fn non_negative(optimizer: &str, what: &str, value: f64) -> crate::Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(crate::NnError::Config(format!(
            "{optimizer}: {what} must be a finite number >= 0, found {value}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use smoothgrad_autograd::Tape;

    use super::*;
    use crate::{Linear, Sequential};

    /// `p <- p - lr * g`, for testing the plumbing.
    struct Plain(f64);

    impl Optimizer<f64> for Plain {
        fn update(&mut self, name: &str, param: &mut Tensor<f64>, grad: &Tensor<f64>) {
            check_shapes("plain", name, param, grad);
            *param = param.zip_map(grad, |p, g| p - self.0 * g);
        }
        fn learning_rate(&self) -> f64 {
            self.0
        }
        fn set_learning_rate(&mut self, lr: f64) {
            self.0 = lr;
        }
    }

    fn model() -> Sequential<f64> {
        let w = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap();
        let b = Tensor::from_vec(vec![0.5], &[1]).unwrap();
        Sequential::new().with(Linear::from_weights(w, Some(b)).unwrap())
    }

    #[test]
    fn step_updates_bound_parameters_by_name_and_sums_repeats() {
        let mut m = model();
        let tape = Tape::new();
        let mut cx = Context::training(&tape, 0);
        let x = tape.constant(Tensor::from_vec(vec![3.0, 4.0], &[1, 2]).unwrap());
        // Two passes on one context: d/dw of (y1 + y2) = 2x, d/db = 2.
        let y = m.forward(x, &mut cx) + m.forward(x, &mut cx);
        let grads = tape.backward(y.sum());
        let named = gradients_by_name(&cx, &grads);
        assert_eq!(named["0.weight"].data(), &[6.0, 8.0]);
        assert_eq!(named["0.bias"].data(), &[2.0]);
        Box::new(Plain(0.5)).step(&mut m, &cx, &grads);
        let sd = m.state_dict();
        assert_eq!(sd[0].2.data(), &[1.0 - 3.0, 2.0 - 4.0]);
        assert_eq!(sd[1].2.data(), &[0.5 - 1.0]);
    }

    #[test]
    #[should_panic(expected = "not parameters of the model")]
    fn unknown_names_panic() {
        let mut grads = HashMap::new();
        grads.insert("3.weight".to_string(), Tensor::zeros(&[1, 2]));
        Plain(0.1).apply(&mut model(), &grads);
    }

    #[test]
    #[should_panic(
        expected = "plain: gradient of shape [2] for parameter 0.weight of shape [1, 2]"
    )]
    fn wrong_shapes_panic() {
        let mut grads = HashMap::new();
        grads.insert("0.weight".to_string(), Tensor::zeros(&[2]));
        Plain(0.1).apply(&mut model(), &grads);
    }
}
