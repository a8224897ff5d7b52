//! The [`Module`] trait every layer implements, and the [`Context`] a forward pass runs in.

use std::fmt;

use autograd::{Scalar, Tape, Tensor, Var};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::Result;

/// Whether a stored tensor is learned (a parameter) or tracked (a buffer, like BatchNorm's running
/// statistics). Both appear in the `state_dict`; only parameters receive gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateKind {
    /// Learned by gradient descent.
    Parameter,
    /// Updated by the forward pass in training mode, or fixed.
    Buffer,
}

/// A layer or a model: a forward pass on a tape, and named state in PyTorch's `state_dict` naming
/// (`weight`, `bias`, `running_mean`, ...; a [`crate::Sequential`] prefixes its children's names
/// with their index, `0.weight`).
///
/// `Display` prints the layer's spec (`conv2d(1,16,3,padding=1)`), which
/// [`crate::Sequential::from_spec`] parses back.
pub trait Module<T: Scalar = f32>: Send + Sync + fmt::Display {
    /// Applies the layer to a batch. The shape must have been accepted by
    /// [`Module::output_shape`]; other shapes may panic inside an op.
    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T>;

    /// The output shape for an input shape (batch axis first), or an error saying what the layer
    /// expected: how callers validate user input before running anything.
    ///
    /// # Errors
    /// [`crate::NnError::Shape`] if the layer cannot take this shape.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;

    /// Calls `f(name, kind, tensor)` for each stored tensor, in `state_dict` order.
    fn visit_state(&self, _f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {}

    /// Calls `f(name, kind, tensor)` with mutable access to each stored tensor (loading weights,
    /// optimizer steps). The callback may replace a tensor with one of the same shape.
    fn visit_state_mut(&mut self, _f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {}

    /// Switches between training behaviour (dropout active, batch statistics) and evaluation
    /// (dropout off, running statistics), as PyTorch's `train()` / `eval()`.
    fn set_training(&mut self, _training: bool) {}

    /// Whether the layer is in training mode (layers without a difference say `false`).
    fn is_training(&self) -> bool {
        false
    }
}

/// The state of one forward pass: the tape, whether parameters are recorded as variables (to
/// train) or constants (to explain, so no weight gradient is ever computed), the parameters bound
/// so far by name, and the random stream dropout draws from.
pub struct Context<'t, T: Scalar = f32> {
    tape: &'t Tape<T>,
    trainable: bool,
    prefix: Vec<String>,
    bound: Vec<(String, Var<'t, T>)>,
    rng: ChaCha8Rng,
}

impl<'t, T: Scalar> Context<'t, T> {
    /// A context whose parameters are constants: for inference and explanations.
    pub fn inference(tape: &'t Tape<T>) -> Self {
        Self::new(tape, false, 0)
    }

    /// A context whose parameters are variables, so `backward` yields their gradients; `seed`
    /// fixes the dropout masks.
    pub fn training(tape: &'t Tape<T>, seed: u64) -> Self {
        Self::new(tape, true, seed)
    }

    fn new(tape: &'t Tape<T>, trainable: bool, seed: u64) -> Self {
        Context {
            tape,
            trainable,
            prefix: Vec::new(),
            bound: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The tape.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    /// Puts a parameter on the tape (a variable when training, else a constant) under its full
    /// name, and returns it.
    pub fn param(&mut self, name: &str, value: &Tensor<T>) -> Var<'t, T> {
        let var = if self.trainable {
            self.tape.var(value.clone())
        } else {
            self.tape.constant(value.clone())
        };
        self.bound.push((self.full_name(name), var));
        var
    }

    /// Runs `f` with `name` pushed onto the name prefix (how `Sequential` names its children).
    pub fn scoped<R>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        self.prefix.push(name.to_string());
        let out = f(self);
        self.prefix.pop();
        out
    }

    /// `prefix.name`, as in a `state_dict`.
    pub fn full_name(&self, name: &str) -> String {
        let mut s = self.prefix.join(".");
        if !s.is_empty() {
            s.push('.');
        }
        s.push_str(name);
        s
    }

    /// The parameters bound so far, with their full names, in binding order.
    pub fn bound(&self) -> &[(String, Var<'t, T>)] {
        &self.bound
    }

    /// The random stream for stochastic layers (dropout).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}
