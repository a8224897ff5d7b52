//! Square `K x K` depthwise kernels for `K` = 3 and 5 (dilation 1, column stride 1 or 2:
//! MobileNet's, EfficientNet's and MnasNet's depthwise layers), forward and gradients, as
//! sums of at most `K*K` taps `out[j] += w_t * s_t[j]` over contiguous source rows
//! ([`super::taps`], unrolled and fused where the CPU allows):
//!
//! - Forward, `y[i, j] = b + sum_{p, q} w[p, q] xp[r_p, j*sw + q]` with `xp` the plane padded by
//!   `pw` zero columns on each side and `r_p = i*sh + p - ph` (rows outside the image dropped).
//!   At stride 1 or 2 the whole plane is one flat correlation ([`Flat::plane_s1`],
//!   [`Flat::plane_s2`] over the plane's four stride-2 phases); otherwise each
//!   padded row is stored by [`Phases`] (at column stride 2 de-interleaved, even columns then
//!   odd), so tap `q` reads phase `q % 2` from offset `q / 2` with unit stride.
//! - Input gradient: at row stride `sh` and column stride `sw`, the `sh * sw` phases of `dx` by
//!   `((r + ph) % sh, (s + pw) % sw)`, each a stride-1 correlation of `dy` with the sub-kernel of
//!   the taps `w[p, q]` whose `(p % sh, q % sw)` matches, as one flat row over a padded `dy`
//!   plane, then interleaved ([`input_grad`]).
//!
//! Sums run in a fixed order per output, whatever the batch or the other planes, so a sample's
//! result does not depend on its batch; fused and unfused multiply-adds round differently, so
//! results are identical on one CPU.

use super::layout::{Flat, Phases};
use super::taps::{Simd, Taps, LANES};
use super::{input_row, Conv2dGeometry};
use crate::scalar::Scalar;

mod input_grad;

/// Whether these kernels apply: a 3x3 or 5x5 kernel, dilation 1 and a column stride of 1 or 2.
pub(super) fn applies(g: &Conv2dGeometry) -> bool {
    g.kh == g.kw
        && matches!(g.kh, 3 | 5)
        && g.options.dilation == [1, 1]
        && g.options.stride[1] <= 2
}

/// The forward pass (see the module docs), `y` of shape `[n, o, out_h, out_w]`.
pub(super) fn forward<T: Scalar>(
    g: &Conv2dGeometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    match g.kh {
        3 => forward_k::<T, 3>(g, x, w, bias),
        5 => forward_k::<T, 5>(g, x, w, bias),
        k => unreachable!("a {k}x{k} kernel"),
    }
}

/// The input gradient (see the module docs), `dx` of shape `[n, c, h, w]`.
pub(super) fn backward_input<T: Scalar>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    match g.kh {
        3 => input_grad::backward_input::<T, 3>(g, w, dy),
        5 => input_grad::backward_input::<T, 5>(g, w, dy),
        k => unreachable!("a {k}x{k} kernel"),
    }
}

/// The weight gradient (see [`backward_weight_k`]), `dw` of shape `[o, 1, K, K]`.
pub(super) fn backward_weight<T: Scalar>(g: &Conv2dGeometry, x: &[T], dy: &[T]) -> Vec<T> {
    match g.kh {
        3 => backward_weight_k::<T, 3>(g, x, dy),
        5 => backward_weight_k::<T, 5>(g, x, dy),
        k => unreachable!("a {k}x{k} kernel"),
    }
}

