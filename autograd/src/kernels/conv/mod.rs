//! 2-D convolution kernels on plain slices: NCHW activations, OIHW weights, PyTorch semantics.
//!
//! Every kernel lowers to GEMM ([`Scalar::gemm`]). For one sample `n` and one group `g` (of `G`),
//! with `Cg = C / G` input and `Og = O / G` output channels per group, im2col builds the column
//! matrix `cols` with `Cg * kh * kw` rows, one per `(c, p, q)` (input channel in the group, kernel
//! row, kernel column), and `OH * OW` columns, one per output pixel `(i, j)`:
//!
//! ```text
//! cols[(c, p, q), (i, j)] = x[n, g*Cg + c, i*sh - ph + p*dh, j*sw - pw + q*dw]  (0 off the image)
//! ```
//!
//! so the forward pass is the product `y[n, group g] = W_g cols` with `W_g` the `[Og, Cg*kh*kw]`
//! block of the weight, the input gradient is `col2im(W_g^T dy_g)` (col2im is the adjoint of
//! im2col: it scatter-adds every entry back to the pixel it was read from) and the weight
//! gradient is `sum_n dy_g cols^T`. A 1x1, stride 1, unpadded convolution skips im2col (`cols` is
//! the input itself).
//!
//! The forward and input-gradient passes of a stride-1 convolution with `OW == W` ("same" width,
//! the common 3x3 padding-1 case) and `Cg * kw >= 40` use a cheaper row lowering instead: it copies
//! only `kw` column-shifted versions of each input plane,
//! `E[(c, q), u] = x[c, u + q*dw - pw]` (`u` a flat pixel index; 0 where the column leaves the
//! image), and sums `kh` GEMMs, one per kernel row `p`: output rows `i` read `E` at input row
//! `i + p*dh - ph` with unit stride, so `y_g[rows of p] += W_p E[:, shifted rows]` with
//! `W_p[o, (c, q)] = w[o, c, p, q]`; the input gradient folds `sum_p W_p^T dy_g[rows of p]` back
//! through the same shifts. It copies `kh` times less than im2col and its GEMMs (inner dimension
//! `Cg*kw`) run faster (measured 185 vs 170 GFLOP/s with 32 channels).
//!
//! Depthwise convolutions (`groups = c`, a channel multiplier of at most 4) skip GEMM: their
//! groups' products are too thin. Direct kernels (`depthwise.rs`: register-blocked row
//! correlations, unrolled for 3x3 and 5x5 kernels) run them within 1.1-3.6x of a dense
//! convolution's time per FLOP forward on mobilenet_v3_small's layers; the stride-2 input
//! gradient is still 7-13x (`cargo bench --bench ops -- depthwise_mnv3`).
//!
//! Dense 3x3, stride-1, undilated `f32` convolutions with at least 32 input and output channels
//! and an output of at least 8x8 (every layer of the cifar and vgg64 workloads but the first) run
//! their forward and input-gradient passes by Winograd `F(4x4, 3x3)` instead (`winograd/`): 36
//! multiply-adds per 16 outputs instead of 144, as 36 GEMMs over blocks of tiles, measured 1.3-2x
//! faster than the GEMM lowering on those layers (`cargo bench --bench ops -- conv2d_algorithms`);
//! its `f32` error is about `5e-6` of the output's maximum against `3e-7` for GEMM. `f64`
//! convolutions and weight gradients always take the exact GEMM path. [`Conv2dAlgorithm`] lets
//! benchmarks and tests choose the path.
//!
//! Samples are processed one at a time with one reused scratch buffer, so the extra memory is at
//! most `Cg * kh * kw * OH * OW` elements (plus cache-line padding) whatever the batch size.

mod depthwise;
mod geometry;
mod lowering;
#[cfg(test)]
mod tests;
mod winograd;

pub use geometry::{Conv2dGeometry, Conv2dOptions};
use winograd::Tile;

use crate::scalar::Scalar;
use lowering::{row_weights, Lowering, MIN_ROW_DEPTH};

/// `beta` for a GEMM that accumulates into (1) or overwrites (0) its output.
fn beta<T: Scalar>(accumulate: bool) -> T {
    if accumulate {
        T::one()
    } else {
        T::zero()
    }
}

/// Row-major strides of a matrix with `cols` columns.
fn row_major(cols: usize) -> [isize; 2] {
    [cols as isize, 1]
}

/// Strides of the transpose of a row-major matrix with `cols` columns.
fn transposed(cols: usize) -> [isize; 2] {
    [1, cols as isize]
}

