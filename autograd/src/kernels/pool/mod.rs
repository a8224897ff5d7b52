//! 2-D max and average pooling kernels on plain NCHW slices, with PyTorch's semantics.
//!
//! Window `(i, j)` of a plane covers input rows `i*sh - top .. i*sh - top + kh` and columns
//! `j*sw - left .. j*sw - left + kw`; the parts outside the image are padding (asymmetric
//! `[top, left, bottom, right]` pads, PyTorch's `ceil_mode` and `count_include_pad`: see
//! [`Pool2dOptions`]). Not supported: dilation (always 1). [`adaptive`] holds PyTorch's adaptive
//! average pooling.

pub mod adaptive;
mod geometry;
#[cfg(test)]
mod tests;

pub use geometry::{Pool2dGeometry, Pool2dOptions};

use crate::scalar::Scalar;

/// Whether `v` replaces the running maximum `best`: strictly greater (ties keep the first), or
/// NaN (a NaN always wins, so it propagates; the last NaN of the window is the one recorded).
/// This is the rule of PyTorch's CPU kernel, `(val > maxval) || isnan(val)`.
#[inline(always)]
fn beats<T: Scalar>(v: T, best: T) -> bool {
    v > best || v.is_nan()
}

/// Max pooling: `y[n, c, i, j] = max` over the in-image part of window `(i, j)` (padding is
/// `-inf`, so it is never chosen), and `argmax[n, c, i, j]` = the flat index into `x` of that
/// maximum.
///
/// ```text
/// y[n, c, i, j] = max_{p < kh, q < kw} x[n, c, i*sh - ph + p, j*sw - pw + q]
/// ```
///
/// Windows are scanned row by row; on ties the first maximum is kept. NaN propagates: a window
/// holding a NaN outputs NaN, and its argmax is the window's last NaN (PyTorch's CPU rule). A
/// non-overlapping 2x2 stride-2 window takes a dedicated loop with the same results.
///
/// # Panics
/// If `x.len()` does not match the geometry, or is `u32::MAX` or more (indices are `u32`).
pub fn max_pool2d_forward<T: Scalar>(g: &Pool2dGeometry, x: &[T]) -> (Vec<T>, Vec<u32>) {
    g.check_len("max_pool2d_forward", "x", x.len(), g.input_shape());
    assert!(
        x.len() < u32::MAX as usize,
        "max_pool2d_forward: input {:?} has {} elements, too many for u32 indices",
        g.input_shape(),
        x.len()
    );
    let mut y = vec![T::zero(); g.output_len()];
    let mut argmax = vec![0u32; g.output_len()];
    if g.is_2x2() {
        max_pool_2x2(g, x, &mut y, &mut argmax);
    } else {
        max_pool_generic(g, x, &mut y, &mut argmax);
    }
    (y, argmax)
}

/// The general max pool: any window, stride and padding.
fn max_pool_generic<T: Scalar>(g: &Pool2dGeometry, x: &[T], y: &mut [T], argmax: &mut [u32]) {
    let (rows, cols) = (g.spans(0), g.spans(1));
    let (plane, out_plane) = (g.h * g.w, g.out_h * g.out_w);
    let planes = x.chunks_exact(plane).zip(y.chunks_exact_mut(out_plane));
    for (k, ((xp, yp), ap)) in planes.zip(argmax.chunks_exact_mut(out_plane)).enumerate() {
        let base = k * plane;
        let outputs = yp
            .chunks_exact_mut(g.out_w)
            .zip(ap.chunks_exact_mut(g.out_w));
        for (&(r0, r1), (y_row, a_row)) in rows.iter().zip(outputs) {
            for ((&(c0, c1), yv), av) in cols.iter().zip(y_row).zip(a_row) {
                let mut at = r0 * g.w + c0;
                let mut best = xp[at];
                for r in r0..r1 {
                    for (q, &v) in xp[r * g.w + c0..r * g.w + c1].iter().enumerate() {
                        if beats(v, best) {
                            best = v;
                            at = r * g.w + c0 + q;
                        }
                    }
                }
                *yv = best;
                *av = (base + at) as u32;
            }
        }
    }
}

/// Max pool with a 2x2 window, stride 2 and no padding: each window is two pairs of two
/// consecutive inputs, scanned in the same order as the general loop. An odd last row or column is
/// dropped, as the output size formula says.
fn max_pool_2x2<T: Scalar>(g: &Pool2dGeometry, x: &[T], y: &mut [T], argmax: &mut [u32]) {
    let (w, ow) = (g.w, g.out_w);
    let (plane, out_plane) = (g.h * g.w, g.out_h * g.out_w);
    let planes = x.chunks_exact(plane).zip(y.chunks_exact_mut(out_plane));
    for (k, ((xp, yp), ap)) in planes.zip(argmax.chunks_exact_mut(out_plane)).enumerate() {
        let outputs = yp.chunks_exact_mut(ow).zip(ap.chunks_exact_mut(ow));
        for (i, (y_row, a_row)) in outputs.enumerate() {
            let top = k * plane + 2 * i * w;
            let (r0, r1) = (&xp[2 * i * w..][..w], &xp[(2 * i + 1) * w..][..w]);
            let pairs = r0.chunks_exact(2).zip(r1.chunks_exact(2));
            for (j, ((a, b), (yv, av))) in pairs.zip(y_row.iter_mut().zip(a_row)).enumerate() {
                let (mut best, mut at) = (a[0], top + 2 * j);
                for (v, off) in [(a[1], 1), (b[0], w), (b[1], w + 1)] {
                    if beats(v, best) {
                        best = v;
                        at = top + 2 * j + off;
                    }
                }
                *yv = best;
                *av = at as u32;
            }
        }
    }
}

