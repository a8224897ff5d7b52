//! [`Tape::backward`] and [`Tape::backward_with`]: one reverse loop over the tape.

use crate::grads::Grads;
use crate::op::Op;
use crate::rule::Backward;
use crate::scalar::Scalar;
use crate::tape::Tape;
use crate::tensor::Tensor;
use crate::var::Var;

impl<T: Scalar> Tape<T> {
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
    /// dropped as soon as its rule has run; only the leaves' gradients are kept. Nodes that need
    /// no gradient (constants and what depends only on them) receive none.
    ///
    /// # Panics
    /// If `seed`'s shape is not `output`'s, or `output` is from another tape.
    pub fn backward_with(&self, output: Var<'_, T>, seed: Tensor<T>) -> Grads<T> {
        assert_eq!(
            output.tape_id(),
            self.id(),
            "backward: the output belongs to another tape"
        );
        let nodes = self.nodes();
        let root = output.id();
        assert_eq!(
            seed.shape(),
            nodes.values[root].shape(),
            "backward_with: seed shape {:?} differs from output shape {:?}",
            seed.shape(),
            nodes.values[root].shape()
        );
        let mut grads: Vec<Option<Tensor<T>>> = vec![None; root + 1];
        if nodes.needs[root] {
            grads[root] = Some(seed);
        }
        let name_of = |id: usize| nodes.ops[id].name();
        let mut ctx = Backward::new(
            &nodes.values,
            &nodes.needs,
            &mut grads,
            self.relu_backward(),
            &name_of,
        );
        for id in (0..=root).rev() {
            let op = &nodes.ops[id];
            if matches!(op, Op::Leaf) {
                continue;
            }
            if let Some(dy) = ctx.enter(id) {
                op.backward(&mut ctx, &nodes.values[id], dy);
            }
        }
        Grads::new(self.id(), grads)
    }
}
