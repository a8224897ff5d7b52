//! Packing: copies of one cache block of `A` or `B` into the contiguous, zero-padded micro-panels
//! the kernel streams.
//!
//! A block of `A` (`mc x kc`) becomes `ceil(mc / MR)` panels; panel `r` holds, for each `p` in
//! order, the [`MR`] values `A[r MR + i, p]` (`i < MR`, zero past the last row). A block of `B`
//! (`kc x nc`) becomes `ceil(nc / NR)` panels; panel `s` holds, for each `p`, the [`NR`] values
//! `B[p, s NR + j]` (zero past the last column). The copies are exact, so packing changes no
//! arithmetic.

use super::{Operand, MR, NR};

/// Packs rows `rows.0 .. rows.0 + rows.1` and columns `cols.0 .. cols.0 + cols.1` of `a` into
/// `dst` as `MR`-row panels.
///
/// # Safety
/// Every element of `a` in that range must be readable; `dst` must hold
/// `ceil(rows.1 / MR) * MR * cols.1` values.
pub unsafe fn pack_a(a: Operand, rows: (usize, usize), cols: (usize, usize), dst: &mut [f32]) {
    let (i0, mc) = rows;
    let (p0, kc) = cols;
    let panels = mc.div_ceil(MR);
    debug_assert!(dst.len() >= panels * MR * kc);
    for (r, panel) in dst.chunks_exact_mut(MR * kc).take(panels).enumerate() {
        let live = MR.min(mc - r * MR);
        if live < MR {
            panel.fill(0.0);
        }
        if a.rs == 1 && a.cs != 1 {
            // Column-major A: each step p reads `live` contiguous values.
            for (p, out) in panel.chunks_exact_mut(MR).enumerate() {
                // SAFETY: rows i0 + r MR .. + live and column p0 + p are in the range the
                // caller vouched for; with unit row stride they are contiguous.
                let col = unsafe { std::slice::from_raw_parts(a.at(i0 + r * MR, p0 + p), live) };
                out[..live].copy_from_slice(col);
            }
            continue;
        }
        for i in 0..live {
            // SAFETY: row i0 + r MR + i < i0 + mc and columns p0 .. p0 + kc are in the range
            // the caller vouched for.
            let src = unsafe { a.at(i0 + r * MR + i, p0) };
            for p in 0..kc {
                // SAFETY: as above, column p0 + p < p0 + kc.
                panel[p * MR + i] = unsafe { *src.offset(p as isize * a.cs) };
            }
        }
    }
}

/// Packs rows `rows.0 .. rows.0 + rows.1` and columns `cols.0 .. cols.0 + cols.1` of `b` into
/// `dst` as `NR`-column panels.
///
/// # Safety
/// Every element of `b` in that range must be readable; `dst` must hold
/// `ceil(cols.1 / NR) * NR * rows.1` values.
pub unsafe fn pack_b(b: Operand, rows: (usize, usize), cols: (usize, usize), dst: &mut [f32]) {
    let (p0, kc) = rows;
    let (j0, nc) = cols;
    let panels = nc.div_ceil(NR);
    debug_assert!(dst.len() >= panels * NR * kc);
    for (s, panel) in dst.chunks_exact_mut(NR * kc).take(panels).enumerate() {
        let live = NR.min(nc - s * NR);
        if b.rs == 1 && b.cs != 1 {
            // Column-major B: each column's kc values are contiguous.
            if live < NR {
                panel.fill(0.0);
            }
            for j in 0..live {
                // SAFETY: rows p0 .. p0 + kc and column j0 + s NR + j are in the range the
                // caller vouched for; with unit row stride they are contiguous.
                let col = unsafe { std::slice::from_raw_parts(b.at(p0, j0 + s * NR + j), kc) };
                for (p, &x) in col.iter().enumerate() {
                    panel[p * NR + j] = x;
                }
            }
            continue;
        }
        for (p, out) in panel.chunks_exact_mut(NR).enumerate() {
            // SAFETY: row p0 + p < p0 + kc and columns j0 + s NR .. j0 + s NR + live are in the
            // range the caller vouched for.
            let src = unsafe { b.at(p0 + p, j0 + s * NR) };
            if b.cs == 1 {
                // SAFETY: as above; with unit column stride the `live` values are contiguous.
                let row = unsafe { std::slice::from_raw_parts(src, live) };
                out[..live].copy_from_slice(row);
            } else {
                for (j, o) in out[..live].iter_mut().enumerate() {
                    // SAFETY: as above, column j0 + s NR + j with j < live.
                    *o = unsafe { *src.offset(j as isize * b.cs) };
                }
            }
            out[live..].fill(0.0);
        }
    }
}
