//! 2-D max and average pooling kernels on plain NCHW slices, with PyTorch's semantics.
//!
//! Window `(i, j)` of a plane covers input rows `i*sh - ph .. i*sh - ph + kh` and columns
//! `j*sw - pw .. j*sw - pw + kw`; the parts outside the image are padding. Not supported (as in
//! PyTorch's defaults): dilation (always 1) and `ceil_mode` (always false: the output size rounds
//! down, so a window never starts in the bottom or right padding).

use crate::scalar::Scalar;

/// Hyper-parameters of a 2-D pooling, as in PyTorch's `nn.MaxPool2d` / `nn.AvgPool2d`:
/// `[height, width]` pairs, without dilation and with `ceil_mode = false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dOptions {
    /// Window size `[kh, kw]` (>= 1).
    pub kernel: [usize; 2],
    /// Step between windows `[sh, sw]` (>= 1).
    pub stride: [usize; 2],
    /// Implicit padding on both sides `[ph, pw]`, at most half the window (`p <= k / 2`). It counts
    /// as `-inf` for max pooling and as `0` for average pooling.
    pub padding: [usize; 2],
}

impl Pool2dOptions {
    /// A square `kernel x kernel` window with PyTorch's defaults: stride = kernel (non-overlapping
    /// windows), no padding.
    pub fn new(kernel: usize) -> Self {
        Self::new2([kernel, kernel])
    }

    /// A `[kh, kw]` window with stride = kernel and no padding.
    pub fn new2(kernel: [usize; 2]) -> Self {
        Pool2dOptions {
            kernel,
            stride: kernel,
            padding: [0, 0],
        }
    }

    /// Sets the same stride `s` for height and width.
    pub fn stride(self, s: usize) -> Self {
        self.stride2([s, s])
    }

    /// Sets the stride `[sh, sw]`.
    pub fn stride2(mut self, s: [usize; 2]) -> Self {
        self.stride = s;
        self
    }

    /// Sets the same padding `p` on all four sides.
    pub fn padding(self, p: usize) -> Self {
        self.padding2([p, p])
    }

    /// Sets the padding `[ph, pw]`.
    pub fn padding2(mut self, p: [usize; 2]) -> Self {
        self.padding = p;
        self
    }
}

/// The validated shapes of one pooling: input `[n, c, h, w]`, output `[n, c, out_h, out_w]` with
/// `out = (in + 2 * pad - k) / stride + 1` (floor division, PyTorch's `ceil_mode = false`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeometry {
    /// Batch size.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Window, stride and padding.
    pub options: Pool2dOptions,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

