//! The closed set of operations a tape records, and the dispatch of their backward rules.
//!
//! Each variant names its inputs by tape index and keeps what its rule needs (argmax indices, a
//! convolution's geometry); the rules themselves live next to their forwards in `ops/`.

use std::sync::Arc;

use crate::kernels::conv::Conv2dGeometry;
use crate::kernels::pool::Pool2dGeometry;
use crate::ops::binary::Binary;
use crate::ops::custom::CustomOp;
use crate::ops::unary::Unary;
use crate::ops::{binary, conv, custom, index, matmul, pool, reduce, shape_ops, softmax, unary};
use crate::scalar::Scalar;
use crate::tape::{Node, ReluBackward};
use crate::tensor::Tensor;

/// How a node was computed.
pub(crate) enum Op<T: Scalar> {
    /// A variable or constant supplied by the user.
    Leaf,
    /// An elementwise function of one input.
    Unary { x: usize, f: Unary<T> },
    /// An elementwise function of two inputs, broadcast.
    Binary { a: usize, b: usize, f: Binary },
    /// Sum over `axes`; `kept` is the output shape with the summed axes kept as 1.
    Sum { x: usize, kept: Vec<usize> },
    /// Maximum over axes; `argmax[i]` is the flat input index of output element `i`.
    Max { x: usize, argmax: Vec<usize> },
    /// Matrix product of the last two axes, batched over the rest; `b` read transposed if asked.
    MatMul {
        a: usize,
        b: usize,
        transpose_b: bool,
    },
    /// Axes reordered: output axis `i` is input axis `perm[i]`.
    Permute { x: usize, perm: Vec<usize> },
    /// Same data, new shape.
    Reshape { x: usize },
    /// Repeated along broadcast axes.
    BroadcastTo { x: usize },
    /// The slice `start..start + len` of `axis`.
    Narrow { x: usize, axis: usize, start: usize },
    /// Inputs joined along `axis`.
    Concat { xs: Vec<usize>, axis: usize },
    /// Entries `indices` of `axis`.
    IndexSelect {
        x: usize,
        axis: usize,
        indices: Vec<usize>,
    },
    /// `out[.., j, ..] = x[.., index[.., j, ..], ..]` along `axis`.
    Gather {
        x: usize,
        axis: usize,
        index: Vec<usize>,
    },
    /// Softmax along `axis` (the output is kept as the node's value).
    Softmax { x: usize, axis: usize },
    /// Log-softmax along `axis`.
    LogSoftmax { x: usize, axis: usize },
    /// 2-D convolution (cross-correlation, as PyTorch) with optional bias.
    Conv2d {
        x: usize,
        w: usize,
        b: Option<usize>,
        geom: Conv2dGeometry,
    },
    /// Max pooling, with the argmax of every window.
    MaxPool2d {
        x: usize,
        geom: Pool2dGeometry,
        argmax: Vec<u32>,
    },
    /// Average pooling.
    AvgPool2d { x: usize, geom: Pool2dGeometry },
    /// A user-defined op.
    Custom {
        inputs: Vec<usize>,
        op: Arc<dyn CustomOp<T>>,
    },
}

impl<T: Scalar> Op<T> {
    /// The tape indices this op reads.
    pub(crate) fn inputs(&self) -> Vec<usize> {
        match self {
            Op::Leaf => vec![],
            Op::Unary { x, .. }
            | Op::Sum { x, .. }
            | Op::Max { x, .. }
            | Op::Permute { x, .. }
            | Op::Reshape { x }
            | Op::BroadcastTo { x }
            | Op::Narrow { x, .. }
            | Op::IndexSelect { x, .. }
            | Op::Gather { x, .. }
            | Op::Softmax { x, .. }
            | Op::LogSoftmax { x, .. }
            | Op::MaxPool2d { x, .. }
            | Op::AvgPool2d { x, .. } => vec![*x],
            Op::Binary { a, b, .. } | Op::MatMul { a, b, .. } => vec![*a, *b],
            Op::Conv2d { x, w, b, .. } => [Some(*x), Some(*w), *b].into_iter().flatten().collect(),
            Op::Concat { xs, .. } => xs.clone(),
            Op::Custom { inputs, .. } => inputs.clone(),
        }
    }

