//! A small, fast, tape-based reverse-mode automatic differentiation.
//!
//! ```
//! use smoothgrad_autograd::{Tape, Tensor};
//!
//! let tape = Tape::<f32>::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0, -2.0, 3.0], &[1, 3]).unwrap());
//! let w = tape.constant(Tensor::from_vec(vec![0.5, 1.0, -1.0, 2.0, 0.0, 1.0], &[3, 2]).unwrap());
//! let y = x.matmul(w).relu().sum(); // relu([2.5, 0.0]) summed
//! let grads = tape.backward(y);
//! assert_eq!(y.item(), 2.5);
//! // Only the first output is active, so dy/dx is the first column of w.
//! assert_eq!(grads.wrt(x).data(), &[0.5, -1.0, 0.0]);
//! ```
//!
//! The pieces:
//! - [`Tensor`]: an immutable row-major n-d array, shared by reference counting, for `T` in
//!   `{f32, f64}` ([`Scalar`]).
//! - [`Tape`] and [`Var`]: record a computation as a Wengert list, then [`Tape::backward`] walks it
//!   once in reverse. Each op is a method on [`Var`] and its derivative sits beside it in `ops/`;
//!   the kernels that do the arithmetic live in [`kernels`].
//! - [`check`]: a public finite-difference gradient checker, and (feature `proptest`)
//!   `strategies` for property tests of anyone's ops.
//! - [`CustomOp`]: add your own op with its backward rule.
//!
//! Only first-order gradients: a backward pass is not itself recorded, so gradients of gradients
//! (Hessians, double backprop) are out of scope.

#![warn(missing_docs)]

mod backward;
pub mod check;
mod display;
mod dot;
mod error;
mod grads;
#[cfg(feature = "safetensors")]
pub mod io;
pub mod kernels;
mod op;
mod ops;
mod rows;
mod rule;
mod scalar;
pub mod shape;
#[cfg(feature = "proptest")]
pub mod strategies;
mod tape;
mod tensor;
mod var;

pub use error::TensorError;
pub use grads::Grads;
pub use kernels::conv::Conv2dOptions;
pub use kernels::pool::Pool2dOptions;
pub use ops::custom::CustomOp;
pub use rows::argmax;
pub use rule::ReluBackward;
pub use scalar::Scalar;
pub use tape::Tape;
pub use tensor::Tensor;
pub use var::Var;
