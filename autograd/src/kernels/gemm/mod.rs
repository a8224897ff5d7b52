//! Single-threaded `f32` GEMM, `C <- alpha A B + beta C`, with an AVX-512 micro-kernel. With the
//! crate's `avx512-gemm` feature (off by default until its speed-up is measured on an idle
//! machine) it is the kernel behind [`Scalar::gemm`](crate::Scalar::gemm) for `f32`, so behind
//! every matmul and convolution; without it, [`sgemm`] is tested and benchmarked on its own.
//!
//! # Blocking
//! The classic Goto/BLIS scheme, three cache levels around a register tile:
//! - `jc`: columns of `B` and `C` in blocks of [`NC`];
//! - `pc`: the inner dimension in blocks of [`KC`] (fixed: the same blocks for every shape); the
//!   `KC x NC` block of `B` is packed into `NR`-column panels (about 1 MiB, kept in L2);
//! - `ic`: rows of `A` in blocks of [`MC`], packed into `MR`-row panels;
//! - `jr`, `ir`: one `KC x NR` panel of `B` (32 KiB, kept in L1) against each `MR`-row panel of
//!   `A`, through the micro-kernel on an [`MR`] x [`NR`] tile of `C` held in 24 zmm registers.
//!
//! # Determinism
//! Every element of `C` gets the same floating-point operations whatever `m`, `n`, strides,
//! alignment or position in a tile: for each `KC` block in order, a fused multiply-add chain
//! `acc = fma(A[i, p], B[p, j], acc)` over the block's `p` in order from `acc = 0`, then
//! `C = alpha acc + beta C` for the first block (`C = alpha acc` when `beta == 0`, ignoring the old
//! `C`, even NaN) and `C = C + alpha acc` for the later ones. Edge tiles run the same code with
//! fewer rows, zero-padded columns and masked stores; a `C` with unit row stride is computed as
//! `C^T = B^T A^T`, which gives each element the same operations (`fma` is symmetric in its
//! factors). When `n` is small, a row-major `A` is read in place instead of packed, which changes
//! memory traffic only. `k == 0` gives `C = beta C`.
//!
//! On a CPU without AVX-512F (detected once at run time) and on other architectures, the call goes
//! to `matrixmultiply::sgemm` instead; the choice never depends on the shape.

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod blocked;
mod pack;
#[cfg(test)]
mod tests;

/// Rows of the register tile (broadcasts of packed `A`).
pub const MR: usize = 12;
/// Columns of the register tile (two zmm vectors of packed `B`).
pub const NR: usize = 32;
/// The block of the inner dimension: fixed, so every element sums its products in the same
/// blocks whatever the shape.
pub const KC: usize = 256;
/// Rows of `A` packed at a time (a multiple of [`MR`]).
pub const MC: usize = 144;
/// Columns of `B` packed at a time (a multiple of [`NR`]).
pub const NC: usize = 1024;

/// A strided read-only matrix: element `(i, j)` at `ptr + i rs + j cs`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Operand {
    ptr: *const f32,
    rs: isize,
    cs: isize,
}

impl Operand {
    /// The address of element `(i, j)`.
    ///
    /// # Safety
    /// The element must lie inside the allocation `ptr` points into.
    unsafe fn at(self, i: usize, j: usize) -> *const f32 {
        // SAFETY: the caller vouched that the element is inside the allocation.
        unsafe { self.ptr.offset(i as isize * self.rs + j as isize * self.cs) }
    }
}

/// Where and how the micro-kernel writes its tile: rows of `c` `rsc` apart with unit column
/// stride, the last vector's live lanes in `last_mask`, and the update rule of the block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Store {
    c: *mut f32,
    rsc: isize,
    last_mask: u16,
    alpha: f32,
    beta: f32,
    /// The first `KC` block: `C = alpha acc + beta C`; later ones `C = C + alpha acc`.
    first: bool,
}

/// Whether this CPU runs the AVX-512 kernel (checked once, then cached).
pub fn uses_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static DETECTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| is_x86_feature_detected!("avx512f"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `C <- alpha A B + beta C` for an `m x k` matrix `A`, a `k x n` matrix `B` and an `m x n`
/// matrix `C`, each given by a pointer and a row and column stride in elements: the signature of
/// `matrixmultiply::sgemm`. With `beta == 0` the old `C` is never read.
///
/// # Safety
/// For every `i < m`, `p < k`, `j < n`, the addresses `a + i rsa + p csa`, `b + p rsb + j csb` and
/// `c + i rsc + j csc` must be valid (reads for `a` and `b`, reads and writes for `c`), and `c`
/// must not overlap `a` or `b`; distinct `(i, j)` must address distinct elements of `C`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) {
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if uses_avx512() {
        let a = Operand {
            ptr: a,
            rs: rsa,
            cs: csa,
        };
        let b = Operand {
            ptr: b,
            rs: rsb,
            cs: csb,
        };
        // SAFETY: AVX-512F is present; the caller vouched for the operands.
        unsafe { blocked::gemm(m, k, n, alpha, a, b, beta, (c, rsc, csc)) };
        return;
    }
    // SAFETY: the same contract as ours.
    unsafe {
        matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    }
}
