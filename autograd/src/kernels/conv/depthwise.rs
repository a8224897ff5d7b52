//! Direct depthwise convolution: every group has one input channel (`groups = c`, MobileNet's
//! depthwise layers, with any channel multiplier `m = o / c`), so the GEMM lowering of the other
//! kernels degenerates into `[m, kh*kw] x [kh*kw, OH*OW]` products too thin to run fast.
//!
//! With column stride 1 (the usual case), the forward pass and the input gradient are both
//! correlations of a horizontally zero-padded plane (the input, or `dy` against the flipped
//! kernel): each block of 32 (then 8) outputs of a row sums its `kh * kw` taps in registers
//! ([`accumulate_row`]), one load per multiply-add, compiled for AVX2 when the CPU has it. Other column strides take per-tap axpys over
//! rows. The weight gradient is one dot product per output row and tap.
//!
//! Output channel `o` reads input channel `o / m`. For output row `i` and tap `(p, q)`, the input
//! row is `r = i*sh - ph + p*dh` and output column `j` reads input column
//! `s = j*sw + (q*dw - pw)`; [`Tap`] holds the `j` range for which `s` is inside the image.

mod layout;
mod square;
mod taps;

use super::Conv2dGeometry;
use crate::scalar::Scalar;

/// The output columns `j0..j1` whose input column `j*sw + off` is inside the image, for one tap
/// column `q` (`off = q*dw - pw`).
#[derive(Clone, Copy)]
struct Tap {
    j0: usize,
    j1: usize,
    off: isize,
}

/// One [`Tap`] per kernel column.
fn taps(g: &Conv2dGeometry) -> Vec<Tap> {
    let (sw, dw, pw) = (
        g.options.stride[1],
        g.options.dilation[1],
        g.options.padding[1],
    );
    (0..g.kw)
        .map(|q| {
            let off = (q * dw) as isize - pw as isize;
            // j*sw + off >= 0  <=>  j >= ceil(-off / sw); j*sw + off <= w - 1.
            let j0 = if off >= 0 {
                0
            } else {
                ((-off) as usize).div_ceil(sw)
            };
            let last = g.w as isize - 1 - off;
            let j1 = if last < 0 {
                0
            } else {
                (last as usize / sw + 1).min(g.out_w)
            };
            Tap {
                j0: j0.min(j1),
                j1,
                off,
            }
        })
        .collect()
}

/// The input row of output row `i` and kernel row `p`, if inside the image.
#[inline]
fn input_row(g: &Conv2dGeometry, i: usize, p: usize) -> Option<usize> {
    let r =
        (i * g.options.stride[0] + p * g.options.dilation[0]).checked_sub(g.options.padding[0])?;
    (r < g.h).then_some(r)
}

/// Channel multipliers up to this take the direct kernels; beyond, each group's GEMM
/// (`[m, kh*kw] x [kh*kw, OH*OW]`) is wide enough for the general path.
const MAX_MULTIPLIER: usize = 4;

/// Whether the direct kernels apply: one input channel per group (and at least two groups) and
/// a small channel multiplier.
pub(super) fn applies(g: &Conv2dGeometry) -> bool {
    g.options.groups == g.c && g.c > 1 && g.o / g.c <= MAX_MULTIPLIER
}

/// `out[j] += sum over (row, ws) in rows, q of ws[q] * row[j0 + j + offs[q]]` for the `N`
/// outputs of one block, accumulated in registers.
#[inline(always)]
fn block<T: Scalar, const N: usize>(
    out: &mut [T],
    j0: usize,
    rows: &[(&[T], &[T])],
    offs: &[usize],
) {
    let mut acc = [T::zero(); N];
    for &(row, ws) in rows {
        for (&wv, &off) in ws.iter().zip(offs) {
            let xs: &[T; N] = row[j0 + off..][..N].try_into().expect("a full block");
            for (a, &v) in acc.iter_mut().zip(xs) {
                *a = *a + wv * v;
            }
        }
    }
    for (o, a) in out[j0..][..N].iter_mut().zip(acc) {
        *o = *o + a;
    }
}