/// `C <- A B + beta C` for `[m, k, n]` shapes, each operand a slice with `[row, column]` strides.
fn matmul<T: Scalar>(
    [m, k, n]: [usize; 3],
    (a, sa): (&[T], [isize; 2]),
    (b, sb): (&[T], [isize; 2]),
    beta: T,
    (c, sc): (&mut [T], [isize; 2]),
) {
    T::gemm(m, k, n, T::one(), a, sa, b, sb, beta, c, sc);
}

/// The algorithm a forward or input-gradient convolution runs, for benchmarks and tests that
/// compare them; the plain functions ([`conv2d_forward`], [`conv2d_backward_input`]) use `Auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv2dAlgorithm {
    /// The fastest path for the geometry and type (see the module docs).
    Auto,
    /// The GEMM lowering (im2col or rows), or the direct depthwise kernels: exact sums in any
    /// geometry.
    Gemm,
    /// Winograd `F(2x2, 3x3)`: 3x3, stride 1, dilation 1, one group only.
    Winograd2x2,
    /// Winograd `F(4x4, 3x3)`: 3x3, stride 1, dilation 1, one group only.
    Winograd4x4,
}

impl Conv2dAlgorithm {
    /// The Winograd tile this algorithm runs on `g` with `T`, or `None` for a GEMM path.
    ///
    /// # Panics
    /// If a Winograd algorithm is asked for a geometry it cannot run.
    fn winograd<T: Scalar>(self, g: &Conv2dGeometry) -> Option<Tile> {
        let tile = match self {
            Conv2dAlgorithm::Auto => return winograd::applies::<T>(g).then_some(Tile::F4x4),
            Conv2dAlgorithm::Gemm => return None,
            Conv2dAlgorithm::Winograd2x2 => Tile::F2x2,
            Conv2dAlgorithm::Winograd4x4 => Tile::F4x4,
        };
        assert!(
            winograd::supports(g),
            "conv2d: {self:?} needs a 3x3 kernel, stride 1, dilation 1 and one group, not {g:?}"
        );
        Some(tile)
    }
}

/// Forward convolution: `y = conv2d(x, w) + b`, shape `[n, o, out_h, out_w]`.
///
/// With `Cg = c / groups`, `Og = o / groups`, and `g = o / Og` the group of output channel `o`:
///
/// ```text
/// y[n, o, i, j] = b[o] + sum_{c < Cg, p < kh, q < kw}
///                 w[o, c, p, q] * x[n, g*Cg + c, i*sh - ph + p*dh, j*sw - pw + q*dw]
/// ```
///
/// where `x` is 0 outside the image. Computed per sample and group as `W_g cols` (im2col, see the
/// module docs) or, for stride 1 with `OW == W`, by the cheaper row lowering (ditto).
/// `x` is `[n, c, h, w]`, `w` is `[o, c / groups, kh, kw]`, `bias` (optional) is `[o]`.
///
/// # Panics
/// If a slice length does not match the geometry.
pub fn conv2d_forward<T: Scalar>(
    g: &Conv2dGeometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    conv2d_forward_using(Conv2dAlgorithm::Auto, g, x, w, bias)
}

/// [`conv2d_forward`] by the algorithm `alg`.
///
/// # Panics
/// If a slice length does not match the geometry, or `alg` is a Winograd one and the geometry
/// is not a 3x3, stride-1, undilated, single-group convolution.
pub fn conv2d_forward_using<T: Scalar>(
    alg: Conv2dAlgorithm,
    g: &Conv2dGeometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    if let Some(tile) = alg.winograd::<T>(g) {
        return winograd::forward(tile, g, x, w, bias);
    }
    if depthwise::applies(g) {
        return depthwise::forward(g, x, w, bias);
    }
    forward(g, x, w, bias, MIN_ROW_DEPTH)
}

