//! How a convolution is lowered to GEMM: the im2col and row-lowering scratch layouts, the
//! kernel taps' in-bounds rectangles, and the copies between scratch and image planes.

use super::geometry::{Conv2dGeometry, Conv2dOptions};
use crate::scalar::Scalar;

/// Smallest `Cg * kw` for which [`Lowering::by_rows`] is used: below it the three GEMMs of the
/// row lowering have too short an inner dimension and one im2col GEMM wins.
pub(super) const MIN_ROW_DEPTH: usize = 40;

/// The range `lo..hi` of output positions `j < out` whose input position `j*stride + offset - pad`
/// (with `offset = tap * dilation`) lies inside `0..size`; `0..0` if there is none.
fn valid_range(
    out: usize,
    stride: usize,
    offset: usize,
    pad: usize,
    size: usize,
) -> (usize, usize) {
    let lo = pad.saturating_sub(offset).div_ceil(stride);
    // j*stride + offset - pad <= size - 1  <=>  j <= (size - 1 + pad - offset) / stride.
    let hi = if size + pad > offset {
        ((size + pad - offset - 1) / stride + 1).min(out)
    } else {
        0
    };
    if lo < hi {
        (lo, hi)
    } else {
        (0, 0)
    }
}

/// The in-bounds rectangle of one kernel tap `(p, q)`: output rows `top..bottom` (a function of
/// `p` only) and columns `lo..hi` (of `q` only) read pixels inside the image, all others padding.
struct Tap {
    rows: (usize, usize),
    cols: (usize, usize),
    /// Index, within a channel plane, of the input pixel read by output pixel `(top, lo)`.
    first: usize,
}

/// How one kernel call lowers the convolution to GEMM (im2col or the row lowering, see the module
/// docs), computed once per call.
pub(super) struct Lowering {
    /// Row stride of the im2col buffer (`OH*OW` padded, see [`padded_stride`]).
    pub(super) ld: usize,
    /// Row stride of the row-lowering buffer (`H*W` padded).
    pub(super) ld_in: usize,
    /// Stride 1 and `OW == W`: each tap's rectangle is one contiguous run of the input plane,
    /// the padding columns appearing as wrapped neighbours.
    contiguous: bool,
    /// Whether the forward and input-gradient passes use the row lowering.
    pub(super) by_rows: bool,
    /// Every tap, `(p, q)` row-major.
    taps: Vec<Tap>,
}

impl Lowering {
    /// `min_row_depth`: the smallest `Cg * kw` for which the row lowering is used.
    pub(super) fn new<T>(g: &Conv2dGeometry, min_row_depth: usize) -> Self {
        let Conv2dOptions {
            stride,
            padding,
            dilation,
            ..
        } = g.options;
        let mut taps = Vec::with_capacity(g.kh * g.kw);
        for p in 0..g.kh {
            let rows = valid_range(g.out_h, stride[0], p * dilation[0], padding[0], g.h);
            for q in 0..g.kw {
                let cols = valid_range(g.out_w, stride[1], q * dilation[1], padding[1], g.w);
                // In a non-empty range every read position is >= 0, the first one included.
                let first = if rows.0 < rows.1 && cols.0 < cols.1 {
                    let ih = rows.0 * stride[0] + p * dilation[0] - padding[0];
                    ih * g.w + cols.0 * stride[1] + q * dilation[1] - padding[1]
                } else {
                    0
                };
                taps.push(Tap { rows, cols, first });
            }
        }
        let contiguous = stride == [1, 1] && g.out_w == g.w;
        Lowering {
            // A pointwise convolution reads the input planes as they are, rows of OH*OW = H*W.
            ld: if g.is_pointwise() {
                g.out_pixels()
            } else {
                padded_stride::<T>(g.out_pixels())
            },
            ld_in: padded_stride::<T>(g.h * g.w),
            contiguous,
            by_rows: contiguous && !g.is_pointwise() && g.group_in() * g.kw >= min_row_depth,
            taps,
        }
    }

    /// A zeroed scratch buffer: `Cg*kw` rows of stride `ld_in` for the row lowering (`rows`),
    /// `Cg*kh*kw` rows of stride `ld` for im2col, nothing for a pointwise convolution.
    pub(super) fn buffer<T: Scalar>(&self, g: &Conv2dGeometry, rows: bool) -> Vec<T> {
        match (g.is_pointwise(), rows) {
            (true, _) => Vec::new(),
            (false, true) => vec![T::zero(); g.group_in() * g.kw * self.ld_in],
            (false, false) => vec![T::zero(); g.col_rows() * self.ld],
        }
    }

