//! The input gradient of the square depthwise kernels at any row stride `sh` and a column stride
//! `sw` of 1 or 2, as `sh * sw` phase sub-correlations of `dy`.
//!
//! With `u = r + ph` and `v = s + pw` the padded position of `dx[r, s]`, the forward pass's
//! adjoint is `dx[r, s] = sum_{p, q} w[p, q] dy[(u - p) / sh, (v - q) / sw]` over the taps where
//! both divide. Write `u = sh*a + α`, `v = sw*b + β`: only the taps `p = α + sh*t`,
//! `q = β + sw*t'` divide, so each phase `(α, β)` of `dx` is a stride-1 "full" correlation of `dy`
//! with its own sub-kernel (for `K = 3` at stride 2 the 4, 2, 2 and 1 taps of the four parities,
//! for `K = 5` 9, 6, 6 and 4):
//!
//! `D_αβ[a, b] = sum_{t, t'} w[α + sh*t, β + sw*t'] dy[a - t, b - t']`.
//!
//! `dy` is stored once per plane with `L_r = (K - 1) / sh` zero rows above and `L_c =
//! (K - 1) / sw` zero columns on the left, at a width `wd` that keeps every row's reads inside
//! its own row or the next row's zero columns; then every phase is one flat row of `rows * wd`
//! outputs (the columns past the phase's width computed and dropped) with the taps at constant
//! offsets, the vectorized tap loop of [`Simd::taps`]. The phases are summed over the group's
//! output channels into one scratch, phase by phase, then interleaved into `dx` in one pass:
//! `dx[r, s]` is element `(r / sh, s / sw)` of the phase `((r + ph) % sh, (s + pw) % sw)`.
//!
//! Each output sums its channels in order, and within a channel its taps in order, whatever the
//! batch or the thread, so a sample's gradient does not depend on them.

use super::super::taps::{Simd, Taps, BLOCK};
use super::Conv2dGeometry;
use crate::scalar::Scalar;
use std::slice::Chunks;

/// One phase `(α, β)` of `dx`: its outputs at offset `at` of the scratch, `rows` rows of `wd`
/// (the phase's columns first) computed as `len` (`rows * wd` rounded up to a whole [`BLOCK`],
/// so the tap loop has no scalar tail), and its taps as (offset into the padded `dy` plane,
/// index `K*p + q` of the weight).
struct Phase {
    at: usize,
    len: usize,
    taps: Vec<(usize, usize)>,
}

/// The phases of one geometry and the sizes of their buffers.
struct Plan {
    /// The row stride of the padded `dy` plane and of every phase.
    wd: usize,
    /// Where `dy[0, 0]` goes in the padded plane: `L_r * wd + L_c`.
    origin: usize,
    /// The length of the padded plane: every tap's reads and one row of dropped columns.
    dy_len: usize,
    /// The phases, `(α, β)` at `α * sw + β`.
    phases: Vec<Phase>,
    /// The total length of the phases' outputs.
    scratch_len: usize,
}

