//! Square `K x K` depthwise kernels for `K` = 3 and 5 (dilation 1, column stride 1 or 2:
//! MobileNet's, EfficientNet's and MnasNet's depthwise layers), forward and gradients, as
//! sums of at most `K*K` taps `out[j] += w_t * s_t[j]` over contiguous source rows
//! ([`super::taps`], unrolled and fused where the CPU allows). With `L = (K - 1) / 2`:
//!
//! - Forward, `y[i, j] = b + sum_{p, q} w[p, q] xp[r_p, j*sw + q]` with `xp` the plane padded by
//!   `pw` zero columns on each side and `r_p = i*sh + p - ph` (rows outside the image dropped).
//!   At stride 1 or 2 the whole plane is one flat correlation ([`Flat::plane_s1`],
//!   [`Flat::plane_s2`] over the plane's four stride-2 phases); otherwise each
//!   padded row is stored by [`Phases`] (at column stride 2 de-interleaved, even columns then
//!   odd), so tap `q` reads phase `q % 2` from offset `q / 2` with unit stride.
//! - Input gradient at stride 1 (padding at most `K - 1`): the forward pass on `dy` with the
//!   kernel rotated by 180 degrees and padding `K - 1 - p`.
//! - Input gradient at column stride 1 otherwise: the correlation of `dy` (shifted right by
//!   `K - 1` columns) with the flipped kernel, `dx[r, s] = sum_{p, q'} w[p, K-1-q']
//!   dyp[i_p, s + pw + q']` with `i_p = (r + ph - p) / sh` when that divides and is a row of `dy`.
//! - Input gradient at column stride 2: with `D[k] = dy[i_p, k - L]` (`L` zeros on the left)
//!   and `u = s + pw` the padded column, even columns `u = 2a` take the even taps and odd ones
//!   the odd taps: `E[a] = sum_{p, t <= L} w[p, 2t] D[a + L - t]` and
//!   `O[a] = sum_{p, t < L} w[p, 2t + 1] D[a + L - t]`, then `dx` interleaves `E` and `O`.
//!
//! Sums run in a fixed order per output, whatever the batch or the other planes, so a sample's
//! result does not depend on its batch; fused and unfused multiply-adds round differently, so
//! results are identical on one CPU.

use super::layout::{Flat, Phases};
use super::taps::{Simd, Taps, LANES};
use super::{input_row, pad_plane, Conv2dGeometry};
use crate::scalar::Scalar;

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
        3 => backward_input_k::<T, 3>(g, w, dy),
        5 => backward_input_k::<T, 5>(g, w, dy),
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
                yrow.fill(b);
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
                taps.run(simd, yrow);
            }
        }
    }
    y
}

/// The input gradient at stride 1 and padding at most `K - 1`: the forward pass on `dy` with
/// the kernel rotated by 180 degrees and padding `K - 1 - p`,
/// `dx[r, s] = sum_{p, q} w[K-1-p, K-1-q] dyp[r + p, s + q]`.
fn backward_input_s1<T: Scalar, const K: usize>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    let simd = Simd::detect();
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    let [ph, pw] = g.options.padding;
    // The planes of dx in order: the first output channel of each group appends its plane, the
    // others (a channel multiplier above 1) add into it.
    let mut dx = Vec::with_capacity(g.n * g.c * plane);
    let mut flat = Flat::new();
    for (idx, dyp) in dy.chunks_exact(hw).enumerate() {
        let o = idx % g.o;
        let mut rotated = [T::zero(); 25];
        for (r, &v) in rotated.iter_mut().zip(w[o * K * K..][..K * K].iter().rev()) {
            *r = v;
        }
        let (size, pad) = ([g.out_h, g.out_w], [K - 1 - ph, K - 1 - pw]);
        let rows = flat.plane_s1::<K>(simd, dyp, size, pad, &rotated[..K * K], T::zero());
        if o.is_multiple_of(m) {
            rows.for_each(|row| dx.extend_from_slice(row));
        } else {
            let start = dx.len() - plane;
            for (d, row) in dx[start..].chunks_exact_mut(g.w).zip(rows) {
                for (a, &v) in d.iter_mut().zip(row) {
                    *a = *a + v;
                }
            }
        }
    }
    dx
}

