//! The AVX-512 micro-kernel: an `R x 16 NV` tile of `C` (at most [`MR`] x [`NR`]) from one packed
//! `A` micro-panel and one packed `B` micro-panel over one `KC` block of the inner dimension.
//!
//! Accumulators: `R * NV` zmm registers (24 for the full 12 x 32 tile), plus `NV` for the row of
//! `B` and one broadcast of `A`, within the 32 zmm registers of AVX-512. For every `p` of the
//! block the kernel loads `B[p, 0..16 NV]`, broadcasts each `A[i, p]` and issues one fused
//! multiply-add per accumulator vector, so lane `(i, j)` computes
//! `acc = fma(A[i, p], B[p, j], acc)` for `p` in order, starting from `acc = 0`. Rows beyond `R`
//! are not computed (the narrower tiles are the same code with a smaller `R`), columns beyond the
//! edge are zero in the pack and masked at the store, so the sequence of operations per element
//! does not depend on where the element sits in its tile.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::{Store, MR, NR};

/// The `A` side of a tile: row `i`, step `p` at `ptr + i row + p step` (`row = 1, step = MR` in a
/// packed panel; `row = rsa, step = 1` in a row-major `A` read in place).
#[derive(Clone, Copy, Debug)]
pub struct PanelA {
    /// Row 0, step 0.
    pub ptr: *const f32,
    /// Elements between rows.
    pub row: isize,
    /// Elements between steps of the inner dimension.
    pub step: isize,
}

/// Runs the `R x 16 NV` tile: `kc` steps over the panel `a` of `A` (packed, or rows of a row-major
/// `A` read in place) and the packed panel `b` (`kc` groups of [`NR`] values), then writes the tile
/// through `store`.
///
/// The write of lane `(i, j)`, with `acc` the block's dot product:
/// - first block, `beta == 0`: `C = alpha * acc` (the old `C`, even NaN, is never read);
/// - first block, otherwise: `C = alpha * acc + beta * C`;
/// - later blocks: `C = C + alpha * acc`.
///
/// # Safety
/// The CPU must support AVX-512F. `a` must be readable at `i a.row + p a.step` for `i < R`,
/// `p < kc`, and `b` for `kc * NR` values. `store.c` must address `R` rows (`store.rsc` apart) of `16 * NV` values, of which
/// the lanes selected by `store.last_mask` in the last vector (and every lane of the others) must
/// be readable and writable.
#[target_feature(enable = "avx512f")]
pub unsafe fn tile<const R: usize, const NV: usize>(
    kc: usize,
    a: PanelA,
    b: *const f32,
    store: &Store,
) {
    let mut acc = [[_mm512_setzero_ps(); NV]; R];
    for p in 0..kc {
        // SAFETY: p < kc, so the NV vectors at b + p * NR lie in the packed panel (NV * 16 <= NR)
        // and the R values of A at step p in the panel the caller vouched for.
        unsafe {
            let bp = b.add(p * NR);
            let mut bv = [_mm512_setzero_ps(); NV];
            for (v, bv) in bv.iter_mut().enumerate() {
                *bv = _mm512_loadu_ps(bp.add(16 * v));
            }
            let ap = a.ptr.offset(p as isize * a.step);
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*ap.offset(i as isize * a.row));
                for (lane, &bv) in row.iter_mut().zip(bv.iter()) {
                    *lane = _mm512_fmadd_ps(ai, bv, *lane);
                }
            }
        }
    }
    let alpha = _mm512_set1_ps(store.alpha);
    let beta = _mm512_set1_ps(store.beta);
    for (i, row) in acc.iter().enumerate() {
        for (v, &lane) in row.iter().enumerate() {
            let mask: __mmask16 = if v + 1 == NV { store.last_mask } else { 0xffff };
            // SAFETY: the caller vouched for row i < R, vector v < NV under `mask`; masked loads
            // and stores touch no memory outside their mask.
            unsafe {
                let cp = store.c.offset(i as isize * store.rsc).add(16 * v);
                let scaled = _mm512_mul_ps(alpha, lane);
                let out = if !store.first {
                    _mm512_add_ps(_mm512_maskz_loadu_ps(mask, cp), scaled)
                } else if store.beta == 0.0 {
                    scaled
                } else {
                    let old = _mm512_maskz_loadu_ps(mask, cp);
                    _mm512_add_ps(scaled, _mm512_mul_ps(beta, old))
                };
                _mm512_mask_storeu_ps(cp, mask, out);
            }
        }
    }
}

/// Dispatches to the tile of `rows` rows (1 to [`MR`]) and `vectors` vectors (1 or 2).
///
/// # Safety
/// As for [`tile`], with `R = rows` and `NV = vectors`.
#[target_feature(enable = "avx512f")]
pub unsafe fn dispatch(
    rows: usize,
    vectors: usize,
    kc: usize,
    a: PanelA,
    b: *const f32,
    s: &Store,
) {
    macro_rules! by_rows {
        ($nv:literal) => {
            // SAFETY: forwarded from the caller, with R = rows and NV = vectors.
            unsafe {
                match rows {
                    1 => tile::<1, $nv>(kc, a, b, s),
                    2 => tile::<2, $nv>(kc, a, b, s),
                    3 => tile::<3, $nv>(kc, a, b, s),
                    4 => tile::<4, $nv>(kc, a, b, s),
                    5 => tile::<5, $nv>(kc, a, b, s),
                    6 => tile::<6, $nv>(kc, a, b, s),
                    7 => tile::<7, $nv>(kc, a, b, s),
                    8 => tile::<8, $nv>(kc, a, b, s),
                    9 => tile::<9, $nv>(kc, a, b, s),
                    10 => tile::<10, $nv>(kc, a, b, s),
                    11 => tile::<11, $nv>(kc, a, b, s),
                    _ => tile::<12, $nv>(kc, a, b, s),
                }
            }
        };
    }
    debug_assert!((1..=MR).contains(&rows) && (1..=2).contains(&vectors));
    if vectors == 1 {
        by_rows!(1)
    } else {
        by_rows!(2)
    }
}