/// [`conv2d_forward`] with the row lowering's threshold as a parameter (tests force each path).
fn forward<T: Scalar>(
    g: &Conv2dGeometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    min_row_depth: usize,
) -> Vec<T> {
    g.check_forward(x, w, bias);
    let (cg, og, k, hw) = (g.group_in(), g.group_out(), g.col_rows(), g.out_pixels());
    let low = Lowering::new::<T>(g, min_row_depth);
    let wr = row_weights(&low, g, w);
    let (plan, overwrite) = low.row_plan(g, |out, len, _| out == 0 && len == hw);
    let mut buf = low.buffer::<T>(g, low.by_rows);
    let mut y = vec![T::zero(); g.n * g.o * hw];
    for (xn, yn) in x
        .chunks_exact(g.c * g.h * g.w)
        .zip(y.chunks_exact_mut(g.o * hw))
    {
        let groups = xn
            .chunks_exact(cg * g.h * g.w)
            .zip(yn.chunks_exact_mut(og * hw));
        for (gi, (xg, yg)) in groups.enumerate() {
            let wg = &w[gi * og * k..][..og * k];
            if low.by_rows {
                low.expand_rows(g, xg, &mut buf);
                let (kr, e) = (cg * g.kw, row_major(low.ld_in));
                for (step, &[p, out, len, inp]) in plan.iter().enumerate() {
                    let a = (&wr[(gi * g.kh + p) * og * kr..][..og * kr], row_major(kr));
                    // y starts at zero: accumulating is right even without a covering row.
                    let beta = beta(step > 0 || !overwrite);
                    let c = (&mut yg[out..], row_major(hw));
                    matmul([og, kr, len], a, (&buf[inp..], e), beta, c);
                }
            } else {
                let b = if g.is_pointwise() {
                    xg
                } else {
                    low.im2col(g, xg, &mut buf);
                    &buf
                };
                let (a, c) = ((wg, row_major(k)), (yg, row_major(hw)));
                matmul([og, k, hw], a, (b, row_major(low.ld)), T::zero(), c);
            }
        }
        if let Some(bias) = bias {
            for (plane, &b) in yn.chunks_exact_mut(hw).zip(bias) {
                plane.iter_mut().for_each(|v| *v = *v + b);
            }
        }
    }
    y
}

/// Gradient of [`conv2d_forward`] with respect to the input: `dx = col2im(W^T dy)`, shape
/// `[n, c, h, w]`:
///
/// ```text
/// dx[n, g*Cg + c, r, s] = sum over (o in group g, i, j, p, q) with i*sh - ph + p*dh = r and
///                         j*sw - pw + q*dw = s of w[o, c, p, q] * dy[n, o, i, j]
/// ```
///
/// For each sample and group, `dcols = W_g^T dy_g` (`[Cg*kh*kw, OH*OW]`, the transpose taken
/// through strides) is scatter-added back to the pixels im2col read; under the row lowering,
/// `D = sum_p W_p^T dy_g[rows of p]` is folded back through the `kw` column shifts instead.
/// `dy` is `[n, o, out_h, out_w]`.
///
/// # Panics
/// If a slice length does not match the geometry.
pub fn conv2d_backward_input<T: Scalar>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    conv2d_backward_input_using(Conv2dAlgorithm::Auto, g, w, dy)
}

/// [`conv2d_backward_input`] by the algorithm `alg`.
///
/// # Panics
/// As [`conv2d_forward_using`].
pub fn conv2d_backward_input_using<T: Scalar>(
    alg: Conv2dAlgorithm,
    g: &Conv2dGeometry,
    w: &[T],
    dy: &[T],
) -> Vec<T> {
    if let Some(tile) = alg.winograd::<T>(g) {
        return winograd::backward_input(tile, g, w, dy);
    }
    if depthwise::applies(g) {
        return depthwise::backward_input(g, w, dy);
    }
    backward_input(g, w, dy, MIN_ROW_DEPTH)
}

/// [`conv2d_backward_input`] with the row lowering's threshold as a parameter.
fn backward_input<T: Scalar>(
    g: &Conv2dGeometry,
    w: &[T],
    dy: &[T],
    min_row_depth: usize,
) -> Vec<T> {
    const OP: &str = "conv2d_backward_input";
    g.check_len(OP, "w", w.len(), g.weight_shape());
    g.check_len(OP, "dy", dy.len(), g.output_shape());
    let (cg, og, k, hw) = (g.group_in(), g.group_out(), g.col_rows(), g.out_pixels());
    let low = Lowering::new::<T>(g, min_row_depth);
    let wr = row_weights(&low, g, w);
    let (plan, overwrite) = low.row_plan(g, |_, len, inp| inp == 0 && len == g.h * g.w);
    let mut buf = low.buffer::<T>(g, low.by_rows);
    let mut dx = vec![T::zero(); g.n * g.c * g.h * g.w];
    for (dxn, dyn_) in dx
        .chunks_exact_mut(g.c * g.h * g.w)
        .zip(dy.chunks_exact(g.o * hw))
    {
        let groups = dxn
            .chunks_exact_mut(cg * g.h * g.w)
            .zip(dyn_.chunks_exact(og * hw));
        for (gi, (dxg, dyg)) in groups.enumerate() {
            let wg = &w[gi * og * k..][..og * k];
            let b = (dyg, row_major(hw));
            if g.is_pointwise() {
                matmul(
                    [k, og, hw],
                    (wg, transposed(k)),
                    b,
                    T::zero(),
                    (dxg, row_major(hw)),
                );
            } else if low.by_rows {
                if !overwrite {
                    buf.fill(T::zero());
                }
                let (kr, d) = (cg * g.kw, row_major(low.ld_in));
                for (step, &[p, out, len, inp]) in plan.iter().enumerate() {
                    let a = (&wr[(gi * g.kh + p) * og * kr..][..og * kr], transposed(kr));
                    let beta = beta(step > 0 || !overwrite);
                    let b = (&dyg[out..], row_major(hw));
                    matmul([kr, og, len], a, b, beta, (&mut buf[inp..], d));
                }
                low.fold_rows(g, &mut buf, dxg);
            } else {
                let c = (&mut buf[..], row_major(low.ld));
                matmul([k, og, hw], (wg, transposed(k)), b, T::zero(), c);
                low.col2im(g, &mut buf, dxg);
            }
        }
    }
    dx
}

