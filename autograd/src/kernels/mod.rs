//! Computational kernels on plain slices, free of the tape: what the ops call to do the work.

pub mod broadcast;
pub mod conv;
pub mod gemm;
pub mod matmul;
pub mod pool;
pub mod reduce;
pub mod strided;