/// The rows `i_p` of `dy` that input row `r` receives from, with their kernel rows `p`.
fn dy_rows<const K: usize>(
    g: &Conv2dGeometry,
    r: usize,
) -> impl Iterator<Item = (usize, usize)> + '_ {
    let (sh, ph) = (g.options.stride[0], g.options.padding[0]);
    (0..K).filter_map(move |p| {
        let num = (r + ph).checked_sub(p)?;
        (num % sh == 0 && num / sh < g.out_h).then_some((p, num / sh))
    })
}

/// The input gradient at any row stride and a column stride of 1 or 2.
fn backward_input_k<T: Scalar, const K: usize>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    if g.options.stride == [1, 1] && g.options.padding.iter().all(|&p| p < K) {
        return backward_input_s1::<T, K>(g, w, dy);
    }
    if g.options.stride[1] == 2 {
        return backward_input_s2::<T, K>(g, w, dy);
    }
    let simd = Simd::detect();
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    let pw = g.options.padding[1];
    // dy shifted right by K - 1 columns: dyp[i, s + pw + q'] = dy[i, s + pw + q' - (K - 1)].
    let width = g.w + pw + K - 1;
    let mut dyp = vec![T::zero(); g.out_h * width];
    let mut dx = vec![T::zero(); g.n * g.c * plane];
    for (idx, dxp) in dx.chunks_exact_mut(plane).enumerate() {
        let (n, c) = (idx / g.c, idx % g.c);
        for o in c * m..(c + 1) * m {
            let dyc = &dy[(n * g.o + o) * hw..][..hw];
            pad_plane(dyc, g.out_w, K - 1, width, &mut dyp);
            let wk = &w[o * K * K..][..K * K];
            for (r, dxrow) in dxp.chunks_exact_mut(g.w).enumerate() {
                let mut taps = Taps::new();
                for (p, i) in dy_rows::<K>(g, r) {
                    let row = &dyp[i * width..][..width];
                    for q in 0..K {
                        taps.push(&row[pw + q..][..g.w], wk[p * K + K - 1 - q]);
                    }
                }
                taps.run(simd, dxrow);
            }
        }
    }
    dx
}

/// The input gradient at column stride 2: the even padded columns `E` and the odd ones `O` of
/// each row (see the module docs), interleaved into `dx`.
fn backward_input_s2<T: Scalar, const K: usize>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    let simd = Simd::detect();
    let half = K / 2;
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    let pw = g.options.padding[1];
    // Padded columns u = s + pw < w + pw: ceil of half are even, the floor odd.
    let (n_even, n_odd) = ((g.w + pw).div_ceil(2), (g.w + pw) / 2);
    // D[k] = dy[k - L]; E and O read D[a + L - t] for a < n_even, t >= 0.
    let width = n_even + half;
    let mut d = vec![T::zero(); g.out_h * width];
    let (mut even, mut odd) = (vec![T::zero(); n_even], vec![T::zero(); n_odd]);
    // Column s is padded column s + pw: even s takes `first[s / 2]`, odd s `second[s / 2]`,
    // starting at these offsets into `even` and `odd` (`first` from `even` if pw is even).
    let (first_at, second_at) = (pw / 2, pw / 2 + pw % 2);
    let mut dx = vec![T::zero(); g.n * g.c * plane];
    for (idx, dxp) in dx.chunks_exact_mut(plane).enumerate() {
        let (n, c) = (idx / g.c, idx % g.c);
        for o in c * m..(c + 1) * m {
            pad_plane(
                &dy[(n * g.o + o) * hw..][..hw],
                g.out_w,
                half,
                width,
                &mut d,
            );
            let wk = &w[o * K * K..][..K * K];
            for (r, dxrow) in dxp.chunks_exact_mut(g.w).enumerate() {
                let (mut taps_e, mut taps_o) = (Taps::new(), Taps::new());
                for (p, i) in dy_rows::<K>(g, r) {
                    let row = &d[i * width..][..width];
                    for t in 0..=half {
                        taps_e.push(&row[half - t..][..n_even], wk[p * K + 2 * t]);
                    }
                    for t in 0..half {
                        taps_o.push(&row[half - t..][..n_odd], wk[p * K + 2 * t + 1]);
                    }
                }
                if taps_e.is_empty() {
                    continue;
                }
                even.fill(T::zero());
                odd.fill(T::zero());
                taps_e.run(simd, &mut even);
                taps_o.run(simd, &mut odd);
                let (first, second) = if pw.is_multiple_of(2) {
                    (&even[first_at..], &odd[second_at..])
                } else {
                    (&odd[first_at..], &even[second_at..])
                };
                simd.interleave_add(dxrow, first, second);
            }
        }
    }
    dx
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