impl Pool2dGeometry {
    /// Validates an input shape `[n, c, h, w]` under `opts` and computes the output size
    /// `out = (in + 2*pad - k) / stride + 1`.
    ///
    /// # Errors
    /// A message naming `pool2d`, the input shape and the window if the input is not of rank 4,
    /// `c`, `h`, `w`, a kernel size or a stride is 0, a padding exceeds half its kernel size
    /// (PyTorch's rule), or the padded input is smaller than the window. A batch of 0 is accepted.
    pub fn new(input_shape: &[usize], opts: Pool2dOptions) -> Result<Self, String> {
        let Pool2dOptions {
            kernel,
            stride,
            padding,
        } = opts;
        let err = |what: &str| {
            Err(format!(
                "pool2d: input {input_shape:?} with kernel {kernel:?}, stride {stride:?}, padding \
                 {padding:?}: {what}"
            ))
        };
        let &[n, c, h, w] = input_shape else {
            return err("the input must have rank 4 (NCHW)");
        };
        if c == 0 || h == 0 || w == 0 {
            return err("channels, height and width must be >= 1");
        }
        if kernel.contains(&0) || stride.contains(&0) {
            return err("kernel and stride must be >= 1");
        }
        if padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2 {
            return err("padding must be at most half the kernel size");
        }
        let out = |d: usize| {
            let padded = [h, w][d].checked_add(padding[d].checked_mul(2)?)?;
            padded
                .checked_sub(kernel[d])
                .map(|room| room / stride[d] + 1)
        };
        let (Some(out_h), Some(out_w)) = (out(0), out(1)) else {
            return err("the window does not fit the padded input (output size would be < 1)");
        };
        let numel = [n, c, h, w]
            .iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b));
        if numel.is_none() {
            return err("the input size overflows usize");
        }
        Ok(Pool2dGeometry {
            n,
            c,
            h,
            w,
            options: opts,
            out_h,
            out_w,
        })
    }

    /// The input shape `[n, c, h, w]`.
    pub fn input_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }

    /// The output shape `[n, c, out_h, out_w]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.out_h, self.out_w]
    }

    fn input_len(&self) -> usize {
        self.input_shape().iter().product()
    }

    fn output_len(&self) -> usize {
        self.output_shape().iter().product()
    }

    /// Panics unless `len` is the element count of `shape`, naming the op and the geometry.
    fn check_len(&self, op: &str, what: &str, len: usize, shape: [usize; 4]) {
        let expected: usize = shape.iter().product();
        assert!(
            len == expected,
            "{op}: {what} has {len} elements but shape {shape:?} needs {expected} (input {:?}, \
             {:?}, output {:?})",
            self.input_shape(),
            self.options,
            self.output_shape()
        );
    }

    /// The in-image part `start..end` of every window along dimension `d` (0 rows, 1 columns):
    /// `max(o*s - p, 0) .. min(o*s - p + k, size)`. Never empty, since `p <= k / 2` and
    /// `ceil_mode = false` keep every window overlapping the image.
    fn spans(&self, d: usize) -> Vec<(usize, usize)> {
        let (k, s, p) = (
            self.options.kernel[d],
            self.options.stride[d],
            self.options.padding[d],
        );
        let (size, out) = ([self.h, self.w][d], [self.out_h, self.out_w][d]);
        (0..out)
            .map(|o| ((o * s).saturating_sub(p), (o * s + k - p).min(size)))
            .collect()
    }

    /// Whether this is the common non-overlapping 2x2 window with stride 2 and no padding.
    fn is_2x2(&self) -> bool {
        let o = &self.options;
        o.kernel == [2, 2] && o.stride == [2, 2] && o.padding == [0, 0]
    }
}

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

/// Average pooling with PyTorch's default `count_include_pad = true`: the sum of the in-image part
/// of the window divided by the full window size, padding counting as zeros.
///
/// ```text
/// y[n, c, i, j] = (1 / (kh*kw)) * sum_{p < kh, q < kw} x[n, c, i*sh - ph + p, j*sw - pw + q]
/// ```
///
/// # Panics
/// If `x.len()` does not match the geometry.
pub fn avg_pool2d_forward<T: Scalar>(g: &Pool2dGeometry, x: &[T]) -> Vec<T> {
    g.check_len("avg_pool2d_forward", "x", x.len(), g.input_shape());
    let (rows, cols) = (g.spans(0), g.spans(1));
    let divisor = window_size::<T>(g);
    let mut y = vec![T::zero(); g.output_len()];
    for (xp, yp) in x
        .chunks_exact(g.h * g.w)
        .zip(y.chunks_exact_mut(g.out_h * g.out_w))
    {
        for (&(r0, r1), y_row) in rows.iter().zip(yp.chunks_exact_mut(g.out_w)) {
            for (&(c0, c1), yv) in cols.iter().zip(y_row) {
                let sum = (r0..r1).fold(T::zero(), |acc, r| {
                    xp[r * g.w + c0..r * g.w + c1]
                        .iter()
                        .fold(acc, |a, &v| a + v)
                });
                *yv = sum / divisor;
            }
        }
    }
    y
}

