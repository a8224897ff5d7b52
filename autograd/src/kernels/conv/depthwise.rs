//! Direct depthwise convolution: every group has one input channel (`groups = c`, MobileNet's
//! depthwise layers, with any channel multiplier `m = o / c`), so the GEMM lowering of the other
//! kernels degenerates into `[m, kh*kw] x [kh*kw, OH*OW]` products too thin to run fast. Here
//! each output plane is built row by row from `kh * kw` scaled copies of input rows (an axpy over
//! a row, which the compiler vectorizes at stride 1), keeping the output row in L1.
//!
//! Output channel `o` reads input channel `o / m`. For output row `i` and tap `(p, q)`, the input
//! row is `r = i*sh - ph + p*dh` and output column `j` reads input column
//! `s = j*sw + (q*dw - pw)`; [`Tap`] holds the `j` range for which `s` is inside the image.

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

/// `y = conv2d(x, w) + b` for a depthwise geometry (see [`super::conv2d_forward`]).
pub(super) fn forward<T: Scalar>(
    g: &Conv2dGeometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    const OP: &str = "conv2d_forward";
    g.check_len(OP, "x", x.len(), g.input_shape());
    g.check_len(OP, "w", w.len(), g.weight_shape());
    if let Some(b) = bias {
        g.check_len(OP, "bias", b.len(), [g.o, 1, 1, 1]);
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