/// `out[j] += sum over (row, ws) in rows, q of ws[q] * row[j + offs[q]]`: blocks of 32 outputs
/// (four independent vector accumulators, so the adds do not wait on each other's latency), then
/// one block of 24, 16 or 8, then single outputs. Every `row` must hold `out.len() + max(offs)` elements.
#[inline(always)]
fn accumulate_row<T: Scalar>(out: &mut [T], rows: &[(&[T], &[T])], offs: &[usize]) {
    let n = out.len();
    let mut j = 0;
    while j + 32 <= n {
        block::<T, 32>(out, j, rows, offs);
        j += 32;
    }
    // What is left (under 32) in one block of 24, 16 or 8, so a row of 56 takes two blocks.
    match n - j {
        24.. => {
            block::<T, 24>(out, j, rows, offs);
            j += 24;
        }
        16.. => {
            block::<T, 16>(out, j, rows, offs);
            j += 16;
        }
        8.. => {
            block::<T, 8>(out, j, rows, offs);
            j += 8;
        }
        _ => {}
    }
    while j < n {
        block::<T, 1>(out, j, rows, offs);
        j += 1;
    }
}

/// [`accumulate_row`] compiled for AVX2, so a block of 8 is one register (the crate is built for
/// baseline x86-64, where it takes two SSE registers).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn accumulate_row_avx2<T: Scalar>(out: &mut [T], rows: &[(&[T], &[T])], offs: &[usize]) {
    accumulate_row(out, rows, offs);
}

/// [`accumulate_row`] with the widest vectors the CPU has (checked once; cached by `std`).
#[inline]
fn accumulate<T: Scalar>(out: &mut [T], rows: &[(&[T], &[T])], offs: &[usize]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, the only requirement of the target-feature function.
        unsafe { accumulate_row_avx2(out, rows, offs) };
        return;
    }
    accumulate_row(out, rows, offs);
}

/// Copies a `rows x w` plane into `buf` (`rows x width`, zeroed elsewhere), each row starting at
/// column `left`; columns at or beyond `width` are dropped.
fn pad_plane<T: Scalar>(src: &[T], w: usize, left: usize, width: usize, buf: &mut [T]) {
    buf.fill(T::zero());
    let keep = w.min(width.saturating_sub(left));
    for (dst, row) in buf.chunks_exact_mut(width).zip(src.chunks_exact(w)) {
        dst[left..left + keep].copy_from_slice(&row[..keep]);
    }
}

/// The forward pass at column stride 1: `y[i, j] = b + sum_{p, q} w[p, q] xp[r, j + q*dw]` with
/// `xp` the input plane padded by `pw` columns on each side and `r = i*sh + p*dh - ph`.
fn forward_rows<T: Scalar>(g: &Conv2dGeometry, x: &[T], w: &[T], bias: Option<&[T]>) -> Vec<T> {
    let (m, k, hw, plane) = (g.o / g.c, g.kh * g.kw, g.out_h * g.out_w, g.h * g.w);
    let (pw, dw) = (g.options.padding[1], g.options.dilation[1]);
    let width = g.w + 2 * pw;
    let offs: Vec<usize> = (0..g.kw).map(|q| q * dw).collect();
    let mut xp = vec![T::zero(); g.h * width];
    let mut y = vec![T::zero(); g.n * g.o * hw];
    for (idx, xc) in x.chunks_exact(plane).enumerate() {
        pad_plane(xc, g.w, pw, width, &mut xp);
        let mut rows = Vec::with_capacity(g.kh);
        let (n, c) = (idx / g.c, idx % g.c);
        for o in c * m..(c + 1) * m {
            let yp = &mut y[(n * g.o + o) * hw..][..hw];
            let wk = &w[o * k..][..k];
            let b = bias.map_or(T::zero(), |b| b[o]);
            for (i, yrow) in yp.chunks_exact_mut(g.out_w).enumerate() {
                yrow.fill(b);
                rows.clear();
                for p in 0..g.kh {
                    if let Some(r) = input_row(g, i, p) {
                        rows.push((&xp[r * width..][..width], &wk[p * g.kw..][..g.kw]));
                    }
                }
                accumulate(yrow, &rows, &offs);
            }
        }
    }
    y
}