/// Gradient of [`conv2d_forward`] with respect to the weight: `dW = sum_n dy cols^T`, shape
/// `[o, c / groups, kh, kw]`:
///
/// ```text
/// dw[o, c, p, q] = sum_{n, i, j}
///                  dy[n, o, i, j] * x[n, g*Cg + c, i*sh - ph + p*dh, j*sw - pw + q*dw]
/// ```
///
/// For each sample and group, `dW_g += dy_g cols^T` (GEMM with `beta = 1`; `cols^T` through
/// strides). `x` is `[n, c, h, w]`, `dy` is `[n, o, out_h, out_w]`.
///
/// # Panics
/// If a slice length does not match the geometry.
pub fn conv2d_backward_weight<T: Scalar>(g: &Conv2dGeometry, x: &[T], dy: &[T]) -> Vec<T> {
    if depthwise::applies(g) {
        return depthwise::backward_weight(g, x, dy);
    }
    backward_weight(g, x, dy)
}

/// [`conv2d_backward_weight`] through GEMM, whatever the geometry.
fn backward_weight<T: Scalar>(g: &Conv2dGeometry, x: &[T], dy: &[T]) -> Vec<T> {
    const OP: &str = "conv2d_backward_weight";
    g.check_len(OP, "x", x.len(), g.input_shape());
    g.check_len(OP, "dy", dy.len(), g.output_shape());
    let (cg, og, k, hw) = (g.group_in(), g.group_out(), g.col_rows(), g.out_pixels());
    let low = Lowering::new::<T>(g, usize::MAX);
    let mut cols = low.buffer::<T>(g, false);
    let mut dw = vec![T::zero(); g.o * k];
    for (xn, dyn_) in x
        .chunks_exact(g.c * g.h * g.w)
        .zip(dy.chunks_exact(g.o * hw))
    {
        let groups = xn
            .chunks_exact(cg * g.h * g.w)
            .zip(dyn_.chunks_exact(og * hw));
        for ((xg, dyg), dwg) in groups.zip(dw.chunks_exact_mut(og * k)) {
            let b = if g.is_pointwise() {
                (xg, transposed(hw))
            } else {
                low.im2col(g, xg, &mut cols);
                (&cols[..], transposed(low.ld))
            };
            matmul(
                [og, hw, k],
                (dyg, row_major(hw)),
                b,
                T::one(),
                (dwg, row_major(k)),
            );
        }
    }
    dw
}

/// Gradient of [`conv2d_forward`] with respect to the bias: `db[o] = sum_{n, i, j} dy[n, o, i, j]`,
/// shape `[o]`. `dy` is `[n, o, out_h, out_w]`.
///
/// # Panics
/// If `dy`'s length does not match the geometry.
pub fn conv2d_backward_bias<T: Scalar>(g: &Conv2dGeometry, dy: &[T]) -> Vec<T> {
    g.check_len("conv2d_backward_bias", "dy", dy.len(), g.output_shape());
    let hw = g.out_pixels();
    let mut db = vec![T::zero(); g.o];
    for dyn_ in dy.chunks_exact(g.o * hw) {
        for (d, plane) in db.iter_mut().zip(dyn_.chunks_exact(hw)) {
            *d = *d + plane.iter().copied().sum::<T>();
        }
    }
    db
}
