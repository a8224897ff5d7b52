//! What a backward rule sees and must provide: the bottom layer of the op hub.
//!
//! Every op family's payload (`ops/<family>/rule.rs`) implements [`Rule`]: its inputs (tape
//! indices), its name, and its backward rule, which reads forward values and adds gradients
//! through a [`Backward`] context. This module knows nothing of the tape, `Var` or the `Op`
//! enum: it sees the tape as plain slices, so rules import only this module, tensors, scalars and
//! kernels, and the op hub has no import cycle.

use crate::kernels::reduce::add_assign;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

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

/// One op family's payload: what an `Op` variant holds, and its part of the dispatch.
///
/// Implemented by every family's payload type; the `Op` enum forwards to it through one `match`
/// (static dispatch, no boxing).
pub(crate) trait Rule<T: Scalar> {
    /// The tape indices this op reads, in order.
    fn inputs(&self) -> Vec<usize>;

    /// A short name for graphs and messages, e.g. `relu` or `narrow(axis=1, start=2)`.
    fn name(&self) -> String;

    /// From `dy`, the gradient of this op's output `y`, adds each input's share to `ctx`
    /// ([`Backward::accumulate`]). Inputs that need no gradient ([`Backward::needs`]) are skipped.
    fn backward(&self, ctx: &mut Backward<'_, T>, y: &Tensor<T>, dy: Tensor<T>);
}

/// What a backward rule sees: the tape's forward values, which nodes want a gradient, the
/// gradients accumulated so far, and the ReLU rule in force.
pub(crate) struct Backward<'a, T: Scalar> {
    /// `values[i]`: the forward value of node `i`.
    values: &'a [Tensor<T>],
    /// `needs[i]`: whether node `i` wants a gradient (it depends on a variable).
    needs: &'a [bool],
    /// `grads[i]`: the gradient of node `i` accumulated so far (`None`: nothing yet).
    grads: &'a mut [Option<Tensor<T>>],
    /// The ReLU rule of the tape.
    pub(crate) relu: ReluBackward,
    /// The node whose rule is running.
    current: usize,
    /// The name of node `i`'s op (called only to word a panic).
    name_of: &'a dyn Fn(usize) -> String,
}

impl<'a, T: Scalar> Backward<'a, T> {
    /// A context over a tape's values and gradient flags, writing into `grads`; `name_of(i)`
    /// names node `i`'s op, for the shape-mismatch panic of [`Backward::accumulate`].
    pub(crate) fn new(
        values: &'a [Tensor<T>],
        needs: &'a [bool],
        grads: &'a mut [Option<Tensor<T>>],
        relu: ReluBackward,
        name_of: &'a dyn Fn(usize) -> String,
    ) -> Self {
        Backward {
            values,
            needs,
            grads,
            relu,
            current: 0,
            name_of,
        }
    }

    /// Marks node `id` as the one whose rule runs next, and takes its gradient out (`None` if
    /// no gradient reached it): a node's gradient is dropped once its rule has run.
    pub(crate) fn enter(&mut self, id: usize) -> Option<Tensor<T>> {
        self.current = id;
        self.grads[id].take()
    }

    /// The forward value of node `id`.
    pub(crate) fn value(&self, id: usize) -> &'a Tensor<T> {
        &self.values[id]
    }

    /// Whether node `id` wants a gradient.
    pub(crate) fn needs(&self, id: usize) -> bool {
        self.needs[id]
    }

    /// Adds `g` to node `id`'s gradient (fan-out: a node used twice receives both shares), in
    /// place when the accumulated buffer is not shared. Does nothing if `id` needs no gradient.
    ///
    /// # Panics
    /// If `g`'s shape is not node `id`'s value shape, naming the op whose rule produced `g`.
    pub(crate) fn accumulate(&mut self, id: usize, g: Tensor<T>) {
        if !self.needs(id) {
            return;
        }
        let expected = self.values[id].shape();
        if g.shape() != expected {
            panic!(
                "backward of {}: gradient shape {:?} differs from value shape {expected:?}",
                (self.name_of)(self.current),
                g.shape()
            );
        }
        match &mut self.grads[id] {
            slot @ None => *slot = Some(g),
            Some(acc) => match acc.data_mut() {
                Some(buf) => add_assign(buf, g.data()),
                None => *acc = acc.zip_map(&g, |a, b| a + b),
            },
        }
    }
}