/// Gradient of max pooling: every `dy` entry flows to the input its window chose,
/// `dx[argmax[k]] += dy[k]`; overlapping windows that chose the same input accumulate, all other
/// inputs get 0.
///
/// # Panics
/// If `argmax` or `dy` does not have the output's length, or an index is out of the input's range.
pub fn max_pool2d_backward<T: Scalar>(g: &Pool2dGeometry, argmax: &[u32], dy: &[T]) -> Vec<T> {
    const OP: &str = "max_pool2d_backward";
    g.check_len(OP, "argmax", argmax.len(), g.output_shape());
    g.check_len(OP, "dy", dy.len(), g.output_shape());
    let mut dx = vec![T::zero(); g.input_len()];
    for (&k, &d) in argmax.iter().zip(dy) {
        let slot = &mut dx[k as usize];
        *slot = *slot + d;
    }
    dx
}

/// Average pooling: the sum of the in-image part of window `(i, j)` divided by its divisor
/// `d[i, j]`, padding counting as zeros.
///
/// ```text
/// y[n, c, i, j] = (1 / d[i, j]) * sum_{p < kh, q < kw} x[n, c, i*sh - top + p, j*sw - left + q]
/// ```
///
/// PyTorch's divisor: with `count_include_pad` (the default) the window's size clipped to the
/// padded input, `kh*kw` except for a `ceil_mode` window hanging past the bottom/right padding;
/// without, the number of in-image elements.
///
/// # Panics
/// If `x.len()` does not match the geometry.
pub fn avg_pool2d_forward<T: Scalar>(g: &Pool2dGeometry, x: &[T]) -> Vec<T> {
    g.check_len("avg_pool2d_forward", "x", x.len(), g.input_shape());
    let (rows, cols) = (g.spans(0), g.spans(1));
    let (row_counts, col_counts) = (g.counts(0), g.counts(1));
    let mut y = vec![T::zero(); g.output_len()];
    for (xp, yp) in x
        .chunks_exact(g.h * g.w)
        .zip(y.chunks_exact_mut(g.out_h * g.out_w))
    {
        let row_iter = rows.iter().zip(&row_counts);
        for ((&(r0, r1), &rc), y_row) in row_iter.zip(yp.chunks_exact_mut(g.out_w)) {
            for ((&(c0, c1), &cc), yv) in cols.iter().zip(&col_counts).zip(y_row) {
                let sum = (r0..r1).fold(T::zero(), |acc, r| {
                    xp[r * g.w + c0..r * g.w + c1]
                        .iter()
                        .fold(acc, |a, &v| a + v)
                });
                *yv = sum / T::from_f64_lossy((rc * cc) as f64);
            }
        }
    }
    y
}

/// Gradient of [`avg_pool2d_forward`]: every input of window `(i, j)` (padding excluded) receives
/// `dy[n, c, i, j] / d[i, j]`; overlapping windows accumulate.
///
/// ```text
/// dx[n, c, r, s] = sum over windows (i, j) containing (r, s) of dy[n, c, i, j] / d[i, j]
/// ```
///
/// # Panics
/// If `dy.len()` does not match the geometry.
pub fn avg_pool2d_backward<T: Scalar>(g: &Pool2dGeometry, dy: &[T]) -> Vec<T> {
    g.check_len("avg_pool2d_backward", "dy", dy.len(), g.output_shape());
    let (rows, cols) = (g.spans(0), g.spans(1));
    let (row_counts, col_counts) = (g.counts(0), g.counts(1));
    let mut dx = vec![T::zero(); g.input_len()];
    for (dxp, dyp) in dx
        .chunks_exact_mut(g.h * g.w)
        .zip(dy.chunks_exact(g.out_h * g.out_w))
    {
        let row_iter = rows.iter().zip(&row_counts);
        for ((&(r0, r1), &rc), dy_row) in row_iter.zip(dyp.chunks_exact(g.out_w)) {
            for ((&(c0, c1), &cc), &d) in cols.iter().zip(&col_counts).zip(dy_row) {
                let share = d / T::from_f64_lossy((rc * cc) as f64);
                for r in r0..r1 {
                    dxp[r * g.w + c0..r * g.w + c1]
                        .iter_mut()
                        .for_each(|v| *v = *v + share);
                }
            }
        }
    }
    dx
}
