//! The operations, one folder per family:
//!
//! - `<family>/mod.rs`: the [`Var`](crate::Var) methods (the forwards, the public API), with the
//!   derivative of each in its doc;
//! - `<family>/rule.rs`: the family's payload (what the tape keeps: input indices and what the
//!   rule needs), its name and inputs, the elementwise math if any, and the backward rule;
//! - `<family>/tests.rs`: hand-computed values and derivatives of the family.
//!
//! Rules see the tape only through [`crate::rule::Backward`], so `rule.rs` files never import the
//! tape, `Var` or the `Op` enum.

pub(crate) mod binary;
pub(crate) mod conv;
pub mod custom;
pub(crate) mod index;
pub(crate) mod matmul;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod shape;
pub(crate) mod softmax;
#[cfg(test)]
mod testing;
pub(crate) mod unary;
