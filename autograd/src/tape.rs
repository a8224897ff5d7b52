//! The [`Tape`]: a Wengert list of every value computed, in the order computed.
//!
//! This module only stores nodes; [`Var`](crate::Var) handles and recording live in `var.rs`,
//! the reverse loop in `backward.rs`.

use std::cell::{Cell, Ref, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::op::Op;
use crate::rule::ReluBackward;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The recorded nodes, one entry per node in each vector (struct of arrays, so a backward rule
/// sees the values and the gradient flags as plain slices).
pub(crate) struct Nodes<T: Scalar> {
    /// `values[i]`: the value of node `i`.
    pub(crate) values: Vec<Tensor<T>>,
    /// `needs[i]`: whether a gradient must reach node `i` (it depends on a variable).
    pub(crate) needs: Vec<bool>,
    /// `ops[i]`: how node `i` was computed.
    pub(crate) ops: Vec<Op<T>>,
}

static NEXT_TAPE_ID: AtomicUsize = AtomicUsize::new(0);

/// A record of a computation, for reverse-mode differentiation.
///
/// Create [`Var`](crate::Var)s with [`Tape::var`] (asks for a gradient) or [`Tape::constant`]
/// (does not), compute with their methods and operators, then call [`Tape::backward`] on a scalar
/// result. Nodes are pushed in evaluation order, which is already a topological order, so
/// backward is a single loop from the output down: no graph search, no sorting, no
/// reference-counted nodes.
///
/// Only nodes that depend on a variable are differentiated, so weights held as constants cost
/// nothing in backward. Higher-order gradients are out of scope: gradients are plain tensors, not
/// recorded on a tape.
///
/// A tape is single-threaded (it uses a `RefCell`); run one tape per thread, sharing the weights'
/// tensors, which are cheap to clone.
pub struct Tape<T: Scalar = f32> {
    nodes: RefCell<Nodes<T>>,
    relu_backward: Cell<ReluBackward>,
    id: usize,
}

impl<T: Scalar> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Scalar> Tape<T> {
    /// An empty tape.
    pub fn new() -> Self {
        Tape {
            nodes: RefCell::new(Nodes {
                values: Vec::new(),
                needs: Vec::new(),
                ops: Vec::new(),
            }),
            relu_backward: Cell::new(ReluBackward::Standard),
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The number of nodes recorded.
    pub fn len(&self) -> usize {
        self.nodes.borrow().values.len()
    }

    /// Whether nothing has been recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Chooses the rule that [`Tape::backward`] applies at ReLUs (see [`ReluBackward`]).
    pub fn set_relu_backward(&self, rule: ReluBackward) {
        self.relu_backward.set(rule);
    }

    /// The ReLU rule in force.
    pub fn relu_backward(&self) -> ReluBackward {
        self.relu_backward.get()
    }

    /// A number that identifies this tape among all tapes of the process.
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// The recorded nodes, borrowed.
    pub(crate) fn nodes(&self) -> Ref<'_, Nodes<T>> {
        self.nodes.borrow()
    }

    /// Appends a node and returns its index; with `needs == None` it needs a gradient if any of
    /// its inputs does.
    pub(crate) fn push(&self, value: Tensor<T>, op: Op<T>, needs: Option<bool>) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        let needs = needs.unwrap_or_else(|| op.inputs().iter().any(|&i| nodes.needs[i]));
        nodes.values.push(value);
        nodes.needs.push(needs);
        nodes.ops.push(op);
        nodes.values.len() - 1
    }

    /// The value of node `id` (a cheap clone).
    pub(crate) fn value(&self, id: usize) -> Tensor<T> {
        self.nodes.borrow().values[id].clone()
    }

    /// Whether node `id` receives a gradient.
    pub(crate) fn requires_grad(&self, id: usize) -> bool {
        self.nodes.borrow().needs[id]
    }
}
