//! 2-D convolution kernels on plain slices: NCHW activations, OIHW weights, PyTorch semantics.
//!
//! Every kernel lowers to GEMM through im2col. For one sample `n` and one group `g` (of `G`), with
//! `Cg = C / G` input and `Og = O / G` output channels per group, the column matrix
//! `cols` has `Cg * kh * kw` rows, one per `(c, p, q)` (input channel in the group, kernel row,
//! kernel column), and `OH * OW` columns, one per output pixel `(i, j)`:
//!
//! ```text
//! cols[(c, p, q), (i, j)] = x[n, g*Cg + c, i*sh - ph + p*dh, j*sw - pw + q*dw]   (0 outside the image)
//! ```
//!
//! so the forward pass is the product `y[n, group g] = W_g cols` with `W_g` the `[Og, Cg*kh*kw]`
//! block of the weight, the input gradient is `col2im(W_g^T dy_g)` (col2im is the adjoint of
//! im2col: it scatter-adds every entry back to the pixel it was read from) and the weight gradient is
//! `sum_n dy_g cols^T`. Samples are processed one at a time with one reused `cols` buffer, so the
//! extra memory is `Cg * kh * kw * OH * OW` elements whatever the batch size; a 1x1, stride 1,
//! unpadded convolution skips im2col altogether since `cols` is then the input itself.

use crate::scalar::Scalar;

/// Hyper-parameters of a 2-D convolution, as in PyTorch's `nn.Conv2d`: `[height, width]` pairs.
///
/// The default is stride 1, padding 0 (zeros on each side), dilation 1 and one group. The square
/// builders set both dimensions, the `*2` builders set `[height, width]` separately, e.g.
/// `Conv2dOptions::default().stride(2).padding(1)` for a halving 3x3 convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Step between two windows, `[sh, sw]` (>= 1).
    pub stride: [usize; 2],
    /// Implicit zero padding added on both sides, `[ph, pw]`.
    pub padding: [usize; 2],
    /// Spacing between kernel taps, `[dh, dw]` (>= 1; 1 is an ordinary convolution).
    pub dilation: [usize; 2],
    /// Number of groups `G` (>= 1): input and output channels split into `G` blocks, output block
    /// `g` seeing only input block `g`. `G == C == O` is a depthwise convolution.
    pub groups: usize,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

impl Conv2dOptions {
    /// Sets the same stride `s` for height and width.
    pub fn stride(self, s: usize) -> Self {
        self.stride2([s, s])
    }

    /// Sets the stride `[sh, sw]`.
    pub fn stride2(mut self, s: [usize; 2]) -> Self {
        self.stride = s;
        self
    }

    /// Sets the same zero padding `p` on all four sides.
    pub fn padding(self, p: usize) -> Self {
        self.padding2([p, p])
    }

    /// Sets the zero padding `[ph, pw]` (`ph` rows above and below, `pw` columns left and right).
    pub fn padding2(mut self, p: [usize; 2]) -> Self {
        self.padding = p;
        self
    }

    /// Sets the same dilation `d` for height and width.
    pub fn dilation(self, d: usize) -> Self {
        self.dilation2([d, d])
    }

    /// Sets the dilation `[dh, dw]`.
    pub fn dilation2(mut self, d: [usize; 2]) -> Self {
        self.dilation = d;
        self
    }

    /// Sets the number of groups.
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
}

/// The validated shapes of one convolution: input `[n, c, h, w]`, weight `[o, c / groups, kh, kw]`,
/// output `[n, o, out_h, out_w]`.
///
/// Output sizes follow PyTorch: `out = (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1`
/// (floor division).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Batch size.
    pub n: usize,
    /// Input channels (all groups).
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels (all groups).
    pub o: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride, padding, dilation and groups.
    pub options: Conv2dOptions,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