    /// The kernel rows `p` of the row lowering (none without it) that reach some output row, as
    /// `[p, out, len, inp]`: the flat start and length of the output pixels they reach (whole
    /// rows) and the flat start of the input row they read. A row whose span satisfies
    /// `covers(out, len, inp)` comes first, and the flag says if there is one: its GEMM may then
    /// overwrite the buffer it covers (`beta = 0`), the others accumulating, so that buffer needs
    /// no clearing.
    pub(super) fn row_plan(
        &self,
        g: &Conv2dGeometry,
        covers: impl Fn(usize, usize, usize) -> bool,
    ) -> (Vec<[usize; 4]>, bool) {
        let (dh, ph) = (g.options.dilation[0], g.options.padding[0]);
        let rows = if self.by_rows { 0..g.kh } else { 0..0 };
        let mut plan: Vec<[usize; 4]> = rows
            .filter_map(|p| {
                let (top, bottom) = self.taps[p * g.kw].rows;
                // A non-empty row range starts at an input row >= 0.
                (top < bottom).then(|| {
                    let input_row = top + p * dh - ph;
                    [p, top * g.w, (bottom - top) * g.w, input_row * g.w]
                })
            })
            .collect();
        let full = plan
            .iter()
            .position(|&[_, out, len, inp]| covers(out, len, inp));
        if let Some(k) = full {
            plan.swap(0, k);
        }
        (plan, full.is_some())
    }

    /// The column shift `q*dw - pw` of kernel column `q`.
    fn shift(g: &Conv2dGeometry, q: usize) -> isize {
        (q * g.options.dilation[1]) as isize - g.options.padding[1] as isize
    }

    /// Fills the row-lowering buffer `e` from the `Cg` planes `xg`:
    /// `e[(c, q), u] = xg[c, u + shift(q)]` where column `u % W + shift(q)` is inside the image,
    /// else 0.
    pub(super) fn expand_rows<T: Scalar>(&self, g: &Conv2dGeometry, xg: &[T], e: &mut [T]) {
        let hw = g.h * g.w;
        for (plane, rows) in xg
            .chunks_exact(hw)
            .zip(e.chunks_exact_mut(g.kw * self.ld_in))
        {
            for (q, row) in rows.chunks_exact_mut(self.ld_in).enumerate() {
                shift_copy(&mut row[..hw], plane, Self::shift(g, q));
                zero_outside(&mut row[..hw], g.w, self.taps[q].cols);
            }
        }
    }

    /// The adjoint of [`Lowering::expand_rows`]: `dxg[c, u + shift(q)] += d[(c, q), u]` where the
    /// column is inside the image (`d` is scratch: its other entries are zeroed first).
    pub(super) fn fold_rows<T: Scalar>(&self, g: &Conv2dGeometry, d: &mut [T], dxg: &mut [T]) {
        let hw = g.h * g.w;
        for (plane, rows) in dxg
            .chunks_exact_mut(hw)
            .zip(d.chunks_exact_mut(g.kw * self.ld_in))
        {
            for (q, row) in rows.chunks_exact_mut(self.ld_in).enumerate() {
                zero_outside(&mut row[..hw], g.w, self.taps[q].cols);
                shift_add(plane, &row[..hw], Self::shift(g, q));
            }
        }
    }

    /// Fills `cols` (`Cg*kh*kw` rows of stride `ld`, the first `OH*OW` entries of each used) from
    /// the `Cg` channel planes `xg`:
    /// `cols[(c, p, q), (i, j)] = xg[c, i*sh - ph + p*dh, j*sw - pw + q*dw]`, zero off the image.
    ///
    /// In the contiguous case each tap's rectangle is copied as one run and its padding columns
    /// (wrapped neighbours) are zeroed afterwards; otherwise each output row is copied as a run
    /// (stride 1) or gathered with a step (stride > 1). No bounds test in the inner loops.
    pub(super) fn im2col<T: Scalar>(&self, g: &Conv2dGeometry, xg: &[T], cols: &mut [T]) {
        let (ow, hw, sw) = (g.out_w, g.out_pixels(), g.options.stride[1]);
        let row_step = g.options.stride[0] * g.w;
        let mut rows = cols.chunks_exact_mut(self.ld);
        for plane in xg.chunks_exact(g.h * g.w) {
            for tap in &self.taps {
                let row = &mut rows.next().expect("cols has Cg*kh*kw rows")[..hw];
                let ((top, bottom), (lo, hi)) = (tap.rows, tap.cols);
                if lo == hi || top == bottom {
                    row.fill(T::zero());
                    continue;
                }
                row[..top * ow].fill(T::zero());
                row[bottom * ow..].fill(T::zero());
                let band = &mut row[top * ow..bottom * ow];
                if self.contiguous {
                    let len = band.len() - lo - (ow - hi);
                    band[lo..lo + len].copy_from_slice(&plane[tap.first..tap.first + len]);
                    zero_outside(band, ow, tap.cols);
                    continue;
                }
                for (k, out) in band.chunks_exact_mut(ow).enumerate() {
                    let src = &plane[tap.first + k * row_step..];
                    out[..lo].fill(T::zero());
                    out[hi..].fill(T::zero());
                    let run = &mut out[lo..hi];
                    if sw == 1 {
                        run.copy_from_slice(&src[..run.len()]);
                    } else {
                        run.iter_mut()
                            .zip(src.iter().step_by(sw))
                            .for_each(|(d, &s)| *d = s);
                    }
                }
            }
        }
    }