impl Plan {
    fn new<const K: usize>(g: &Conv2dGeometry) -> Self {
        let ([sh, sw], [ph, pw]) = (g.options.stride, g.options.padding);
        let (lr, lc) = ((K - 1) / sh, (K - 1) / sw);
        // Phase β of the columns: the first column `σ` of dx in it, how many (`cols`) and the
        // column `b0` of D it starts at (`σ + pw = sw*b0 + β`).
        let cols = |beta: usize| {
            let sigma = (beta + sw - pw % sw) % sw;
            let n = g.w.saturating_sub(sigma).div_ceil(sw);
            (n, (sigma + pw - beta) / sw)
        };
        // A needed output `b < b0 + cols` reads padded columns up to `b + L_c`: inside its row,
        // or (at `wd` or beyond) within the next row's `L_c` zero columns.
        let wd = (0..sw)
            .map(|beta| {
                let (n, b0) = cols(beta);
                n + b0
            })
            .max()
            .unwrap_or(0)
            .max(lc + g.out_w);
        let (mut phases, mut at, mut dy_len) =
            (Vec::with_capacity(sh * sw), 0, (lr + g.out_h) * wd);
        for alpha in 0..sh {
            let rho = (alpha + sh - ph % sh) % sh;
            let rows = g.h.saturating_sub(rho).div_ceil(sh);
            let a0 = (rho + ph - alpha) / sh;
            for beta in 0..sw {
                let (_, b0) = cols(beta);
                let mut taps = Vec::new();
                for (t, p) in (alpha..K).step_by(sh).enumerate() {
                    for (u, q) in (beta..K).step_by(sw).enumerate() {
                        taps.push(((a0 + lr - t) * wd + b0 + lc - u, p * K + q));
                    }
                }
                let len = (rows * wd).next_multiple_of(BLOCK);
                if let Some(far) = taps.iter().map(|&(off, _)| off + len).max() {
                    dy_len = dy_len.max(far);
                }
                phases.push(Phase { at, len, taps });
                at += len;
            }
        }
        Plan {
            wd,
            origin: lr * wd + lc,
            dy_len,
            phases,
            scratch_len: at,
        }
    }

    /// The rows of phase `(α, β)` (the phase's columns first in each).
    fn rows<'a, T>(&self, scratch: &'a [T], sw: usize, alpha: usize, beta: usize) -> Chunks<'a, T> {
        let phase = &self.phases[alpha * sw + beta];
        scratch[phase.at..][..phase.len].chunks(self.wd)
    }
}

/// `dx` of shape `[n, c, h, w]` (see the module docs).
pub(super) fn backward_input<T: Scalar, const K: usize>(
    g: &Conv2dGeometry,
    w: &[T],
    dy: &[T],
) -> Vec<T> {
    let simd = Simd::detect();
    let ([sh, sw], [ph, pw]) = (g.options.stride, g.options.padding);
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    let plan = Plan::new::<K>(g);
    // Zero outside `dy`'s rows: each plane overwrites only those.
    let mut dyp = vec![T::zero(); plan.dy_len];
    let mut scratch = vec![T::zero(); plan.scratch_len];
    // Every element is written once, by the interleave pass below.
    let mut dx = vec![T::zero(); g.n * g.c * plane];
    for (idx, dxp) in dx.chunks_exact_mut(plane).enumerate() {
        let (n, c) = (idx / g.c, idx % g.c);
        for o in c * m..(c + 1) * m {
            // The group's first channel writes the scratch, the others add into it.
            let init = (o == c * m).then_some(T::zero());
            let dyc = &dy[(n * g.o + o) * hw..][..hw];
            for (i, row) in dyc.chunks_exact(g.out_w).enumerate() {
                dyp[plan.origin + i * plan.wd..][..g.out_w].copy_from_slice(row);
            }
            let wk = &w[o * K * K..][..K * K];
            for phase in &plan.phases {
                let mut taps = Taps::new();
                for &(off, k) in &phase.taps {
                    taps.push(&dyp[off..][..phase.len], wk[k]);
                }
                taps.run(simd, init, &mut scratch[phase.at..][..phase.len]);
            }
        }
        for alpha in 0..sh {
            // The rows r of dx with (r + ph) % sh == alpha: r0, r0 + sh, ...
            let r0 = (alpha + sh - ph % sh) % sh;
            let rows = dxp.chunks_exact_mut(g.w).skip(r0).step_by(sh);
            if sw == 1 {
                for (d, s) in rows.zip(plan.rows(&scratch, sw, alpha, 0)) {
                    d.copy_from_slice(&s[..g.w]);
                }
            } else {
                let first = plan.rows(&scratch, sw, alpha, pw % 2);
                let second = plan.rows(&scratch, sw, alpha, 1 - pw % 2);
                simd.interleave(rows.zip(first).zip(second).map(|((d, a), b)| (d, a, b)));
            }
        }
    }
    dx
}