/// The input gradient at column stride 1, as a correlation of `dy` with the flipped kernel:
/// `dx[r, s] = sum_{p, q'} w[p, kw-1-q'] dyp[i, s + pw + q'*dw]`, where `dyp` is the `dy` plane
/// shifted right by `(kw-1)*dw` columns and `i = (r + ph - p*dh) / sh` when that divides.
fn backward_input_rows<T: Scalar>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    let (m, k, hw, plane) = (g.o / g.c, g.kh * g.kw, g.out_h * g.out_w, g.h * g.w);
    let [sh, _] = g.options.stride;
    let ([ph, pw], [dh, dw]) = (g.options.padding, g.options.dilation);
    let left = (g.kw - 1) * dw;
    let width = g.w + pw + left;
    let offs: Vec<usize> = (0..g.kw).map(|q| pw + q * dw).collect();
    // Each kernel row reversed, so `offs[q']` pairs with `w[p, kw-1-q']`.
    let flipped: Vec<T> = w
        .chunks_exact(g.kw)
        .flat_map(|row| row.iter().rev().copied())
        .collect();
    let mut dyp = vec![T::zero(); g.out_h * width];
    let mut dx = vec![T::zero(); g.n * g.c * plane];
    for (idx, dxp) in dx.chunks_exact_mut(plane).enumerate() {
        let (n, c) = (idx / g.c, idx % g.c);
        for o in c * m..(c + 1) * m {
            pad_plane(
                &dy[(n * g.o + o) * hw..][..hw],
                g.out_w,
                left,
                width,
                &mut dyp,
            );
            let mut rows = Vec::with_capacity(g.kh);
            let wk = &flipped[o * k..][..k];
            for (r, dxrow) in dxp.chunks_exact_mut(g.w).enumerate() {
                rows.clear();
                for p in 0..g.kh {
                    let Some(num) = (r + ph).checked_sub(p * dh) else {
                        continue;
                    };
                    if num % sh == 0 && num / sh < g.out_h {
                        let i = num / sh;
                        rows.push((&dyp[i * width..][..width], &wk[p * g.kw..][..g.kw]));
                    }
                }
                accumulate(dxrow, &rows, &offs);
            }
        }
    }
    dx
}

/// `y = conv2d(x, w) + b` for a depthwise geometry (see [`super::conv2d_forward`]).
pub(super) fn forward<T: Scalar>(
    g: &Conv2dGeometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    g.check_forward(x, w, bias);
    if square::applies(g) {
        return square::forward(g, x, w, bias);
    }
    if g.options.stride[1] == 1 {
        return forward_rows(g, x, w, bias);
    }
    let (m, k, hw, plane) = (g.o / g.c, g.kh * g.kw, g.out_h * g.out_w, g.h * g.w);
    let sw = g.options.stride[1];
    let taps = taps(g);
    let mut y = vec![T::zero(); g.n * g.o * hw];
    for (idx, yp) in y.chunks_exact_mut(hw).enumerate() {
        let (n, o) = (idx / g.o, idx % g.o);
        let xp = &x[(n * g.c + o / m) * plane..][..plane];
        let wk = &w[o * k..][..k];
        let b = bias.map_or(T::zero(), |b| b[o]);
        for (i, yrow) in yp.chunks_exact_mut(g.out_w).enumerate() {
            yrow.fill(b);
            for p in 0..g.kh {
                let Some(r) = input_row(g, i, p) else {
                    continue;
                };
                let xrow = &xp[r * g.w..][..g.w];
                for (t, &wv) in taps.iter().zip(&wk[p * g.kw..][..g.kw]) {
                    if t.j0 == t.j1 {
                        continue;
                    }
                    let start = (t.j0 as isize * sw as isize + t.off) as usize;
                    let out = &mut yrow[t.j0..t.j1];
                    if sw == 1 {
                        for (a, &v) in out.iter_mut().zip(&xrow[start..]) {
                            *a = *a + wv * v;
                        }
                    } else {
                        for (a, &v) in out.iter_mut().zip(xrow[start..].iter().step_by(sw)) {
                            *a = *a + wv * v;
                        }
                    }
                }
            }
        }
    }
    y
}