impl Conv2dGeometry {
    /// Validates an input shape `[n, c, h, w]` and a weight shape `[o, c / groups, kh, kw]` under
    /// `opts`, and computes the output size `out = (in + 2*pad - dilation*(k-1) - 1) / stride + 1`.
    ///
    /// # Errors
    /// A message naming `conv2d` and both shapes if a shape is not of rank 4, a size that must be
    /// positive (channels, height, width, kernel, stride, dilation, groups) is 0,
    /// `c != weight[1] * groups`, `o` is not a multiple of `groups`, the padded input is smaller
    /// than the dilated kernel (output size below 1), or a tensor's element count overflows
    /// `usize`. A batch of 0 is accepted (empty output).
    pub fn new(
        input_shape: &[usize],
        weight_shape: &[usize],
        opts: Conv2dOptions,
    ) -> Result<Self, String> {
        let err = |what: String| {
            Err(format!(
                "conv2d: input {input_shape:?} and weight {weight_shape:?}: {what}"
            ))
        };
        let (&[n, c, h, w], &[o, cg, kh, kw]) = (input_shape, weight_shape) else {
            return err("both must have rank 4 (NCHW input, OIHW weight)".into());
        };
        let Conv2dOptions {
            stride,
            padding,
            dilation,
            groups,
        } = opts;
        if stride.contains(&0) || dilation.contains(&0) || groups == 0 {
            return err(format!(
                "stride {stride:?}, dilation {dilation:?} and groups {groups} must be >= 1"
            ));
        }
        if c == 0 || h == 0 || w == 0 || o == 0 || kh == 0 || kw == 0 {
            return err("channels, spatial sizes and kernel sizes must be >= 1".into());
        }
        if cg.checked_mul(groups) != Some(c) {
            return Err(format!(
                "conv2d: input {input_shape:?} has {c} channels but weight {weight_shape:?} \
                 expects {} (groups {groups})",
                cg.saturating_mul(groups)
            ));
        }
        if o % groups != 0 {
            return err(format!(
                "{o} output channels are not divisible by groups {groups}"
            ));
        }
        let out = |dim: usize| {
            let span = dilation[dim]
                .checked_mul([kh, kw][dim] - 1)?
                .checked_add(1)?;
            let padded = [h, w][dim].checked_add(padding[dim].checked_mul(2)?)?;
            padded.checked_sub(span).map(|room| room / stride[dim] + 1)
        };
        let (Some(out_h), Some(out_w)) = (out(0), out(1)) else {
            return err(format!(
                "kernel {kh}x{kw} with dilation {dilation:?} does not fit the input padded by \
                 {padding:?} (output size would be < 1)"
            ));
        };
        let numel = |s: &[usize]| s.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
        let sizes = [
            [n, c, h, w, 1],
            [n, o, out_h, out_w, 1],
            [o, cg, kh, kw, 1],
            [cg, kh, kw, out_h, out_w],
        ];
        if sizes.iter().any(|s| numel(s).is_none()) {
            return err("tensor sizes overflow usize".into());
        }
        Ok(Conv2dGeometry {
            n,
            c,
            h,
            w,
            o,
            kh,
            kw,
            options: opts,
            out_h,
            out_w,
        })
    }

    /// The output shape `[n, o, out_h, out_w]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.o, self.out_h, self.out_w]
    }

    /// Floating-point operations of the forward pass without bias: `2 * n * o * out_h * out_w *
    /// (c / groups) * kh * kw` (two per multiply-add). The input- and weight-gradient passes cost
    /// the same.
    pub fn flops(&self) -> u64 {
        let macs = [
            self.n,
            self.o,
            self.out_h,
            self.out_w,
            self.group_in(),
            self.kh,
            self.kw,
        ]
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64));
        macs.saturating_mul(2)
    }

    /// Input channels per group, `Cg`.
    fn group_in(&self) -> usize {
        self.c / self.options.groups
    }

    /// Output channels per group, `Og`.
    fn group_out(&self) -> usize {
        self.o / self.options.groups
    }

    /// Rows of the column matrix of one group, `Cg * kh * kw`.
    fn col_rows(&self) -> usize {
        self.group_in() * self.kh * self.kw
    }

    /// Output pixels per channel, `OH * OW` (the columns of the column matrix).
    fn out_pixels(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Whether `cols` equals the input itself: a 1x1 kernel, stride 1 and no padding.
    fn is_pointwise(&self) -> bool {
        let o = &self.options;
        self.kh == 1 && self.kw == 1 && o.stride == [1, 1] && o.padding == [0, 0]
    }

    /// Panics unless `len` is the element count of `shape`, naming the op and the geometry.
    fn check_len(&self, op: &str, what: &str, len: usize, shape: [usize; 4]) {
        let expected: usize = shape.iter().product();
        assert!(
            len == expected,
            "{op}: {what} has {len} elements but shape {shape:?} needs {expected} (input {:?}, \
             weight {:?}, output {:?})",
            self.input_shape(),
            self.weight_shape(),
            self.output_shape()
        );
    }

    /// The input shape `[n, c, h, w]`.
    pub fn input_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }

    /// The weight shape `[o, c / groups, kh, kw]`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.o, self.group_in(), self.kh, self.kw]
    }
}

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

