//! The blocking loops around the AVX-512 micro-kernel (see the [module docs](super) for the
//! scheme), with per-thread packing buffers.

use std::cell::RefCell;

use super::avx512::{self, PanelA};
use super::pack::{pack_a, pack_b};
use super::{Operand, Store, KC, MC, MR, NC, NR};

/// Values of the packed `A` block: `MC` rows (a multiple of `MR`) by `KC`.
const A_LEN: usize = MC * KC;
/// Values of the packed `B` block: `KC` by `NC` columns (a multiple of `NR`).
const B_LEN: usize = KC * NC;
/// Up to this many columns of `C`, a row-major `A` is read in place rather than packed (a choice
/// of memory traffic only: the arithmetic is the same).
const DIRECT_N: usize = 8 * NR;
/// Floats per 64-byte cache line, the alignment of the packed panels.
const LINE: usize = 16;

thread_local! {
    /// This thread's packing buffers (allocated on first use, reused by every later call).
    static BUFFERS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// A register tile's worth of `C`, for the stores that go through a general-stride `C`.
#[repr(align(64))]
struct Tile([f32; MR * NR]);

/// `C <- alpha A B + beta C` with `C` given as `(pointer, row stride, column stride)`.
///
/// # Safety
/// AVX-512F must be present; the operands must satisfy the contract of [`super::sgemm`], with
/// `m, n > 0`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
pub unsafe fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: Operand,
    b: Operand,
    beta: f32,
    (c, rsc, csc): (*mut f32, isize, isize),
) {
    if k == 0 {
        // SAFETY: the caller vouched for every element of C.
        unsafe { scale(m, n, beta, (c, rsc, csc)) };
        return;
    }
    if rsc == 1 && csc != 1 {
        // Column-major C: compute C^T = B^T A^T, whose rows are contiguous.
        let bt = Operand {
            ptr: b.ptr,
            rs: b.cs,
            cs: b.rs,
        };
        let at = Operand {
            ptr: a.ptr,
            rs: a.cs,
            cs: a.rs,
        };
        // SAFETY: the same elements as the caller's, addressed through swapped strides.
        unsafe { blocked(n, k, m, alpha, bt, at, beta, (c, csc, rsc)) };
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { blocked(m, k, n, alpha, a, b, beta, (c, rsc, csc)) };
    }
}

/// `C <- beta C` (`C = 0` when `beta == 0`, whatever it held).
///
/// # Safety
/// Every element of the `m x n` matrix `C` must be writable.
unsafe fn scale(m: usize, n: usize, beta: f32, (c, rsc, csc): (*mut f32, isize, isize)) {
    for i in 0..m {
        for j in 0..n {
            // SAFETY: (i, j) is an element of C.
            unsafe {
                let e = c.offset(i as isize * rsc + j as isize * csc);
                *e = if beta == 0.0 { 0.0 } else { beta * *e };
            }
        }
    }
}