/// `dx` for a depthwise geometry (see [`super::conv2d_backward_input`]): the adjoint of
/// [`forward`], scattering `w[o, p, q] * dy[n, o, i, j]` into `dx[n, o / m, r, s]`.
pub(super) fn backward_input<T: Scalar>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    const OP: &str = "conv2d_backward_input";
    g.check_len(OP, "w", w.len(), g.weight_shape());
    g.check_len(OP, "dy", dy.len(), g.output_shape());
    if square::applies(g) {
        return square::backward_input(g, w, dy);
    }
    if g.options.stride[1] == 1 {
        return backward_input_rows(g, w, dy);
    }
    let (m, k, hw, plane) = (g.o / g.c, g.kh * g.kw, g.out_h * g.out_w, g.h * g.w);
    let sw = g.options.stride[1];
    let taps = taps(g);
    let mut dx = vec![T::zero(); g.n * g.c * plane];
    for (idx, dyp) in dy.chunks_exact(hw).enumerate() {
        let (n, o) = (idx / g.o, idx % g.o);
        let dxp = &mut dx[(n * g.c + o / m) * plane..][..plane];
        let wk = &w[o * k..][..k];
        for (i, dyrow) in dyp.chunks_exact(g.out_w).enumerate() {
            for p in 0..g.kh {
                let Some(r) = input_row(g, i, p) else {
                    continue;
                };
                let dxrow = &mut dxp[r * g.w..][..g.w];
                for (t, &wv) in taps.iter().zip(&wk[p * g.kw..][..g.kw]) {
                    if t.j0 == t.j1 {
                        continue;
                    }
                    let start = (t.j0 as isize * sw as isize + t.off) as usize;
                    let src = &dyrow[t.j0..t.j1];
                    if sw == 1 {
                        for (a, &d) in dxrow[start..].iter_mut().zip(src) {
                            *a = *a + wv * d;
                        }
                    } else {
                        for (a, &d) in dxrow[start..].iter_mut().step_by(sw).zip(src) {
                            *a = *a + wv * d;
                        }
                    }
                }
            }
        }
    }
    dx
}

/// `sum a[i] * b[i*stride]` with eight partial sums, so the stride-1 loop vectorizes.
#[inline]
fn dot<T: Scalar>(a: &[T], b: &[T], stride: usize) -> T {
    if stride != 1 {
        return a
            .iter()
            .zip(b.iter().step_by(stride))
            .fold(T::zero(), |s, (&u, &v)| s + u * v);
    }
    let b = &b[..a.len()];
    let mut acc = [T::zero(); 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .fold(T::zero(), |s, (&u, &v)| s + u * v);
    for (u, v) in ac.zip(bc) {
        for l in 0..8 {
            acc[l] = acc[l] + u[l] * v[l];
        }
    }
    acc.iter().fold(tail, |s, &v| s + v)
}

/// `dw` for a depthwise geometry (see [`super::conv2d_backward_weight`]):
/// `dw[o, p, q] = sum_{n, i, j} dy[n, o, i, j] x[n, o / m, r, s]`, one dot product per output
/// row and tap.
pub(super) fn backward_weight<T: Scalar>(g: &Conv2dGeometry, x: &[T], dy: &[T]) -> Vec<T> {
    const OP: &str = "conv2d_backward_weight";
    g.check_len(OP, "x", x.len(), g.input_shape());
    g.check_len(OP, "dy", dy.len(), g.output_shape());
    if square::applies(g) {
        return square::backward_weight(g, x, dy);
    }
    let (m, k, hw, plane) = (g.o / g.c, g.kh * g.kw, g.out_h * g.out_w, g.h * g.w);
    let sw = g.options.stride[1];
    let taps = taps(g);
    let mut dw = vec![T::zero(); g.o * k];
    for (idx, dyp) in dy.chunks_exact(hw).enumerate() {
        let (n, o) = (idx / g.o, idx % g.o);
        let xp = &x[(n * g.c + o / m) * plane..][..plane];
        let dwk = &mut dw[o * k..][..k];
        for (i, dyrow) in dyp.chunks_exact(g.out_w).enumerate() {
            for p in 0..g.kh {
                let Some(r) = input_row(g, i, p) else {
                    continue;
                };
                let xrow = &xp[r * g.w..][..g.w];
                for (t, d) in taps.iter().zip(&mut dwk[p * g.kw..][..g.kw]) {
                    if t.j0 == t.j1 {
                        continue;
                    }
                    let start = (t.j0 as isize * sw as isize + t.off) as usize;
                    *d = *d + dot(&dyrow[t.j0..t.j1], &xrow[start..], sw);
                }
            }
        }
    }
    dw
}
