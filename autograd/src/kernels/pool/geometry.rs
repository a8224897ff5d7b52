//! The options and validated shapes of a 2-D pooling.

/// Hyper-parameters of a 2-D pooling, as in PyTorch's `nn.MaxPool2d` / `nn.AvgPool2d` (without
/// dilation), with ONNX-style asymmetric padding.
///
/// Build with [`Pool2dOptions::new`] and the builder methods:
/// `Pool2dOptions::new(3).stride(2).padding(1).ceil_mode(true)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dOptions {
    /// Window size `[kh, kw]` (>= 1).
    pub kernel: [usize; 2],
    /// Step between windows `[sh, sw]` (>= 1).
    pub stride: [usize; 2],
    /// Implicit padding `[top, left, bottom, right]` (ONNX's `pads` order: all begins, then all
    /// ends), each at most half its window (`p <= k / 2`, PyTorch's rule, per side). It counts as
    /// `-inf` for max pooling and as `0` for average pooling.
    pub pads: [usize; 4],
    /// PyTorch's `ceil_mode`: the output size rounds up instead of down, keeping a last window that
    /// starts inside the input or its top/left padding (default false).
    pub ceil_mode: bool,
    /// PyTorch's `count_include_pad` (average pooling only; default true): divide by the window's
    /// size clipped to the padded input, rather than by its in-image part.
    pub count_include_pad: bool,
}

impl Pool2dOptions {
    /// A square `kernel x kernel` window with PyTorch's defaults: stride = kernel (non-overlapping
    /// windows), no padding, `ceil_mode = false`, `count_include_pad = true`.
    pub fn new(kernel: usize) -> Self {
        Self::new2([kernel, kernel])
    }

