//! The closed set of operations a tape records: one variant per op family, and the dispatch.
//!
//! Each variant wraps its family's payload (`ops/<family>/rule.rs`), which names its inputs and
//! keeps what its backward rule needs (argmax indices, a convolution's geometry); the payload
//! implements [`Rule`]. Backward stays one reverse loop over a `match` (static dispatch), and a
//! new op within a family (a new unary function, say) changes only that family's files.

use crate::ops::binary::rule::BinaryOp;
use crate::ops::conv::rule::Conv2dOp;
use crate::ops::custom::rule::CustomRule;
use crate::ops::index::rule::IndexOp;
use crate::ops::matmul::rule::MatMulOp;
use crate::ops::pool::rule::PoolOp;
use crate::ops::reduce::rule::ReduceOp;
use crate::ops::shape::rule::ShapeOp;
use crate::ops::softmax::rule::SoftmaxOp;
use crate::ops::unary::rule::UnaryOp;
use crate::rule::{Backward, Rule};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Declares [`Op`] with one variant per family, `From<payload> for Op`, and the dispatch of
/// [`Rule`]'s methods (a leaf has no inputs and no rule).
macro_rules! op_families {
    ($($(#[$doc:meta])* $variant:ident($payload:ty),)*) => {
        /// How a node was computed.
        pub(crate) enum Op<T: Scalar> {
            /// A variable or constant supplied by the user.
            Leaf,
            $($(#[$doc])* $variant($payload),)*
        }

        $(impl<T: Scalar> From<$payload> for Op<T> {
            fn from(payload: $payload) -> Self {
                Op::$variant(payload)
            }
        })*

        impl<T: Scalar> Op<T> {
            /// The tape indices this op reads.
            pub(crate) fn inputs(&self) -> Vec<usize> {
                match self {
                    Op::Leaf => Vec::new(),
                    $(Op::$variant(p) => Rule::<T>::inputs(p),)*
                }
            }

            /// A short name for graphs and messages.
            pub(crate) fn name(&self) -> String {
                match self {
                    Op::Leaf => "leaf".into(),
                    $(Op::$variant(p) => Rule::<T>::name(p),)*
                }
            }

            /// Runs this op's backward rule (see [`Rule::backward`]).
            pub(crate) fn backward(&self, ctx: &mut Backward<'_, T>, y: &Tensor<T>, dy: Tensor<T>) {
                match self {
                    Op::Leaf => {}
                    $(Op::$variant(p) => p.backward(ctx, y, dy),)*
                }
            }
        }
    };
}

op_families! {
    /// An elementwise function of one input.
    Unary(UnaryOp<T>),
    /// An elementwise function of two inputs, broadcast.
    Binary(BinaryOp),
    /// A sum or a maximum over axes.
    Reduce(ReduceOp),
    /// A (batched) matrix product.
    MatMul(MatMulOp),
    /// A move of elements without arithmetic: permute, reshape, broadcast, narrow, concat.
    Shape(ShapeOp),
    /// `index_select` or `gather`.
    Index(IndexOp),
    /// Softmax or log-softmax along an axis.
    Softmax(SoftmaxOp),
    /// 2-D convolution.
    Conv(Conv2dOp),
    /// 2-D max or average pooling.
    Pool(PoolOp),
    /// A user-defined op.
    Custom(CustomRule<T>),
}
