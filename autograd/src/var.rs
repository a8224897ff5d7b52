//! [`Var`]: a handle to a value on a [`Tape`]; the ops are its methods.

use std::fmt;

use crate::scalar::Scalar;
use crate::tape::Tape;
use crate::tensor::Tensor;

/// A value recorded on a [`Tape`]: an index and a reference to the tape, so it is `Copy` and
/// operations read like math: `(x.matmul(w) + b).relu().sum()`.
///
/// The ops are methods (see the `ops` modules, one family per file, each with its derivative) and
/// `std::ops` impls for `+ - * /` and unary `-`, between two vars (with NumPy broadcasting) or a
/// var and a scalar.
#[derive(Clone, Copy)]
pub struct Var<'t, T: Scalar = f32> {
    id: usize,
    tape: &'t Tape<T>,
}

impl<'t, T: Scalar> Var<'t, T> {
    pub(crate) fn new(id: usize, tape: &'t Tape<T>) -> Self {
        Var { id, tape }
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
        self.tape.nodes.borrow()[self.id].value.shape().to_vec()
    }

    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.tape.nodes.borrow()[self.id].value.rank()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.tape.nodes.borrow()[self.id].value.numel()
    }

    /// The only element of a one-element value.
    ///
    /// # Panics
    /// If the value has more than one element.
    pub fn item(&self) -> T {
        self.tape.nodes.borrow()[self.id].value.item()
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