    /// A `[kh, kw]` window with PyTorch's defaults (stride = kernel, no padding).
    pub fn new2(kernel: [usize; 2]) -> Self {
        Pool2dOptions {
            kernel,
            stride: kernel,
            pads: [0; 4],
            ceil_mode: false,
            count_include_pad: true,
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

    /// Sets the padding `[ph, pw]`: `ph` above and below, `pw` left and right (PyTorch's).
    pub fn padding2(self, p: [usize; 2]) -> Self {
        self.pads([p[0], p[1], p[0], p[1]])
    }

    /// Sets asymmetric padding `[top, left, bottom, right]` (ONNX's `pads`).
    pub fn pads(mut self, pads: [usize; 4]) -> Self {
        self.pads = pads;
        self
    }

    /// Sets PyTorch's `ceil_mode`.
    pub fn ceil_mode(mut self, on: bool) -> Self {
        self.ceil_mode = on;
        self
    }

    /// Sets PyTorch's `count_include_pad` (average pooling).
    pub fn count_include_pad(mut self, on: bool) -> Self {
        self.count_include_pad = on;
        self
    }

    /// The padding as PyTorch's `[ph, pw]` when it is the same on both sides of each dimension.
    pub fn symmetric_padding(&self) -> Option<[usize; 2]> {
        let [t, l, b, r] = self.pads;
        (t == b && l == r).then_some([t, l])
    }

    /// The padding `[begin, end]` of dimension `d` (0 rows, 1 columns).
    pub fn pads_of(&self, d: usize) -> [usize; 2] {
        [self.pads[d], self.pads[d + 2]]
    }
}

/// The output size of one dimension, PyTorch's `pooling_output_shape_pad_lr` without dilation:
/// `(size + begin + end - k + (ceil ? s - 1 : 0)) / s + 1`, minus one in ceil mode if the last
/// window would start in the end padding (`(out - 1) s >= size + begin`). `None` if the padded
/// input is smaller than the window.
fn output_size(
    size: usize,
    k: usize,
    s: usize,
    [begin, end]: [usize; 2],
    ceil: bool,
) -> Option<usize> {
    let room = size.checked_add(begin)?.checked_add(end)?.checked_sub(k)?;
    let mut out = if ceil { room.div_ceil(s) } else { room / s } + 1;
    if ceil && (out - 1) * s >= size + begin {
        out -= 1;
    }
    Some(out)
}

/// The validated shapes of one pooling: input `[n, c, h, w]`, output `[n, c, out_h, out_w]` with
/// `out = (in + begin + end - k) / stride + 1` (floor division; ceil division and PyTorch's
/// last-window rule under `ceil_mode`).
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
    /// `out = (in + begin + end - k) / stride + 1` (see [`Pool2dOptions::ceil_mode`]).
    ///
    /// # Errors
    /// A message naming `pool2d`, the input shape and the window if the input is not of rank 4,
    /// `c`, `h`, `w`, a kernel size or a stride is 0, a padding exceeds half its kernel size
    /// (PyTorch's rule), or the padded input is smaller than the window. A batch of 0 is accepted.
    pub fn new(input_shape: &[usize], opts: Pool2dOptions) -> Result<Self, String> {
        let Pool2dOptions { kernel, stride, .. } = opts;
        let padding = match opts.symmetric_padding() {
            Some(p) => format!("{p:?}"),
            None => format!("[top, left, bottom, right] {:?}", opts.pads),
        };
        let ceil = if opts.ceil_mode { ", ceil_mode" } else { "" };
        let err = |what: &str| {
            Err(format!(
                "pool2d: input {input_shape:?} with kernel {kernel:?}, stride {stride:?}, padding \
                 {padding}{ceil}: {what}"
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
        if (0..4).any(|i| opts.pads[i] > kernel[i % 2] / 2) {
            return err("padding must be at most half the kernel size");
        }
        let out = |d: usize| {
            output_size(
                [h, w][d],
                kernel[d],
                stride[d],
                opts.pads_of(d),
                opts.ceil_mode,
            )
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

    pub(super) fn input_len(&self) -> usize {
        self.input_shape().iter().product()
    }

    pub(super) fn output_len(&self) -> usize {
        self.output_shape().iter().product()
    }

    /// Panics unless `len` is the element count of `shape`, naming the op and the geometry.
    pub(super) fn check_len(&self, op: &str, what: &str, len: usize, shape: [usize; 4]) {
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
    /// `max(o*s - begin, 0) .. min(o*s - begin + k, size)`. Never empty: `begin <= k / 2` keeps
    /// the first window overlapping the image, and PyTorch's ceil-mode rule starts the last one
    /// inside it.
    pub(super) fn spans(&self, d: usize) -> Vec<(usize, usize)> {
        let (k, s, [p, _]) = (
            self.options.kernel[d],
            self.options.stride[d],
            self.options.pads_of(d),
        );
        let (size, out) = ([self.h, self.w][d], [self.out_h, self.out_w][d]);
        (0..out)
            .map(|o| ((o * s).saturating_sub(p), (o * s + k - p).min(size)))
            .collect()
    }

    /// The average pool's divisor factor of every window along dimension `d`, PyTorch's rule:
    /// with `count_include_pad`, the window clipped to the padded input,
    /// `min(o*s - begin + k, size + end) - (o*s - begin)` (a ceil-mode window hanging past the end
    /// padding counts only up to it); without, the in-image length of [`Self::spans`]. The divisor
    /// of window `(i, j)` is `rows[i] * cols[j]`.
    pub(super) fn counts(&self, d: usize) -> Vec<usize> {
        let (k, s, [begin, end]) = (
            self.options.kernel[d],
            self.options.stride[d],
            self.options.pads_of(d),
        );
        let size = [self.h, self.w][d];
        if !self.options.count_include_pad {
            return self.spans(d).iter().map(|&(a, b)| b - a).collect();
        }
        let out = [self.out_h, self.out_w][d];
        // In padded coordinates (shifted by `begin`), window o covers o*s .. o*s + k.
        (0..out)
            .map(|o| (o * s + k).min(size + begin + end) - o * s)
            .collect()
    }

    /// Whether this is the common non-overlapping 2x2 window with stride 2, no padding and the
    /// floor output size (an odd last row or column dropped).
    pub(super) fn is_2x2(&self) -> bool {
        let o = &self.options;
        o.kernel == [2, 2]
            && o.stride == [2, 2]
            && o.pads == [0; 4]
            && 2 * self.out_h <= self.h
            && 2 * self.out_w <= self.w
    }
}