    /// A short name for graphs and messages.
    pub(crate) fn name(&self) -> String {
        match self {
            Op::Leaf => "leaf".into(),
            Op::Unary { f, .. } => f.name(),
            Op::Binary { f, .. } => f.name().into(),
            Op::Sum { .. } => "sum".into(),
            Op::Max { .. } => "max".into(),
            Op::MatMul { .. } => "matmul".into(),
            Op::Permute { perm, .. } => format!("permute{perm:?}"),
            Op::Reshape { .. } => "reshape".into(),
            Op::BroadcastTo { .. } => "broadcast_to".into(),
            Op::Narrow { axis, start, .. } => format!("narrow(axis={axis}, start={start})"),
            Op::Concat { axis, .. } => format!("concat(axis={axis})"),
            Op::IndexSelect { axis, .. } => format!("index_select(axis={axis})"),
            Op::Gather { axis, .. } => format!("gather(axis={axis})"),
            Op::Softmax { axis, .. } => format!("softmax(axis={axis})"),
            Op::LogSoftmax { axis, .. } => format!("log_softmax(axis={axis})"),
            Op::Conv2d { .. } => "conv2d".into(),
            Op::MaxPool2d { .. } => "max_pool2d".into(),
            Op::AvgPool2d { .. } => "avg_pool2d".into(),
            Op::Custom { op, .. } => op.name().into(),
        }
    }

    /// Runs this op's rule: from `dy`, the gradient of its output `y`, adds each input's share to
    /// `ctx`. Inputs that need no gradient are skipped.
    pub(crate) fn backward(&self, ctx: &mut Backward<'_, T>, y: &Tensor<T>, dy: Tensor<T>) {
        match self {
            Op::Leaf => {}
            Op::Unary { x, f } => unary::backward(ctx, *x, f, y, &dy),
            Op::Binary { a, b, f } => binary::backward(ctx, *a, *b, *f, y, &dy),
            Op::Sum { x, kept } => reduce::sum_backward(ctx, *x, kept, &dy),
            Op::Max { x, argmax } => reduce::max_backward(ctx, *x, argmax, &dy),
            Op::MatMul { a, b, transpose_b } => matmul::backward(ctx, *a, *b, *transpose_b, &dy),
            Op::Permute { x, perm } => shape_ops::permute_backward(ctx, *x, perm, &dy),
            Op::Reshape { x } => shape_ops::reshape_backward(ctx, *x, dy),
            Op::BroadcastTo { x } => shape_ops::broadcast_backward(ctx, *x, &dy),
            Op::Narrow { x, axis, start } => {
                shape_ops::narrow_backward(ctx, *x, *axis, *start, &dy)
            }
            Op::Concat { xs, axis } => shape_ops::concat_backward(ctx, xs, *axis, &dy),
            Op::IndexSelect { x, axis, indices } => {
                index::index_select_backward(ctx, *x, *axis, indices, &dy)
            }
            Op::Gather { x, axis, index } => index::gather_backward(ctx, *x, *axis, index, &dy),
            Op::Softmax { x, axis } => softmax::softmax_backward(ctx, *x, *axis, y, &dy),
            Op::LogSoftmax { x, axis } => softmax::log_softmax_backward(ctx, *x, *axis, y, &dy),
            Op::Conv2d { x, w, b, geom } => conv::conv2d_backward(ctx, *x, *w, *b, geom, &dy),
            Op::MaxPool2d { x, geom, argmax } => {
                pool::max_pool2d_backward(ctx, *x, geom, argmax, &dy)
            }
            Op::AvgPool2d { x, geom } => pool::avg_pool2d_backward(ctx, *x, geom, &dy),
            Op::Custom { inputs, op } => custom::backward(ctx, inputs, op.as_ref(), y, &dy),
        }
    }
}

/// What a backward rule sees: the tape's values and the gradients accumulated so far.
pub(crate) struct Backward<'a, T: Scalar> {
    pub(crate) nodes: &'a [Node<T>],
    pub(crate) grads: &'a mut [Option<Tensor<T>>],
    pub(crate) relu: ReluBackward,
}

impl<'a, T: Scalar> Backward<'a, T> {
    /// The forward value of node `id`.
    pub(crate) fn value(&self, id: usize) -> &'a Tensor<T> {
        &self.nodes[id].value
    }

    /// Whether node `id` wants a gradient.
    pub(crate) fn needs(&self, id: usize) -> bool {
        self.nodes[id].requires_grad
    }

    /// Adds `g` to node `id`'s gradient (fan-out: a node used twice receives both shares), in
    /// place when the accumulated buffer is not shared.
    pub(crate) fn accumulate(&mut self, id: usize, g: Tensor<T>) {
        if !self.needs(id) {
            return;
        }
        let expected = self.nodes[id].value.shape();
        assert_eq!(
            g.shape(),
            expected,
            "backward of {}: gradient shape {:?} differs from value shape {expected:?}",
            self.nodes[id].op.name(),
            g.shape()
        );
        match &mut self.grads[id] {
            slot @ None => *slot = Some(g),
            Some(acc) => match acc.data_mut() {
                Some(buf) => crate::kernels::reduce::add_assign(buf, g.data()),
                None => *acc = acc.zip_map(&g, |a, b| a + b),
            },
        }
    }
}
