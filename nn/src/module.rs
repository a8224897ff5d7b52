//! The [`Module`] trait every layer implements, and the [`Context`] a forward pass runs in.

use std::fmt;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smoothgrad_autograd::{Scalar, Tape, Tensor, Var};

use crate::error::{NnError, Result};

/// Whether a stored tensor is learned (a parameter) or tracked (a buffer, like BatchNorm's running
/// statistics). Both appear in the `state_dict`; only parameters receive gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateKind {
    /// Learned by gradient descent.
    Parameter,
    /// Updated by the forward pass in training mode, or fixed.
    Buffer,
}

/// What a weights file records to rebuild a model ([`Module::structure`]): how
/// [`crate::weights::load`] knows which model a file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Structure {
    /// One layer, by its spec (`conv2d(1,16,3)`): [`crate::Sequential::from_spec`] builds it, and
    /// its state names are its own (`weight`).
    Layer(String),
    /// A [`crate::Sequential`], by its spec (`conv2d(1,16,3), relu`): its state names are prefixed
    /// by the layer index (`0.weight`).
    Sequential(String),
    /// A [`crate::Graph`], by its description ([`crate::Graph::description`]).
    Graph(String),
}

/// A layer or a model: a forward pass on a tape, and named state in PyTorch's `state_dict` naming
/// (`weight`, `bias`, `running_mean`, ...; a [`crate::Sequential`] prefixes its children's names
/// with their index, `0.weight`, a [`crate::Graph`] with their node's name).
///
/// Every model is a `Module`: explaining, saving, loading and randomizing take `&dyn Module`.
/// What a model can say about itself beyond its forward pass has a default, so a new layer needs
/// only [`Module::forward`] and [`Module::output_shape`]:
///
/// - [`Module::spec`]: the spec string (`conv2d(1,16,3,padding=1)`) that
///   [`crate::Sequential::from_spec`] parses back, if the module has one (the layers of this crate
///   also print it with `Display`);
/// - [`Module::is_normalizer`], [`Module::forward_logits`], [`Module::logits_shape`]: where its
///   logits are, the value before a final softmax (what SmoothGrad explains);
/// - [`Module::named_children`]: its direct sub-modules, the layers that parameter randomization
///   works on;
/// - [`Module::structure`]: what a weights file records to rebuild it.
pub trait Module<T: Scalar = f32>: Send + Sync {
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

    /// The module's spec string (`conv2d(1,16,3,padding=1)`, `linear(4,2), relu`), which
    /// [`crate::Sequential::from_spec`] parses back to the same module, or `None` if it has none
    /// (a module written in Rust only, a graph). The default is `None`.
    fn spec(&self) -> Option<String> {
        None
    }

    /// Whether the layer maps logits to (log-)probabilities: softmax and log-softmax. A model's
    /// logits are its value before its trailing normalizers ([`Module::forward_logits`]). The
    /// default is `false`.
    fn is_normalizer(&self) -> bool {
        false
    }

    /// The model's logits: its forward pass without its trailing softmax or log-softmax (what
    /// SmoothGrad's authors recommend explaining). The default is the whole forward pass, or the
    /// identity for a normalizer itself; a [`crate::Sequential`] stops before its trailing
    /// normalizer layers, a [`crate::Graph`] at the input of its trailing normalizer nodes.
    fn forward_logits<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        if self.is_normalizer() {
            x
        } else {
            self.forward(x, cx)
        }
    }

    /// The shape of [`Module::forward_logits`] for an input shape, as [`Module::output_shape`].
    ///
    /// # Errors
    /// [`crate::NnError::Shape`] if the model cannot take this shape.
    fn logits_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if self.is_normalizer() {
            Ok(input.to_vec())
        } else {
            self.output_shape(input)
        }
    }

    /// The direct sub-modules, each with the prefix of its state names (PyTorch's
    /// `named_children`): a [`crate::Sequential`]'s layers (`"0"`, `"1"`, ...), a
    /// [`crate::Graph`]'s module nodes (by node name). A layer has none (the default).
    fn named_children(&self) -> Vec<(String, &dyn Module<T>)> {
        Vec::new()
    }

    /// The module as a [`crate::Graph`], if it is one: how a caller holding a `&dyn Module`
    /// cuts a graph at a named node (`--output-node`). The default is `None`.
    fn as_graph(&self) -> Option<&crate::Graph<T>> {
        None
    }

    /// The module as a [`crate::Sequential`], if it is one (as [`Module::as_graph`]).
    fn as_sequential(&self) -> Option<&crate::Sequential<T>> {
        None
    }

    /// What a weights file records to rebuild the module: by default its spec as one layer.
    ///
    /// # Errors
    /// [`crate::NnError::Config`] if the module has no spec (or, for a graph, a node has none),
    /// saying which.
    fn structure(&self) -> Result<Structure> {
        self.spec().map(Structure::Layer).ok_or_else(|| {
            NnError::Config("the model has no spec, so its structure cannot be saved".to_string())
        })
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

impl<T: Scalar> fmt::Display for dyn Module<T> + '_ {
    /// The module's spec ([`Module::spec`]), or `<no spec>`: how a boxed layer prints.
    /// The alternate form (`{:#}`) puts a [`crate::Sequential`] in parentheses, as a group inside
    /// another spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.spec() {
            Some(spec)
                if f.alternate() && matches!(self.structure(), Ok(Structure::Sequential(_))) =>
            {
                write!(f, "({spec})")
            }
            Some(spec) => f.write_str(&spec),
            None => f.write_str("<no spec>"),
        }
    }
}

/// A boxed module is the module (so a `Box<dyn Module>` loaded from a file is one).
impl<T: Scalar, M: Module<T> + ?Sized> Module<T> for Box<M> {
    fn forward<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        (**self).forward(x, cx)
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        (**self).output_shape(input)
    }

    fn visit_state(&self, f: &mut dyn FnMut(&str, StateKind, &Tensor<T>)) {
        (**self).visit_state(f)
    }

    fn visit_state_mut(&mut self, f: &mut dyn FnMut(&str, StateKind, &mut Tensor<T>)) {
        (**self).visit_state_mut(f)
    }

    fn set_training(&mut self, training: bool) {
        (**self).set_training(training)
    }

    fn is_training(&self) -> bool {
        (**self).is_training()
    }

    fn spec(&self) -> Option<String> {
        (**self).spec()
    }

    fn is_normalizer(&self) -> bool {
        (**self).is_normalizer()
    }

    fn forward_logits<'t>(&self, x: Var<'t, T>, cx: &mut Context<'t, T>) -> Var<'t, T> {
        (**self).forward_logits(x, cx)
    }

    fn logits_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        (**self).logits_shape(input)
    }

    fn named_children(&self) -> Vec<(String, &dyn Module<T>)> {
        (**self).named_children()
    }

    fn as_graph(&self) -> Option<&crate::Graph<T>> {
        (**self).as_graph()
    }

    fn as_sequential(&self) -> Option<&crate::Sequential<T>> {
        (**self).as_sequential()
    }

    fn structure(&self) -> Result<Structure> {
        (**self).structure()
    }
}

impl<T: Scalar> fmt::Debug for dyn Module<T> + '_ {
    /// `Module(<spec>)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Module({self})")
    }
}
