//! The options and validated shapes of a 2-D convolution.

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
    pub(super) fn group_in(&self) -> usize {
        self.c / self.options.groups
    }

    /// Output channels per group, `Og`.
    pub(super) fn group_out(&self) -> usize {
        self.o / self.options.groups
    }

    /// Rows of the column matrix of one group, `Cg * kh * kw`.
    pub(super) fn col_rows(&self) -> usize {
        self.group_in() * self.kh * self.kw
    }

    /// Output pixels per channel, `OH * OW` (the columns of the column matrix).
    pub(super) fn out_pixels(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Whether `cols` equals the input itself: a 1x1 kernel, stride 1 and no padding.
    pub(super) fn is_pointwise(&self) -> bool {
        let o = &self.options;
        self.kh == 1 && self.kw == 1 && o.stride == [1, 1] && o.padding == [0, 0]
    }

    /// Panics unless `len` is the element count of `shape`, naming the op and the geometry.
    pub(super) fn check_len(&self, op: &str, what: &str, len: usize, shape: [usize; 4]) {
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

    /// Panics unless `x`, `w` and `bias` have the sizes of this geometry's forward convolution.
    pub(super) fn check_forward<T>(&self, x: &[T], w: &[T], bias: Option<&[T]>) {
        const OP: &str = "conv2d_forward";
        self.check_len(OP, "x", x.len(), self.input_shape());
        self.check_len(OP, "w", w.len(), self.weight_shape());
        if let Some(b) = bias {
            self.check_len(OP, "bias", b.len(), [self.o, 1, 1, 1]);
        }
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