/// The forward pass at stride 1 or 2 (both dimensions): [`Flat::plane_s1`] or
/// [`Flat::plane_s2`] per output channel.
fn forward_flat<T: Scalar, const K: usize>(
    g: &Conv2dGeometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    let simd = Simd::detect();
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    // Every output is written once, in order: appended rather than zeroed first.
    let mut y = Vec::with_capacity(g.n * g.o * hw);
    let mut flat = Flat::new();
    for idx in 0..g.n * g.o {
        let (n, o) = (idx / g.o, idx % g.o);
        let xc = &x[(n * g.c + o / m) * plane..][..plane];
        let b = bias.map_or(T::zero(), |b| b[o]);
        let wk = &w[o * K * K..][..K * K];
        let (size, pad) = ([g.h, g.w], g.options.padding);
        if g.options.stride == [1, 1] {
            let rows = flat.plane_s1::<K>(simd, xc, size, pad, wk, b);
            rows.for_each(|row| y.extend_from_slice(row));
        } else {
            let rows = flat.plane_s2::<K>(simd, xc, size, pad, wk, b);
            rows.for_each(|row| y.extend_from_slice(row));
        }
    }
    y
}

/// The forward pass, by rows at any row stride and a column stride of 1 or 2.
fn forward_k<T: Scalar, const K: usize>(
    g: &Conv2dGeometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    if matches!(g.options.stride, [1, 1] | [2, 2]) {
        return forward_flat::<T, K>(g, x, w, bias);
    }
    let simd = Simd::detect();
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    let layout = Phases::of(g);
    let mut xp = vec![T::zero(); g.h * layout.width];
    let mut y = vec![T::zero(); g.n * g.o * hw];
    for (idx, xc) in x.chunks_exact(plane).enumerate() {
        layout.fill(simd, xc, g.w, g.options.padding[1], &mut xp);
        let (n, c) = (idx / g.c, idx % g.c);
        for o in c * m..(c + 1) * m {
            let wk = &w[o * K * K..][..K * K];
            let b = bias.map_or(T::zero(), |b| b[o]);
            let yp = &mut y[(n * g.o + o) * hw..][..hw];
            for (i, yrow) in yp.chunks_exact_mut(g.out_w).enumerate() {
                let mut taps = Taps::new();
                for p in 0..K {
                    let Some(r) = input_row(g, i, p) else {
                        continue;
                    };
                    let row = &xp[r * layout.width..][..layout.width];
                    for q in 0..K {
                        taps.push(layout.tap(row, q, g.out_w), wk[p * K + q]);
                    }
                }
                taps.run(simd, Some(b), yrow);
            }
        }
    }
    y
}

#[cfg(test)]
mod tests;

/// The weight gradient, `dw[o, p, q] = sum_{n, i, j} dy[n, o, i, j] xp[n, o / m, r_p, j*sw + q]`
/// over the padded rows stored by [`Phases`] (as in the forward pass): per output row and
/// kernel row, `K` dot products sharing the row of `dy` ([`Simd::dots`]), kept in vector partial
/// sums through the plane and reduced in lane order at its end.
fn backward_weight_k<T: Scalar, const K: usize>(g: &Conv2dGeometry, x: &[T], dy: &[T]) -> Vec<T> {
    let simd = Simd::detect();
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    let layout = Phases::of(g);
    let mut xp = vec![T::zero(); g.h * layout.width];
    let mut dw = vec![T::zero(); g.o * K * K];
    for (idx, xc) in x.chunks_exact(plane).enumerate() {
        layout.fill(simd, xc, g.w, g.options.padding[1], &mut xp);
        let (n, c) = (idx / g.c, idx % g.c);
        for o in c * m..(c + 1) * m {
            let mut acc = [[[T::zero(); LANES]; K]; K];
            let dyp = &dy[(n * g.o + o) * hw..][..hw];
            for (i, dyrow) in dyp.chunks_exact(g.out_w).enumerate() {
                for (p, acc_p) in acc.iter_mut().enumerate() {
                    let Some(r) = input_row(g, i, p) else {
                        continue;
                    };
                    let row = &xp[r * layout.width..][..layout.width];
                    let src: [&[T]; K] = std::array::from_fn(|q| layout.tap(row, q, g.out_w));
                    simd.dots(dyrow, &src, acc_p);
                }
            }
            let dwk = &mut dw[o * K * K..][..K * K];
            for (d, lanes) in dwk.iter_mut().zip(acc.iter().flatten()) {
                *d = lanes.iter().fold(*d, |s, &v| s + v);
            }
        }
    }
    dw
}