    /// The adjoint of [`Lowering::im2col`]: adds every `cols[(c, p, q), (i, j)]` into
    /// `dxg[c, i*sh - ph + p*dh, j*sw - pw + q*dw]` when that pixel is inside the image.
    ///
    /// `cols` is scratch: in the contiguous case its entries that read padding are zeroed first so
    /// that each tap adds one contiguous run (adding `+0` leaves the wrapped neighbours unchanged).
    pub(super) fn col2im<T: Scalar>(&self, g: &Conv2dGeometry, cols: &mut [T], dxg: &mut [T]) {
        let (ow, hw, sw) = (g.out_w, g.out_pixels(), g.options.stride[1]);
        let row_step = g.options.stride[0] * g.w;
        let mut rows = cols.chunks_exact_mut(self.ld);
        for plane in dxg.chunks_exact_mut(g.h * g.w) {
            for tap in &self.taps {
                let row = &mut rows.next().expect("cols has Cg*kh*kw rows")[..hw];
                let ((top, bottom), (lo, hi)) = (tap.rows, tap.cols);
                if lo == hi || top == bottom {
                    continue;
                }
                let band = &mut row[top * ow..bottom * ow];
                if self.contiguous {
                    zero_outside(band, ow, tap.cols);
                    let len = band.len() - lo - (ow - hi);
                    add_into(&mut plane[tap.first..tap.first + len], &band[lo..]);
                    continue;
                }
                for (k, src) in band.chunks_exact(ow).enumerate() {
                    let dst = &mut plane[tap.first + k * row_step..];
                    if sw == 1 {
                        add_into(dst, &src[lo..hi]);
                    } else {
                        let dst = dst.iter_mut().step_by(sw);
                        dst.zip(&src[lo..hi]).for_each(|(d, &s)| *d = *d + s);
                    }
                }
            }
        }
    }
}

/// The weight rearranged for the row lowering: per group and kernel row `p`, the `[Og, Cg*kw]`
/// matrix `W_p[o, (c, q)] = w[o, c, p, q]`, stored `[G][kh][Og][Cg][kw]`; empty without it.
pub(super) fn row_weights<T: Scalar>(low: &Lowering, g: &Conv2dGeometry, w: &[T]) -> Vec<T> {
    if !low.by_rows {
        return Vec::new();
    }
    let (cg, og, kh, kw) = (g.group_in(), g.group_out(), g.kh, g.kw);
    let mut out = vec![T::zero(); w.len()];
    for (o, wo) in w.chunks_exact(cg * kh * kw).enumerate() {
        for (c, wc) in wo.chunks_exact(kh * kw).enumerate() {
            for (p, wp) in wc.chunks_exact(kw).enumerate() {
                let at = (((o / og) * kh + p) * og + o % og) * cg * kw + c * kw;
                out[at..at + kw].copy_from_slice(wp);
            }
        }
    }
    out
}

/// The row stride of a scratch matrix with `pixels` columns: `pixels` rounded up to whole cache
/// lines, plus one line if that is an even number of lines. With `OH * OW` a power of two (32x32
/// images: 4 KiB rows in f32) every row would map to the same cache sets and GEMM's packing of
/// `cols` (which walks down columns) would thrash the L1 cache and the TLB; an odd number of lines
/// spreads the rows over all sets (measured: 32x288x1024 sgemm from 123 to 168 GFLOP/s).
fn padded_stride<T>(pixels: usize) -> usize {
    let line = (64 / std::mem::size_of::<T>()).max(1);
    let lines = pixels.div_ceil(line);
    (lines + (1 - lines % 2)) * line
}

/// Sets `rows[r * width + j]` to zero for every row `r` and every column `j` outside `lo..hi`
/// (strided stores: a few elements per row, not worth a `memset` call each).
fn zero_outside<T: Scalar>(rows: &mut [T], width: usize, (lo, hi): (usize, usize)) {
    for j in (0..lo).chain(hi..width) {
        rows[j..]
            .iter_mut()
            .step_by(width)
            .for_each(|v| *v = T::zero());
    }
}

/// `dst[u] = src[u + s]` where `0 <= u + s < len`, else 0 (slices of equal length `len`).
fn shift_copy<T: Scalar>(dst: &mut [T], src: &[T], s: isize) {
    let (len, k) = (dst.len(), s.unsigned_abs().min(dst.len()));
    if s >= 0 {
        dst[..len - k].copy_from_slice(&src[k..]);
        dst[len - k..].fill(T::zero());
    } else {
        dst[..k].fill(T::zero());
        dst[k..].copy_from_slice(&src[..len - k]);
    }
}

/// `dst[u + s] += src[u]` where `0 <= u + s < len` (slices of equal length `len`).
fn shift_add<T: Scalar>(dst: &mut [T], src: &[T], s: isize) {
    let (len, k) = (dst.len(), s.unsigned_abs().min(dst.len()));
    if s >= 0 {
        add_into(&mut dst[k..], &src[..len - k]);
    } else {
        add_into(&mut dst[..len - k], &src[k..]);
    }
}

/// `dst[u] += src[u]` over the shorter of the two.
fn add_into<T: Scalar>(dst: &mut [T], src: &[T]) {
    dst.iter_mut().zip(src).for_each(|(d, &s)| *d = *d + s);
}
