//! The options and validated shapes of a 2-D pooling.

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
    /// `max(o*s - p, 0) .. min(o*s - p + k, size)`. Never empty, since `p <= k / 2` and
    /// `ceil_mode = false` keep every window overlapping the image.
    pub(super) fn spans(&self, d: usize) -> Vec<(usize, usize)> {
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
    pub(super) fn is_2x2(&self) -> bool {
        let o = &self.options;
        o.kernel == [2, 2] && o.stride == [2, 2] && o.padding == [0, 0]
    }
}