/// The five blocking loops.
///
/// # Safety
/// As for [`gemm`], with `k > 0`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
unsafe fn blocked(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: Operand,
    b: Operand,
    beta: f32,
    (c, rsc, csc): (*mut f32, isize, isize),
) {
    BUFFERS.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < A_LEN + B_LEN + LINE {
            buf.resize(A_LEN + B_LEN + LINE, 0.0);
        }
        let skew = buf.as_ptr().align_offset(64).min(LINE);
        let (apack, bpack) = buf[skew..skew + A_LEN + B_LEN].split_at_mut(A_LEN);
        let mut tile = Tile([0.0; MR * NR]);
        // A row-major A used by few columns is read in place: packing it would cost about as
        // much as the product.
        let direct = a.cs == 1 && n <= DIRECT_N;
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                let first = pc == 0;
                // SAFETY: rows pc..pc + kc < k and columns jc..jc + nc < n of B are valid;
                // bpack holds NC * KC values.
                unsafe { pack_b(b, (pc, kc), (jc, nc), bpack) };
                for ic in (0..m).step_by(MC) {
                    let mc = MC.min(m - ic);
                    if !direct {
                        // SAFETY: rows ic..ic + mc < m and columns pc..pc + kc < k of A are
                        // valid; apack holds MC * KC values.
                        unsafe { pack_a(a, (ic, mc), (pc, kc), apack) };
                    }
                    for s in 0..nc.div_ceil(NR) {
                        let cols = NR.min(nc - s * NR);
                        let bp = bpack[s * NR * kc..].as_ptr();
                        for r in 0..mc.div_ceil(MR) {
                            let rows = MR.min(mc - r * MR);
                            let ap = if direct {
                                // SAFETY: row ic + r MR < m, column pc < k of A.
                                let ptr = unsafe { a.at(ic + r * MR, pc) };
                                PanelA {
                                    ptr,
                                    row: a.rs,
                                    step: 1,
                                }
                            } else {
                                let ptr = apack[r * MR * kc..].as_ptr();
                                PanelA {
                                    ptr,
                                    row: 1,
                                    step: MR as isize,
                                }
                            };
                            let (i, j) = ((ic + r * MR) as isize, (jc + s * NR) as isize);
                            // SAFETY: element (i, j) of C is valid (i < m, j < n).
                            let cp = unsafe { c.offset(i * rsc + j * csc) };
                            let rule = (alpha, beta, first);
                            // SAFETY: the panels hold kc steps; the tile's rows x cols elements
                            // of C are valid.
                            unsafe {
                                if csc == 1 {
                                    let s = Store::direct(cp, rsc, cols, rule);
                                    avx512::dispatch(rows, cols.div_ceil(16), kc, ap, bp, &s);
                                } else {
                                    let s = Store::raw(&mut tile.0);
                                    avx512::dispatch(rows, cols.div_ceil(16), kc, ap, bp, &s);
                                    write_strided(&tile.0, (rows, cols), rule, (cp, rsc, csc));
                                }
                            }
                        }
                    }
                }
            }
        }
    });
}

impl Store {
    /// The store of a `cols`-wide tile straight into `C` (unit column stride).
    fn direct(
        c: *mut f32,
        rsc: isize,
        cols: usize,
        (alpha, beta, first): (f32, f32, bool),
    ) -> Self {
        let tail = cols - 16 * ((cols - 1) / 16);
        let last_mask = if tail == 16 {
            0xffff
        } else {
            (1u16 << tail) - 1
        };
        Store {
            c,
            rsc,
            last_mask,
            alpha,
            beta,
            first,
        }
    }

    /// The store of the bare accumulators into `tile` (rows `NR` apart): `1 * acc` is `acc`.
    fn raw(tile: &mut [f32; MR * NR]) -> Self {
        Store {
            c: tile.as_mut_ptr(),
            rsc: NR as isize,
            last_mask: 0xffff,
            alpha: 1.0,
            beta: 0.0,
            first: true,
        }
    }
}

/// Applies the kernel's update rule (see [`avx512::tile`]) from the accumulators in `tile` to a
/// `rows x cols` block of a general-stride `C`, with the same operations lane by lane.
///
/// # Safety
/// Every element of the block must be readable and writable.
unsafe fn write_strided(
    tile: &[f32; MR * NR],
    (rows, cols): (usize, usize),
    (alpha, beta, first): (f32, f32, bool),
    (c, rsc, csc): (*mut f32, isize, isize),
) {
    for i in 0..rows {
        for j in 0..cols {
            let scaled = alpha * tile[i * NR + j];
            // SAFETY: (i, j) is inside the block the caller vouched for.
            unsafe {
                let e = c.offset(i as isize * rsc + j as isize * csc);
                *e = if !first {
                    *e + scaled
                } else if beta == 0.0 {
                    scaled
                } else {
                    scaled + beta * *e
                };
            }
        }
    }
}
