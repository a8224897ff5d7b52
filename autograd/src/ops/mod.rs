//! The operations, one family per file. Each file holds the `Var` methods (forwards) and the
//! backward rules of its ops, side by side, with the derivative in each doc comment.

pub mod binary;
pub mod conv;
pub mod custom;
pub mod index;
pub mod matmul;
pub mod pool;
pub mod reduce;
pub mod shape_ops;
pub mod softmax;
pub mod unary;