/// The in-bounds rectangle of one kernel tap `(p, q)`: output rows `top..bottom` and columns
/// `lo..hi` read pixels inside the image, all others read padding.
struct Tap {
    rows: (usize, usize),
    cols: (usize, usize),
    /// Index, within a channel plane, of the input pixel read by output pixel `(top, lo)`.
    first: usize,
}

/// How one kernel call lowers the convolution to GEMM, computed once per call: the row stride `ld`
/// of the column buffer and the rectangle of every tap, in `(p, q)` row-major order.
struct Lowering {
    ld: usize,
    /// Stride 1 and `OW == W` ("same" convolutions): each tap's rectangle is then one contiguous
    /// run of the input plane, with the padding columns appearing as wrapped neighbours.
    contiguous: bool,
    taps: Vec<Tap>,
}

impl Lowering {
    fn new<T>(g: &Conv2dGeometry) -> Self {
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
                    let iw = cols.0 * stride[1] + q * dilation[1] - padding[1];
                    ih * g.w + iw
                } else {
                    0
                };
                taps.push(Tap { rows, cols, first });
            }
        }
        Lowering {
            // A pointwise convolution reads the input planes as they are, rows of OH*OW = H*W.
            ld: if g.is_pointwise() {
                g.out_pixels()
            } else {
                padded_stride::<T>(g.out_pixels())
            },
            contiguous: stride == [1, 1] && g.out_w == g.w,
            taps,
        }
    }

    /// A zeroed column buffer (`Cg*kh*kw` rows of stride `ld`), empty for a pointwise convolution.
    fn buffer<T: Scalar>(&self, g: &Conv2dGeometry) -> Vec<T> {
        if g.is_pointwise() {
            Vec::new()
        } else {
            vec![T::zero(); g.col_rows() * self.ld]
        }
    }

    /// Fills `cols` (`Cg*kh*kw` rows of stride `ld`, the first `OH*OW` entries of each used) from
    /// the `Cg` channel planes `xg`:
    /// `cols[(c, p, q), (i, j)] = xg[c, i*sh - ph + p*dh, j*sw - pw + q*dw]`, zero outside the image.
    ///
    /// In the contiguous case each tap's rectangle is copied as one run and its padding columns
    /// (wrapped neighbours) are zeroed afterwards; otherwise each output row is copied as a run
    /// (stride 1) or gathered with a step (stride > 1). No bounds test in the inner loops.
    fn im2col<T: Scalar>(&self, g: &Conv2dGeometry, xg: &[T], cols: &mut [T]) {
        let (ow, hw, row_step, sw) = (
            g.out_w,
            g.out_pixels(),
            g.options.stride[0] * g.w,
            g.options.stride[1],
        );
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
    fn col2im<T: Scalar>(&self, g: &Conv2dGeometry, cols: &mut [T], dxg: &mut [T]) {
        let (ow, hw, row_step, sw) = (
            g.out_w,
            g.out_pixels(),
            g.options.stride[0] * g.w,
            g.options.stride[1],
        );
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
                    let dst = &mut plane[tap.first..tap.first + len];
                    dst.iter_mut()
                        .zip(&band[lo..])
                        .for_each(|(d, &s)| *d = *d + s);
                    continue;
                }
                for (k, src) in band.chunks_exact(ow).enumerate() {
                    let dst = &mut plane[tap.first + k * row_step..];
                    let run = &src[lo..hi];
                    if sw == 1 {
                        dst.iter_mut().zip(run).for_each(|(d, &s)| *d = *d + s);
                    } else {
                        dst.iter_mut()
                            .step_by(sw)
                            .zip(run)
                            .for_each(|(d, &s)| *d = *d + s);
                    }
                }
            }
        }
    }
}

