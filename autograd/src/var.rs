//! [`Var`]: a handle to a value on a [`Tape`], and how ops record their results.
//!
//! The ops are `Var` methods, defined in the module of their family (`ops/<family>/mod.rs`, with
//! the derivative of each in its doc and the backward rule beside it in `ops/<family>/rule.rs`):
//!
//! | family | methods and operators |
//! |---|---|
//! | unary (`ops/unary`) | `add_scalar` `sub_scalar` `mul_scalar` `div_scalar` `powf` `recip` `exp` `ln` `sqrt` `abs` `square` `tanh` `sigmoid` `relu` `leaky_relu` `softplus` `clamp` `erf` `gelu` `gelu_tanh` `silu` `hardswish` `hardsigmoid` `relu6`, unary `-` |
//! | binary (`ops/binary`) | `+ - * /` between vars (broadcast) or with a scalar on either side, `maximum` `minimum` |
//! | reduce (`ops/reduce`) | `sum` `sum_axes` `mean` `mean_axes` `max` `max_axes` `min_axes` |
//! | matmul (`ops/matmul`) | `matmul` `matmul_t` |
//! | shape (`ops/shape`) | `reshape` `flatten` `unsqueeze` `squeeze` `permute` `transpose` `t` `broadcast_to` `narrow` `concat` `stack` |
//! | index (`ops/index`) | `index_select` `gather` `pick` |
//! | softmax (`ops/softmax`) | `softmax` `log_softmax` |
//! | conv (`ops/conv`) | `conv2d` |
//! | pool (`ops/pool`) | `max_pool2d` `avg_pool2d` `adaptive_avg_pool2d` |
//! | custom (`ops/custom`) | [`Tape::custom`] with a [`CustomOp`](crate::CustomOp) |
//!
//! This module holds the handle itself (accessors, [`Var::detach`]), the leaves
//! ([`Tape::var`], [`Tape::constant`]) and the one place every forward records its node.

use std::fmt;

use crate::op::Op;
use crate::scalar::Scalar;
use crate::tape::Tape;
use crate::tensor::Tensor;

/// A value recorded on a [`Tape`]: an index and a reference to the tape, so it is `Copy` and
/// operations read like math: `(x.matmul(w) + b).relu().sum()`.
///
/// The ops are methods (listed by family in this module's documentation, each with its
/// derivative) and `std::ops` impls for `+ - * /` and unary `-`, between two vars (with NumPy
/// broadcasting) or a var and a scalar.
#[derive(Clone, Copy)]
pub struct Var<'t, T: Scalar = f32> {
    id: usize,
    tape: &'t Tape<T>,
}

impl<T: Scalar> Tape<T> {
    /// A leaf that asks for a gradient (an input to explain, a parameter to train).
    pub fn var(&self, value: Tensor<T>) -> Var<'_, T> {
        Var::new(self.push(value, Op::Leaf, Some(true)), self)
    }

    /// A leaf that never receives a gradient (weights while explaining, data while training).
    pub fn constant(&self, value: Tensor<T>) -> Var<'_, T> {
        Var::new(self.push(value, Op::Leaf, Some(false)), self)
    }

    /// Records an op's result; it needs a gradient if any of its inputs does. Every forward ends
    /// here, with its family's payload (which names the inputs and carries what the rule needs).
    pub(crate) fn record(&self, value: Tensor<T>, payload: impl Into<Op<T>>) -> Var<'_, T> {
        Var::new(self.push(value, payload.into(), None), self)
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    fn new(id: usize, tape: &'t Tape<T>) -> Self {
        Var { id, tape }
    }

    /// Records an op's result on this var's tape (see [`Tape::record`]).
    pub(crate) fn record(&self, value: Tensor<T>, payload: impl Into<Op<T>>) -> Var<'t, T> {
        self.tape.record(value, payload)
    }

    /// The position of this node on its tape.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The tape this value is recorded on.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    pub(crate) fn tape_id(&self) -> usize {
        self.tape.id()
    }

    /// The value (a cheap clone of the tensor).
    pub fn value(&self) -> Tensor<T> {
        self.tape.value(self.id)
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.tape.nodes().values[self.id].shape().to_vec()
    }

    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.tape.nodes().values[self.id].rank()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.tape.nodes().values[self.id].numel()
    }

    /// The only element of a one-element value.
    ///
    /// # Panics
    /// If the value has more than one element.
    pub fn item(&self) -> T {
        self.tape.nodes().values[self.id].item()
    }

    /// Whether a gradient flows to this node (it depends on a [`Tape::var`]).
    pub fn requires_grad(&self) -> bool {
        self.tape.requires_grad(self.id)
    }

    /// The same value as a new constant: no gradient flows back through it.
    pub fn detach(&self) -> Var<'t, T> {
        self.tape.constant(self.value())
    }

    /// Checks that `other` is on the same tape, naming the op otherwise.
    pub(crate) fn same_tape(&self, op: &str, other: &Var<'t, T>) {
        assert!(
            std::ptr::eq(self.tape, other.tape),
            "{op}: operands are on different tapes"
        );
    }
}

impl<T: Scalar> fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Var(#{} {:?}, requires_grad: {})",
            self.id,
            self.shape(),
            self.requires_grad()
        )
    }
}
