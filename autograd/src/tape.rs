//! The [`Tape`]: a Wengert list of every value computed, in the order computed, and
//! [`Tape::backward`], one reverse loop over it.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::grads::Grads;
use crate::op::Op;
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::var::Var;

/// One entry of the tape: a value, how it was computed, and whether a gradient must reach it.
pub(crate) struct Node<T: Scalar> {
    pub(crate) value: Tensor<T>,
    pub(crate) op: Op<T>,
    pub(crate) requires_grad: bool,
}

/// How the backward pass treats ReLU (and leaky ReLU).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReluBackward {
    /// The true derivative: `dx = dy * [x > 0]`.
    #[default]
    Standard,
    /// Guided backpropagation (Springenberg et al. 2015): only positive gradients pass back through
    /// a ReLU, `dx = max(dy, 0) * [x > 0]`. Not a derivative; a visualization rule.
    Guided,
}

static NEXT_TAPE_ID: AtomicUsize = AtomicUsize::new(0);

/// A record of a computation, for reverse-mode differentiation.
///
/// Create [`Var`]s with [`Tape::var`] (asks for a gradient) or [`Tape::constant`] (does not), compute
/// with their methods and operators, then call [`Tape::backward`] on a scalar result. Nodes are
/// pushed in evaluation order, which is already a topological order, so backward is a single loop
/// from the output down: no graph search, no sorting, no reference-counted nodes.
///
/// Only nodes that depend on a variable are differentiated, so weights held as constants cost
/// nothing in backward. Higher-order gradients are out of scope: gradients are plain tensors, not
/// recorded on a tape.
///
/// A tape is single-threaded (it uses a `RefCell`); run one tape per thread, sharing the weights'
/// tensors, which are cheap to clone.
pub struct Tape<T: Scalar = f32> {
    pub(crate) nodes: RefCell<Vec<Node<T>>>,
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
            nodes: RefCell::new(Vec::new()),
            relu_backward: Cell::new(ReluBackward::Standard),
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// A leaf that asks for a gradient (an input to explain, a parameter to train).
    pub fn var(&self, value: Tensor<T>) -> Var<'_, T> {
        self.push_node(value, Op::Leaf, true)
    }

    /// A leaf that never receives a gradient (weights while explaining, data while training).
    pub fn constant(&self, value: Tensor<T>) -> Var<'_, T> {
        self.push_node(value, Op::Leaf, false)
    }

    /// The number of nodes recorded.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether nothing has been recorded yet.
    pub fn is_empty(&self) -> bool {
        self.nodes.borrow().is_empty()
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

    /// Records an op's result; it needs a gradient if any of its inputs does.
    pub(crate) fn push(&self, value: Tensor<T>, op: Op<T>) -> Var<'_, T> {
        let requires_grad = {
            let nodes = self.nodes.borrow();
            op.inputs().iter().any(|&i| nodes[i].requires_grad)
        };
        self.push_node(value, op, requires_grad)
    }

    fn push_node(&self, value: Tensor<T>, op: Op<T>, requires_grad: bool) -> Var<'_, T> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node {
            value,
            op,
            requires_grad,
        });
        Var::new(nodes.len() - 1, self)
    }

    /// The value of node `id` (a cheap clone).
    pub(crate) fn value(&self, id: usize) -> Tensor<T> {
        self.nodes.borrow()[id].value.clone()
    }

    /// Whether node `id` receives a gradient.
    pub(crate) fn requires_grad(&self, id: usize) -> bool {
        self.nodes.borrow()[id].requires_grad
    }

    /// Gradients of a one-element `output` with respect to every variable it depends on.
    ///
    /// # Panics
    /// If `output` has more than one element (use [`Tape::backward_with`]) or is from another tape.
    pub fn backward(&self, output: Var<'_, T>) -> Grads<T> {
        let shape = output.shape();
        assert!(
            shape.iter().product::<usize>() == 1,
            "backward: output of shape {shape:?} is not a scalar; call backward_with and a seed \
             gradient of that shape"
        );
        self.backward_with(output, Tensor::ones(&shape))
    }

    /// Vector-Jacobian product: the gradients of `sum(output * seed)`, for an output of any shape.
    ///
    /// Runs every backward rule once, from `output` down to the first node. A node's gradient is
    /// dropped as soon as its rule has run; only the leaves' gradients are kept.
    ///
    /// # Panics
    /// If `seed`'s shape is not `output`'s, or `output` is from another tape.
    pub fn backward_with(&self, output: Var<'_, T>, seed: Tensor<T>) -> Grads<T> {
        assert_eq!(
            output.tape_id(),
            self.id,
            "backward: the output belongs to another tape"
        );
        let nodes = self.nodes.borrow();
        let root = output.id();
        assert_eq!(
            seed.shape(),
            nodes[root].value.shape(),
            "backward_with: seed shape {:?} differs from output shape {:?}",
            seed.shape(),
            nodes[root].value.shape()
        );
        let mut grads: Vec<Option<Tensor<T>>> = vec![None; root + 1];
        if nodes[root].requires_grad {
            grads[root] = Some(seed);
        }
        let mut ctx = crate::op::Backward {
            nodes: &nodes,
            grads: &mut grads,
            relu: self.relu_backward.get(),
        };
        for id in (0..=root).rev() {
            let node = &nodes[id];
            if matches!(node.op, Op::Leaf) {
                continue;
            }
            if let Some(dy) = ctx.grads[id].take() {
                node.op.backward(&mut ctx, &node.value, dy);
            }
        }
        Grads::new(self.id, grads)
    }
}