/// The row stride of a column buffer with `pixels` columns: `pixels` rounded up to whole cache
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

/// Row-major strides of a matrix with `cols` columns, and of its transpose.
fn row_major(cols: usize) -> [isize; 2] {
    [cols as isize, 1]
}

fn transposed(cols: usize) -> [isize; 2] {
    [1, cols as isize]
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
/// where `x` is 0 outside the image. Computed per sample and group as `W_g cols` (see the module
/// docs). `x` is `[n, c, h, w]`, `w` is `[o, c / groups, kh, kw]`, `bias` (optional) is `[o]`.
///
/// # Panics
/// If a slice length does not match the geometry.
pub fn conv2d_forward<T: Scalar>(
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
    let (cg, og, k, hw) = (g.group_in(), g.group_out(), g.col_rows(), g.out_pixels());
    let mut y = vec![T::zero(); g.n * g.o * hw];
    let low = Lowering::new::<T>(g);
    let (mut cols, ld) = (low.buffer::<T>(g), low.ld);
    for (xn, yn) in x
        .chunks_exact(g.c * g.h * g.w)
        .zip(y.chunks_exact_mut(g.o * hw))
    {
        let groups = xn
            .chunks_exact(cg * g.h * g.w)
            .zip(yn.chunks_exact_mut(og * hw));
        for ((xg, yg), wg) in groups.zip(w.chunks_exact(og * k)) {
            let b = if g.is_pointwise() {
                xg
            } else {
                low.im2col(g, xg, &mut cols);
                &cols
            };
            let (a_s, b_s, c_s) = (row_major(k), row_major(ld), row_major(hw));
            T::gemm(og, k, hw, T::one(), wg, a_s, b, b_s, T::zero(), yg, c_s);
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
/// through strides) is scatter-added back to the pixels im2col read. `dy` is `[n, o, out_h, out_w]`.
///
/// # Panics
/// If a slice length does not match the geometry.
pub fn conv2d_backward_input<T: Scalar>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    const OP: &str = "conv2d_backward_input";
    g.check_len(OP, "w", w.len(), g.weight_shape());
    g.check_len(OP, "dy", dy.len(), g.output_shape());
    let (cg, og, k, hw) = (g.group_in(), g.group_out(), g.col_rows(), g.out_pixels());
    let mut dx = vec![T::zero(); g.n * g.c * g.h * g.w];
    let low = Lowering::new::<T>(g);
    let (mut cols, ld) = (low.buffer::<T>(g), low.ld);
    for (dxn, dyn_) in dx
        .chunks_exact_mut(g.c * g.h * g.w)
        .zip(dy.chunks_exact(g.o * hw))
    {
        let groups = dxn
            .chunks_exact_mut(cg * g.h * g.w)
            .zip(dyn_.chunks_exact(og * hw));
        for ((dxg, dyg), wg) in groups.zip(w.chunks_exact(og * k)) {
            let (a_s, b_s) = (transposed(k), row_major(hw));
            if g.is_pointwise() {
                T::gemm(
                    k,
                    og,
                    hw,
                    T::one(),
                    wg,
                    a_s,
                    dyg,
                    b_s,
                    T::zero(),
                    dxg,
                    row_major(hw),
                );
            } else {
                T::gemm(
                    k,
                    og,
                    hw,
                    T::one(),
                    wg,
                    a_s,
                    dyg,
                    b_s,
                    T::zero(),
                    &mut cols,
                    row_major(ld),
                );
                low.col2im(g, &mut cols, dxg);
            }
        }
    }
    dx
}

/// Gradient of [`conv2d_forward`] with respect to the weight: `dW = sum_n dy cols^T`, shape
/// `[o, c / groups, kh, kw]`:
///
/// ```text
/// dw[o, c, p, q] = sum_{n, i, j} dy[n, o, i, j] * x[n, g*Cg + c, i*sh - ph + p*dh, j*sw - pw + q*dw]
/// ```
///
/// For each sample and group, `dW_g += dy_g cols^T` (GEMM with `beta = 1`; `cols^T` through
/// strides). `x` is `[n, c, h, w]`, `dy` is `[n, o, out_h, out_w]`.
///
/// # Panics
/// If a slice length does not match the geometry.
pub fn conv2d_backward_weight<T: Scalar>(g: &Conv2dGeometry, x: &[T], dy: &[T]) -> Vec<T> {
    const OP: &str = "conv2d_backward_weight";
    g.check_len(OP, "x", x.len(), g.input_shape());
    g.check_len(OP, "dy", dy.len(), g.output_shape());
    let (cg, og, k, hw) = (g.group_in(), g.group_out(), g.col_rows(), g.out_pixels());
    let mut dw = vec![T::zero(); g.o * k];
    let low = Lowering::new::<T>(g);
    let (mut cols, ld) = (low.buffer::<T>(g), low.ld);
    for (xn, dyn_) in x
        .chunks_exact(g.c * g.h * g.w)
        .zip(dy.chunks_exact(g.o * hw))
    {
        let groups = xn
            .chunks_exact(cg * g.h * g.w)
            .zip(dyn_.chunks_exact(og * hw));
        for ((xg, dyg), dwg) in groups.zip(dw.chunks_exact_mut(og * k)) {
            let b = if g.is_pointwise() {
                xg
            } else {
                low.im2col(g, xg, &mut cols);
                &cols
            };
            let (a_s, b_s, c_s) = (row_major(hw), transposed(ld), row_major(k));
            T::gemm(og, hw, k, T::one(), dyg, a_s, b, b_s, T::one(), dwg, c_s);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Deterministic values in [-1, 1) (xorshift64*), so random cases need no large strategies.
    fn data(len: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }

    /// Calls `f(n, o, i, j, c, p, q, x_index)` for every multiply-add of the direct convolution,
    /// `c` being the channel within the group and `x_index` the flat index of the input pixel read
    /// (padding taps skipped): the plain 7-loop definition all references below share.
    fn for_each_tap(g: &Conv2dGeometry, mut f: impl FnMut([usize; 7], usize)) {
        let Conv2dOptions {
            stride: s,
            padding: pad,
            dilation: d,
            groups,
        } = g.options;
        let (cg, og) = (g.c / groups, g.o / groups);
        for n in 0..g.n {
            for o in 0..g.o {
                for i in 0..g.out_h {
                    for j in 0..g.out_w {
                        for c in 0..cg {
                            for p in 0..g.kh {
                                for q in 0..g.kw {
                                    let ih = (i * s[0] + p * d[0]) as isize - pad[0] as isize;
                                    let iw = (j * s[1] + q * d[1]) as isize - pad[1] as isize;
                                    if ih < 0 || iw < 0 || ih >= g.h as isize || iw >= g.w as isize
                                    {
                                        continue;
                                    }
                                    let ch = (o / og) * cg + c;
                                    let xi =
                                        ((n * g.c + ch) * g.h + ih as usize) * g.w + iw as usize;
                                    f([n, o, i, j, c, p, q], xi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn y_index(g: &Conv2dGeometry, [n, o, i, j, ..]: [usize; 7]) -> usize {
        ((n * g.o + o) * g.out_h + i) * g.out_w + j
    }

    fn w_index(g: &Conv2dGeometry, [_, o, _, _, c, p, q]: [usize; 7]) -> usize {
        ((o * (g.c / g.options.groups) + c) * g.kh + p) * g.kw + q
    }

    /// Naive forward, input gradient and weight gradient.
    fn reference(g: &Conv2dGeometry, x: &[f64], w: &[f64], b: &[f64], dy: &[f64]) -> [Vec<f64>; 3] {
        let mut y: Vec<f64> = (0..g.output_shape().iter().product())
            .map(|k| b[k / (g.out_h * g.out_w) % g.o])
            .collect();
        let (mut dx, mut dw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
        for_each_tap(g, |t, xi| {
            let (yi, wi) = (y_index(g, t), w_index(g, t));
            y[yi] += w[wi] * x[xi];
            dx[xi] += w[wi] * dy[yi];
            dw[wi] += x[xi] * dy[yi];
        });
        [y, dx, dw]
    }

    fn assert_close(what: &str, got: &[f64], want: &[f64], g: &Conv2dGeometry) {
        assert_eq!(got.len(), want.len(), "{what}: length, {g:?}");
        for (k, (a, b)) in got.iter().zip(want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "{what}[{k}]: {a} vs {b}, {g:?}"
            );
        }
    }

    /// Random geometries: batch 1-3, groups 1-3 dividing channels 1-6, kernel 1-4, stride 1-3,
    /// padding 0-2, dilation 1-2 (each per dimension), sizes 1-9; invalid ones are rejected.
    fn geometry() -> impl Strategy<Value = Conv2dGeometry> {
        let pair = |lo: usize, hi: usize| [lo..=hi, lo..=hi];
        (
            1..=3usize,
            1..=3usize,
            1..=6usize,
            1..=6usize,
            pair(1, 9),
            pair(1, 4),
        )
            .prop_flat_map(move |(n, groups, cg, og, hw, k)| {
                let (cg, og) = (cg.min(6 / groups), og.min(6 / groups));
                let opts =
                    (pair(1, 3), pair(0, 2), pair(1, 2)).prop_map(move |(s, p, d)| Conv2dOptions {
                        stride: s,
                        padding: p,
                        dilation: d,
                        groups,
                    });
                opts.prop_filter_map("output smaller than 1", move |o| {
                    Conv2dGeometry::new(
                        &[n, cg * groups, hw[0], hw[1]],
                        &[og * groups, cg, k[0], k[1]],
                        o,
                    )
                    .ok()
                })
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn matches_naive_loops(g in geometry(), seed in any::<u64>()) {
            let x = data(g.n * g.c * g.h * g.w, seed);
            let w = data(g.o * g.c / g.options.groups * g.kh * g.kw, seed ^ 1);
            let b = data(g.o, seed ^ 2);
            let dy = data(g.output_shape().iter().product(), seed ^ 3);
            let [y, dx, dw] = reference(&g, &x, &w, &b, &dy);
            assert_close("y", &conv2d_forward(&g, &x, &w, Some(&b)), &y, &g);
            assert_close("dx", &conv2d_backward_input(&g, &w, &dy), &dx, &g);
            assert_close("dw", &conv2d_backward_weight(&g, &x, &dy), &dw, &g);
            let db: Vec<f64> = (0..g.o)
                .map(|o| dy.iter().enumerate().filter(|(k, _)| k / (g.out_h * g.out_w) % g.o == o).map(|(_, v)| v).sum())
                .collect();
            assert_close("db", &conv2d_backward_bias(&g, &dy), &db, &g);
        }

        /// The backward kernels are adjoints of the forward one:
        /// `<dy, conv(x, w)> = <dx(w, dy), x> = <dw(x, dy), w>`.
        #[test]
        fn backward_is_adjoint_of_forward(g in geometry(), seed in any::<u64>()) {
            let x = data(g.n * g.c * g.h * g.w, seed);
            let w = data(g.o * g.c / g.options.groups * g.kh * g.kw, seed ^ 1);
            let dy = data(g.output_shape().iter().product(), seed ^ 3);
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
            let lhs = dot(&dy, &conv2d_forward(&g, &x, &w, None));
            let scale = 1e-12 * (1.0 + lhs.abs()) * (x.len() + w.len()) as f64;
            prop_assert!((dot(&conv2d_backward_input(&g, &w, &dy), &x) - lhs).abs() <= scale);
            prop_assert!((dot(&conv2d_backward_weight(&g, &x, &dy), &w) - lhs).abs() <= scale);
        }
    }

    #[test]
    fn special_cases_match_naive_loops() {
        let opts = Conv2dOptions::default();
        let cases = [
            // Pointwise (no im2col), grouped pointwise, "same" 3x3 (contiguous im2col), dilated
            // "same", strided, a kernel wider than the image with padding, depthwise.
            ([2, 4, 5, 7], [6, 4, 1, 1], opts),
            ([2, 4, 5, 7], [6, 2, 1, 1], opts.groups(2)),
            ([2, 3, 6, 5], [4, 3, 3, 3], opts.padding(1)),
            ([1, 2, 9, 8], [3, 2, 3, 3], opts.padding(2).dilation(2)),
            (
                [2, 3, 9, 8],
                [2, 3, 3, 2],
                opts.stride2([2, 3]).padding2([1, 0]),
            ),
            ([1, 2, 2, 3], [2, 2, 4, 5], opts.padding(2)),
            ([2, 4, 6, 6], [4, 1, 3, 3], opts.groups(4).padding(1)),
            ([1, 1, 1, 1], [1, 1, 1, 1], opts.padding(2).stride(2)),
        ];
        for (k, (xs, ws, o)) in cases.into_iter().enumerate() {
            let g = Conv2dGeometry::new(&xs, &ws, o).unwrap();
            let seed = 100 + k as u64;
            let (x, w) = (
                data(xs.iter().product(), seed),
                data(ws.iter().product(), seed + 7),
            );
            let (b, dy) = (
                data(g.o, seed + 8),
                data(g.output_shape().iter().product(), seed + 9),
            );
            let [y, dx, dw] = reference(&g, &x, &w, &b, &dy);
            assert_close("y", &conv2d_forward(&g, &x, &w, Some(&b)), &y, &g);
            assert_close("dx", &conv2d_backward_input(&g, &w, &dy), &dx, &g);
            assert_close("dw", &conv2d_backward_weight(&g, &x, &dy), &dw, &g);
        }
    }

    #[test]
    fn hand_computed_convolution() {
        // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 0], [0, -1]], bias 10: y[i][j] =
        // 10 + x[i][j] - x[i+1][j+1] = 10 - 4 everywhere.
        let g =
            Conv2dGeometry::new(&[1, 1, 3, 3], &[1, 1, 2, 2], Conv2dOptions::default()).unwrap();
        let x: Vec<f64> = (1..=9).map(f64::from).collect();
        let y = conv2d_forward(&g, &x, &[1.0, 0.0, 0.0, -1.0], Some(&[10.0]));
        assert_eq!(y, vec![6.0; 4]);
        let dx = conv2d_backward_input(&g, &[1.0, 0.0, 0.0, -1.0], &[1.0; 4]);
        assert_eq!(dx, vec![1.0, 1.0, 0.0, 1.0, 0.0, -1.0, 0.0, -1.0, -1.0]);
        let dw = conv2d_backward_weight(&g, &x, &[1.0; 4]);
        assert_eq!(dw, vec![12.0, 16.0, 24.0, 28.0]);
        assert_eq!(conv2d_backward_bias(&g, &[1.0, 2.0, 3.0, 4.0]), vec![10.0]);
    }

    #[test]
    fn f32_matches_f64() {
        let g = Conv2dGeometry::new(
            &[2, 4, 9, 9],
            &[6, 2, 3, 3],
            Conv2dOptions::default().padding(1).groups(2),
        )
        .unwrap();
        let (x, w, dy) = (data(648, 1), data(108, 2), data(972, 3));
        let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let pairs = [
            (
                conv2d_forward(&g, &f(&x), &f(&w), None),
                conv2d_forward(&g, &x, &w, None),
            ),
            (
                conv2d_backward_input(&g, &f(&w), &f(&dy)),
                conv2d_backward_input(&g, &w, &dy),
            ),
            (
                conv2d_backward_weight(&g, &f(&x), &f(&dy)),
                conv2d_backward_weight(&g, &x, &dy),
            ),
        ];
        for (single, double) in pairs {
            for (a, b) in single.iter().zip(&double) {
                assert!(
                    (f64::from(*a) - b).abs() < 1e-4 * (1.0 + b.abs()),
                    "{a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn output_shapes_follow_pytorch() {
        let shape = |xs: [usize; 4], ws: [usize; 4], o: Conv2dOptions| {
            Conv2dGeometry::new(&xs, &ws, o).unwrap().output_shape()
        };
        let d = Conv2dOptions::default();
        assert_eq!(
            shape([1, 1, 28, 28], [8, 1, 3, 3], d.padding(1)),
            [1, 8, 28, 28]
        );
        assert_eq!(
            shape([4, 3, 32, 32], [16, 3, 3, 3], d.stride(2).padding(1)),
            [4, 16, 16, 16]
        );
        assert_eq!(
            shape([1, 2, 7, 7], [1, 2, 3, 3], d.dilation(2)),
            [1, 1, 3, 3]
        );
        assert_eq!(shape([2, 3, 8, 8], [5, 3, 3, 3], d), [2, 5, 6, 6]);
        assert_eq!(
            shape([1, 3, 224, 224], [64, 3, 7, 7], d.stride(2).padding(3)),
            [1, 64, 112, 112]
        );
        assert_eq!(
            shape(
                [1, 3, 10, 7],
                [2, 3, 3, 2],
                d.stride2([3, 2]).padding2([1, 0])
            ),
            [1, 2, 4, 3]
        );
        assert_eq!(shape([1, 6, 5, 5], [9, 2, 1, 1], d.groups(3)), [1, 9, 5, 5]);
        assert_eq!(shape([0, 3, 5, 5], [4, 3, 5, 5], d), [0, 4, 1, 1]);
        let g = Conv2dGeometry::new(&[2, 4, 8, 8], &[6, 2, 3, 3], d.padding(1).groups(2)).unwrap();
        assert_eq!(g.flops(), 2 * 2 * 6 * 64 * 2 * 9);
        assert_eq!(
            Conv2dOptions::default(),
            Conv2dOptions {
                stride: [1, 1],
                padding: [0, 0],
                dilation: [1, 1],
                groups: 1
            }
        );
    }

    #[test]
    fn invalid_geometries_name_both_shapes() {
        let d = Conv2dOptions::default();
        let cases: [(&[usize], &[usize], Conv2dOptions, &str); 11] = [
            (&[2, 3, 8], &[16, 3, 3, 3], d, "rank 4"),
            (&[2, 3, 8, 8], &[16, 3, 3], d, "rank 4"),
            (
                &[2, 3, 8, 8],
                &[16, 4, 3, 3],
                d,
                "has 3 channels but weight [16, 4, 3, 3] expects 4 (groups 1)",
            ),
            (
                &[2, 4, 8, 8],
                &[6, 4, 3, 3],
                d.groups(2),
                "expects 8 (groups 2)",
            ),
            (
                &[2, 4, 8, 8],
                &[5, 2, 3, 3],
                d.groups(2),
                "not divisible by groups 2",
            ),
            (&[2, 3, 8, 8], &[16, 3, 3, 3], d.stride(0), "must be >= 1"),
            (&[2, 3, 8, 8], &[16, 3, 3, 3], d.dilation(0), "must be >= 1"),
            (&[2, 3, 8, 8], &[16, 3, 3, 3], d.groups(0), "must be >= 1"),
            (&[2, 3, 2, 8], &[16, 3, 3, 3], d, "does not fit"),
            (&[2, 3, 5, 5], &[16, 3, 3, 3], d.dilation(3), "does not fit"),
            (&[2, 3, 8, 8], &[16, 3, 0, 3], d, "must be >= 1"),
        ];
        for (xs, ws, o, msg) in cases {
            let err = Conv2dGeometry::new(xs, ws, o).unwrap_err();
            assert!(err.starts_with("conv2d: input "), "{err}");
            assert!(
                err.contains(&format!("{xs:?}")) && err.contains(&format!("{ws:?}")),
                "{err}"
            );
            assert!(err.contains(msg), "{err} lacks {msg}");
        }
    }

    #[test]
    #[should_panic(expected = "conv2d_forward: w has 26 elements but shape [1, 3, 3, 3] needs 27")]
    fn forward_rejects_short_weight() {
        let g =
            Conv2dGeometry::new(&[1, 3, 4, 4], &[1, 3, 3, 3], Conv2dOptions::default()).unwrap();
        conv2d_forward(&g, &[0.0f32; 48], &[0.0; 26], None);
    }

    #[test]
    #[should_panic(expected = "conv2d_backward_input: dy has 3 elements but shape [1, 1, 2, 2]")]
    fn backward_rejects_wrong_dy() {
        let g =
            Conv2dGeometry::new(&[1, 3, 4, 4], &[1, 3, 3, 3], Conv2dOptions::default()).unwrap();
        conv2d_backward_input(&g, &[0.0f64; 27], &[0.0; 3]);
    }
}