/// Gradient of [`avg_pool2d_forward`]: every input of window `(i, j)` (padding excluded) receives
/// `dy[n, c, i, j] / (kh*kw)`; overlapping windows accumulate.
///
/// ```text
/// dx[n, c, r, s] = sum over windows (i, j) containing (r, s) of dy[n, c, i, j] / (kh*kw)
/// ```
///
/// # Panics
/// If `dy.len()` does not match the geometry.
pub fn avg_pool2d_backward<T: Scalar>(g: &Pool2dGeometry, dy: &[T]) -> Vec<T> {
    g.check_len("avg_pool2d_backward", "dy", dy.len(), g.output_shape());
    let (rows, cols) = (g.spans(0), g.spans(1));
    let divisor = window_size::<T>(g);
    let mut dx = vec![T::zero(); g.input_len()];
    for (dxp, dyp) in dx
        .chunks_exact_mut(g.h * g.w)
        .zip(dy.chunks_exact(g.out_h * g.out_w))
    {
        for (&(r0, r1), dy_row) in rows.iter().zip(dyp.chunks_exact(g.out_w)) {
            for (&(c0, c1), &d) in cols.iter().zip(dy_row) {
                let share = d / divisor;
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

/// `kh * kw` as `T`: the divisor of every window under `count_include_pad = true`.
fn window_size<T: Scalar>(g: &Pool2dGeometry) -> T {
    T::from_f64_lossy((g.options.kernel[0] * g.options.kernel[1]) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Deterministic values in [-1, 1) (xorshift64*); with `levels > 0` rounded to that many
    /// steps, so windows hold ties.
    fn data(len: usize, seed: u64, levels: u32) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                let v = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 52) as f64
                    - 1.0;
                if levels == 0 {
                    v
                } else {
                    (v * f64::from(levels)).floor()
                }
            })
            .collect()
    }

    /// The flat input indices of window `(n, c, i, j)` inside the image, in scan order.
    fn window(g: &Pool2dGeometry, n: usize, c: usize, i: usize, j: usize) -> Vec<usize> {
        let o = &g.options;
        let mut out = Vec::new();
        for p in 0..o.kernel[0] {
            for q in 0..o.kernel[1] {
                let r = (i * o.stride[0] + p) as isize - o.padding[0] as isize;
                let s = (j * o.stride[1] + q) as isize - o.padding[1] as isize;
                if r >= 0 && s >= 0 && (r as usize) < g.h && (s as usize) < g.w {
                    out.push(((n * g.c + c) * g.h + r as usize) * g.w + s as usize);
                }
            }
        }
        out
    }

    /// All windows in output order.
    fn windows(g: &Pool2dGeometry) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        for n in 0..g.n {
            for c in 0..g.c {
                for i in 0..g.out_h {
                    for j in 0..g.out_w {
                        out.push(window(g, n, c, i, j));
                    }
                }
            }
        }
        out
    }

    fn geometry() -> impl Strategy<Value = Pool2dGeometry> {
        let pair = |lo: usize, hi: usize| [lo..=hi, lo..=hi];
        (
            1..=2usize,
            1..=3usize,
            pair(1, 9),
            pair(1, 4),
            pair(1, 3),
            pair(0, 2),
        )
            .prop_filter_map("invalid pooling", |(n, c, hw, k, s, p)| {
                let opts = Pool2dOptions {
                    kernel: k,
                    stride: s,
                    padding: p,
                };
                Pool2dGeometry::new(&[n, c, hw[0], hw[1]], opts).ok()
            })
    }

    /// Checks max pooling against the windows: the value is the maximum, the index the first
    /// position holding it; the gradient is the scatter of `dy` through those indices.
    fn check_max_pool(g: &Pool2dGeometry, x: &[f64], seed: u64) {
        let (y, argmax) = max_pool2d_forward(g, x);
        let dy = data(y.len(), seed ^ 5, 0);
        let mut dx = vec![0.0; x.len()];
        for (k, win) in windows(g).iter().enumerate() {
            let best = win.iter().map(|&t| x[t]).fold(f64::NEG_INFINITY, f64::max);
            let first = *win.iter().find(|&&t| x[t] == best).unwrap();
            assert_eq!(
                (y[k], argmax[k] as usize),
                (best, first),
                "output {k}, {g:?}"
            );
            dx[first] += dy[k];
        }
        assert_eq!(max_pool2d_backward(g, &argmax, &dy), dx, "{g:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn max_pool_matches_windows(g in geometry(), seed in any::<u64>(), levels in 0..4u32) {
            check_max_pool(&g, &data(g.input_shape().iter().product(), seed, levels), seed);
        }

        #[test]
        fn avg_pool_matches_windows(g in geometry(), seed in any::<u64>()) {
            let x = data(g.input_shape().iter().product(), seed, 0);
            let dy = data(g.output_shape().iter().product(), seed ^ 9, 0);
            let size = (g.options.kernel[0] * g.options.kernel[1]) as f64;
            let y = avg_pool2d_forward(&g, &x);
            let mut dx = vec![0.0; x.len()];
            for (k, win) in windows(&g).iter().enumerate() {
                let want = win.iter().map(|&t| x[t]).sum::<f64>() / size;
                let close = (y[k] - want).abs() <= 1e-12 * want.abs().max(1.0);
                prop_assert!(close, "{} vs {}", y[k], want);
                win.iter().for_each(|&t| dx[t] += dy[k] / size);
            }
            for (a, b) in avg_pool2d_backward(&g, &dy).iter().zip(&dx) {
                prop_assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{} vs {}", a, b);
            }
        }

        /// The 2x2 fast path agrees with the general loop, ties and NaNs included.
        #[test]
        fn fast_2x2_matches_general(n in 1..=2usize, c in 1..=3usize, h in 2..=9usize,
                                    w in 2..=9usize,
                                    seed in any::<u64>(), levels in 0..3u32, nan in any::<bool>()) {
            let g = Pool2dGeometry::new(&[n, c, h, w], Pool2dOptions::new(2)).unwrap();
            let mut x = data(n * c * h * w, seed, levels);
            if nan {
                x.iter_mut().step_by(5).for_each(|v| *v = f64::NAN);
            }
            let len = g.output_shape().iter().product();
            let (mut y1, mut a1) = (vec![0.0; len], vec![0; len]);
            let (mut y2, mut a2) = (vec![0.0; len], vec![0; len]);
            max_pool_2x2(&g, &x, &mut y1, &mut a1);
            max_pool_generic(&g, &x, &mut y2, &mut a2);
            prop_assert_eq!(a1, a2);
            prop_assert!(y1.iter().zip(&y2).all(|(a, b)| a == b || (a.is_nan() && b.is_nan())));
            if !nan {
                check_max_pool(&g, &x, seed);
            }
        }
    }

    #[test]
    fn max_pool_hand_case() {
        // One 4x4 plane, 2x2 windows: maxima 6 (index 5), 8 (index 7), 14 (index 13), 16 (index 15)
        // for x = 1..=16; then a plane with its largest value moved.
        let g = Pool2dGeometry::new(&[1, 1, 4, 4], Pool2dOptions::new(2)).unwrap();
        let mut x: Vec<f32> = (1..=16u8).map(f32::from).collect();
        assert_eq!(
            max_pool2d_forward(&g, &x),
            (vec![6.0, 8.0, 14.0, 16.0], vec![5, 7, 13, 15])
        );
        x[0] = 99.0;
        x[10] = -1.0;
        assert_eq!(
            max_pool2d_forward(&g, &x),
            (vec![99.0, 8.0, 14.0, 16.0], vec![0, 7, 13, 15])
        );
        let dx = max_pool2d_backward(&g, &[0, 7, 13, 15], &[1.0, 2.0, 3.0, 4.0]);
        let mut want = vec![0.0f32; 16];
        (want[0], want[7], want[13], want[15]) = (1.0, 2.0, 3.0, 4.0);
        assert_eq!(dx, want);
        // Indices are flat into the whole input: the second sample's planes are offset by 16.
        let g2 = Pool2dGeometry::new(&[2, 1, 4, 4], Pool2dOptions::new(4)).unwrap();
        let x2: Vec<f64> = (0..32).map(|k| if k == 20 { 50.0 } else { 0.0 }).collect();
        assert_eq!(max_pool2d_forward(&g2, &x2), (vec![0.0, 50.0], vec![0, 20]));
    }

    #[test]
    fn max_pool_ties_keep_first_and_padding_is_never_chosen() {
        // 3x3 window, stride 1, padding 1 on an all-equal (negative) plane: every window's argmax
        // is its first in-image element, never the padding.
        let g =
            Pool2dGeometry::new(&[1, 1, 3, 3], Pool2dOptions::new(3).stride(1).padding(1)).unwrap();
        let (y, argmax) = max_pool2d_forward(&g, &[-5.0f64; 9]);
        assert_eq!(y, vec![-5.0; 9]);
        assert_eq!(argmax, vec![0, 0, 1, 0, 0, 1, 3, 3, 4]);
        // All -inf: the first in-image element is still chosen.
        let (y, argmax) = max_pool2d_forward(&g, &[f64::NEG_INFINITY; 9]);
        assert!(y.iter().all(|&v| v == f64::NEG_INFINITY));
        assert_eq!(argmax, vec![0, 0, 1, 0, 0, 1, 3, 3, 4]);
    }

    #[test]
    fn max_pool_overlapping_windows_accumulate() {
        // 3x3 windows, stride 1 on a 4x4 plane whose maximum (index 5) lies in all four windows.
        let g = Pool2dGeometry::new(&[1, 1, 4, 4], Pool2dOptions::new(3).stride(1)).unwrap();
        let mut x = [0.0f64; 16];
        x[5] = 9.0;
        let (y, argmax) = max_pool2d_forward(&g, &x);
        assert_eq!((y, argmax.clone()), (vec![9.0; 4], vec![5; 4]));
        let dx = max_pool2d_backward(&g, &argmax, &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(dx[5], 10.0);
        assert_eq!(dx.iter().sum::<f64>(), 10.0);
    }

    #[test]
    fn max_pool_propagates_nan() {
        // The NaN wins its window wherever it sits, also in the fast 2x2 path; with two NaNs the
        // last one is recorded, as PyTorch's CPU kernel does.
        for opts in [
            Pool2dOptions::new(2),
            Pool2dOptions::new(3).stride(1).padding(1),
        ] {
            let g = Pool2dGeometry::new(&[1, 1, 4, 4], opts).unwrap();
            let mut x: Vec<f32> = (0..16u8).map(f32::from).collect();
            x[4] = f32::NAN;
            let (y, argmax) = max_pool2d_forward(&g, &x);
            let win = windows(&g);
            for (k, w) in win.iter().enumerate() {
                assert_eq!(y[k].is_nan(), w.contains(&4), "{opts:?} output {k}");
                if w.contains(&4) {
                    assert_eq!(argmax[k], 4);
                }
            }
            x[1] = f32::NAN;
            let (y, argmax) = max_pool2d_forward(&g, &x);
            assert!(y[0].is_nan());
            assert_eq!(argmax[0], 4, "{opts:?}");
        }
    }

    #[test]
    fn avg_pool_counts_padding_in_divisor() {
        // 2x2 plane [[1, 2], [3, 4]], 3x3 window, stride 1, padding 1: every window holds all four
        // values plus padding, so each output is 10 / 9 (count_include_pad = true).
        let g =
            Pool2dGeometry::new(&[1, 1, 2, 2], Pool2dOptions::new(3).stride(1).padding(1)).unwrap();
        assert_eq!(
            avg_pool2d_forward(&g, &[1.0f64, 2.0, 3.0, 4.0]),
            vec![10.0 / 9.0; 4]
        );
        // Each input sits in all four windows: dx = 4 * 9 / 9 when dy = 9.
        assert_eq!(avg_pool2d_backward(&g, &[9.0f64; 4]), vec![4.0; 4]);
        // Without padding: the plain mean of each 2x2 block.
        let g = Pool2dGeometry::new(&[1, 1, 2, 4], Pool2dOptions::new(2)).unwrap();
        let y = avg_pool2d_forward(&g, &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(y, vec![3.5, 5.5]);
        assert_eq!(
            avg_pool2d_backward(&g, &[4.0f32, 8.0]),
            vec![1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]
        );
    }

    #[test]
    fn output_shapes_follow_pytorch() {
        let shape =
            |xs: [usize; 4], o: Pool2dOptions| Pool2dGeometry::new(&xs, o).unwrap().output_shape();
        assert_eq!(
            shape([8, 16, 28, 28], Pool2dOptions::new(2)),
            [8, 16, 14, 14]
        );
        assert_eq!(shape([1, 1, 7, 7], Pool2dOptions::new(2)), [1, 1, 3, 3]);
        assert_eq!(
            shape([1, 1, 32, 32], Pool2dOptions::new(3).stride(2).padding(1)),
            [1, 1, 16, 16]
        );
        assert_eq!(
            shape([1, 1, 112, 112], Pool2dOptions::new(3).stride(2).padding(1)),
            [1, 1, 56, 56]
        );
        assert_eq!(
            shape([2, 3, 5, 9], Pool2dOptions::new2([1, 3]).stride2([1, 2])),
            [2, 3, 5, 4]
        );
        assert_eq!(shape([0, 3, 4, 4], Pool2dOptions::new(4)), [0, 3, 1, 1]);
        let o = Pool2dOptions::new(3);
        assert_eq!((o.kernel, o.stride, o.padding), ([3, 3], [3, 3], [0, 0]));
    }

    #[test]
    fn invalid_geometries_name_input_and_window() {
        let cases: [(&[usize], Pool2dOptions, &str); 7] = [
            (&[1, 4, 4], Pool2dOptions::new(2), "rank 4"),
            (
                &[1, 1, 4, 4],
                Pool2dOptions::new(0),
                "kernel and stride must be >= 1",
            ),
            (
                &[1, 1, 4, 4],
                Pool2dOptions::new(2).stride(0),
                "kernel and stride must be >= 1",
            ),
            (
                &[1, 1, 4, 4],
                Pool2dOptions::new(2).padding(2),
                "at most half",
            ),
            (
                &[1, 1, 4, 4],
                Pool2dOptions::new2([3, 1]).padding2([1, 1]),
                "at most half",
            ),
            (&[1, 1, 2, 8], Pool2dOptions::new(3), "does not fit"),
            (&[1, 0, 4, 4], Pool2dOptions::new(2), "must be >= 1"),
        ];
        for (xs, o, msg) in cases {
            let err = Pool2dGeometry::new(xs, o).unwrap_err();
            assert!(
                err.starts_with(&format!("pool2d: input {xs:?} with kernel {:?}", o.kernel)),
                "{err}"
            );
            assert!(err.contains(msg), "{err} lacks {msg}");
        }
    }

    #[test]
    #[should_panic(
        expected = "max_pool2d_backward: dy has 3 elements but shape [1, 1, 2, 2] needs 4"
    )]
    fn backward_rejects_wrong_dy() {
        let g = Pool2dGeometry::new(&[1, 1, 4, 4], Pool2dOptions::new(2)).unwrap();
        max_pool2d_backward(&g, &[0; 4], &[0.0f32; 3]);
    }
}
