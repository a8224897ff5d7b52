//! 3x3 depthwise kernels (dilation 1, column stride 1 or 2: MobileNet's and EfficientNet's
//! depthwise layers), forward and input gradient.
//!
//! Both passes become, per output row, a sum of at most nine taps `out[j] += w_t * s_t[j]` over
//! contiguous source rows `s_t` ([`taps`]): the tap count is a const generic, so each block of
//! 32 (then 16, 8, single) outputs keeps its accumulators in registers through a fully unrolled
//! tap loop, with one load and one fused multiply-add per tap and vector (compiled for AVX2 and
//! FMA when the CPU has them).
//!
//! - Forward, `y[i, j] = b + sum_{p, q} w[p, q] xp[r_p, j*sw + q]` with `xp` the plane padded by
//!   `pw` zero columns on each side and `r_p = i*sh + p - ph` (rows outside the image dropped).
//!   At column stride 2 each padded row is stored de-interleaved (even columns, then odd), so
//!   tap `q` reads phase `q % 2` from offset `q / 2` with unit stride.
//! - Input gradient at column stride 1: the correlation of `dy` (shifted right by 2 columns)
//!   with the flipped kernel, `dx[r, s] = sum_{p, q'} w[p, 2-q'] dyp[i_p, s + pw + q']` with
//!   `i_p = (r + ph - p) / sh` when that divides and is a row of `dy`.
//! - Input gradient at column stride 2: with `D[k] = dy[i_p, k - 1]` (one zero on the left) and
//!   `u = s + pw` the padded column, even columns take two taps and odd ones one:
//!   `E[a] = sum_p w[p, 2] D[a] + w[p, 0] D[a + 1]` (`u = 2a`) and
//!   `O[a] = sum_p w[p, 1] D[a + 1]` (`u = 2a + 1`), then `dx` interleaves `E` and `O`.
//!
//! Sums run in a fixed order, so results are deterministic on a given CPU (fused or not).

use super::{input_row, pad_plane, Conv2dGeometry};
use crate::scalar::Scalar;

/// Whether these kernels apply: a 3x3 kernel, dilation 1 and a column stride of 1 or 2.
pub(super) fn applies(g: &Conv2dGeometry) -> bool {
    g.kh == 3 && g.kw == 3 && g.options.dilation == [1, 1] && g.options.stride[1] <= 2
}

/// `acc + w * x`, fused into one rounding when `FMA` (the caller is compiled with FMA then, so
/// `mul_add` is one instruction rather than a library call).
#[inline(always)]
fn madd<T: Scalar, const FMA: bool>(w: T, x: T, acc: T) -> T {
    if FMA {
        w.mul_add(x, acc)
    } else {
        acc + w * x
    }
}

/// `out[j] += sum_t w[t] * src[t][j]` for the blocks of `L` outputs from `j` while one fits;
/// returns where it stopped.
#[inline(always)]
fn blocks<T: Scalar, const K: usize, const L: usize, const FMA: bool>(
    out: &mut [T],
    src: &[&[T]; K],
    w: &[T; K],
    mut j: usize,
) -> usize {
    while j + L <= out.len() {
        let o: &mut [T; L] = (&mut out[j..j + L]).try_into().expect("a full block");
        let mut acc = *o;
        for (s, &wt) in src.iter().zip(w) {
            let xs: &[T; L] = s[j..j + L].try_into().expect("a full block");
            for (a, &v) in acc.iter_mut().zip(xs) {
                *a = madd::<T, FMA>(wt, v, *a);
            }
        }
        *o = acc;
        j += L;
    }
    j
}

/// `out[j] += sum_t w[t] * src[t][j]` over the whole row (every `src[t]` at least as long as
/// `out`): blocks of 32 (four AVX2 registers of `f32`, independent accumulators), then at most
/// one of 16 and one of 8, then single outputs.
#[inline(always)]
fn taps<T: Scalar, const K: usize, const FMA: bool>(out: &mut [T], src: &[&[T]; K], w: &[T; K]) {
    let n = out.len();
    let src: [&[T]; K] = std::array::from_fn(|t| &src[t][..n]);
    let j = blocks::<T, K, 32, FMA>(out, &src, w, 0);
    let j = blocks::<T, K, 16, FMA>(out, &src, w, j);
    let j = blocks::<T, K, 8, FMA>(out, &src, w, j);
    blocks::<T, K, 1, FMA>(out, &src, w, j);
}

/// [`taps`] for the tap counts the passes produce (1, 2, 3, 4, 6 or 9).
#[inline(always)]
fn taps_any<T: Scalar, const FMA: bool>(out: &mut [T], src: &[&[T]], w: &[T]) {
    macro_rules! by_count {
        ($($k:literal)*) => {
            match src.len() {
                0 => {}
                $($k => taps::<T, $k, FMA>(
                    out,
                    src.try_into().expect("K sources"),
                    w.try_into().expect("K weights"),
                ),)*
                k => unreachable!("{k} taps"),
            }
        };
    }
    by_count!(1 2 3 4 6 9)
}

/// [`taps_any`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn taps_fma<T: Scalar>(out: &mut [T], src: &[&[T]], w: &[T]) {
    taps_any::<T, true>(out, src, w);
}

/// Whether the CPU has AVX2 and FMA (checked once per pass; cached by `std`).
fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`taps_any`] with the widest code the CPU runs (`fma` from [`has_fma`]).
#[inline]
fn run<T: Scalar>(fma: bool, out: &mut [T], src: &[&[T]], w: &[T]) {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `fma` is only true when the CPU has AVX2 and FMA, the function's features.
        unsafe { taps_fma(out, src, w) };
        return;
    }
    let _ = fma;
    taps_any::<T, false>(out, src, w);
}

/// Up to nine taps of one output row: source rows and their weights.
struct Taps<'a, T> {
    src: [&'a [T]; 9],
    w: [T; 9],
    k: usize,
}

impl<'a, T: Scalar> Taps<'a, T> {
    fn new() -> Self {
        Taps {
            src: [&[]; 9],
            w: [T::zero(); 9],
            k: 0,
        }
    }

    fn push(&mut self, src: &'a [T], w: T) {
        self.src[self.k] = src;
        self.w[self.k] = w;
        self.k += 1;
    }

    /// `out[j] += sum_t w[t] * src[t][j]` (see [`run`]).
    fn run(&self, fma: bool, out: &mut [T]) {
        run(fma, out, &self.src[..self.k], &self.w[..self.k]);
    }
}

/// Where padded column `u` of a row of `width` is stored: in place at column stride 1; at
/// stride 2, the even columns first (`ceil(width / 2)` of them), then the odd ones.
#[derive(Clone, Copy)]
struct Phases {
    width: usize,
    sw: usize,
}

impl Phases {
    /// The index of padded column `u` within its row.
    #[inline]
    fn slot(self, u: usize) -> usize {
        if self.sw == 1 {
            u
        } else {
            u / 2 + (u % 2) * self.width.div_ceil(2)
        }
    }

    /// The `n` values `row[j*sw + q]` (`j < n`) as one contiguous slice of a stored row.
    #[inline]
    fn tap<T>(self, row: &[T], q: usize, n: usize) -> &[T] {
        &row[self.slot(q % self.sw) + q / self.sw..][..n]
    }

    /// Copies a `rows x w` plane into `buf` as padded rows of `width` (`left` zero columns, then
    /// the row, then zeros), stored by [`Phases::slot`].
    fn fill<T: Scalar>(self, src: &[T], w: usize, left: usize, buf: &mut [T]) {
        if self.sw == 1 {
            pad_plane(src, w, left, self.width, buf);
            return;
        }
        // Each row padded in `row` (sized up to even), then split into its two phases.
        let half = self.width.div_ceil(2);
        let mut row = vec![T::zero(); 2 * half];
        let keep = w.min(self.width.saturating_sub(left));
        for (dst, x) in buf.chunks_exact_mut(self.width).zip(src.chunks_exact(w)) {
            row[left..left + keep].copy_from_slice(&x[..keep]);
            let (even, odd) = dst.split_at_mut(half);
            for ((e, o), pair) in even.iter_mut().zip(odd).zip(row.chunks_exact(2)) {
                *e = pair[0];
                *o = pair[1];
            }
            if !self.width.is_multiple_of(2) {
                even[half - 1] = row[2 * half - 2];
            }
        }
    }
}

/// Scratch of [`plane_s1`]: the padded source plane and the output at the padded width.
struct Flat<T> {
    src: Vec<T>,
    out: Vec<T>,
}

impl<T: Scalar> Flat<T> {
    fn new() -> Self {
        Flat {
            src: Vec::new(),
            out: Vec::new(),
        }
    }

    /// One plane of a 3x3 correlation at stride 1, `y[i, j] = b + sum_{p, q} wk[3p + q]
    /// sp[i + p, j + q]` with `sp` the `h x w` plane `src` padded by `ph` zero rows and `pw` zero
    /// columns on each side: the rows of `y`, `(h + 2ph - 2) x (w + 2pw - 2)`.
    ///
    /// Flattened: at the padded width `wp`, output `k = i*wp + j` reads `sp` at `k + p*wp + q`,
    /// so the whole plane is one nine-tap row of `(h + 2ph - 2) * wp` outputs (the two columns
    /// per row past the output's width are computed and dropped): no per-row overhead.
    /// Every call on one scratch must share `[h, w]` and `[ph, pw]` (the padding is written once).
    fn plane_s1(
        &mut self,
        fma: bool,
        src: &[T],
        [h, w]: [usize; 2],
        [ph, pw]: [usize; 2],
        wk: &[T],
        b: T,
    ) -> impl Iterator<Item = &[T]> + '_ {
        let wp = w + 2 * pw;
        let (oh, ow) = (h + 2 * ph - 2, wp - 2);
        // One more zero row: the last output row's dropped columns read two past its end.
        self.src.resize((h + 2 * ph + 1) * wp, T::zero());
        for (r, row) in src.chunks_exact(w).enumerate() {
            self.src[(r + ph) * wp + pw..][..w].copy_from_slice(row);
        }
        let n = oh * wp;
        self.out.clear();
        self.out.resize(n, b);
        let mut taps = Taps::new();
        for p in 0..3 {
            for q in 0..3 {
                taps.push(&self.src[p * wp + q..][..n], wk[p * 3 + q]);
            }
        }
        taps.run(fma, &mut self.out);
        self.out.chunks_exact(wp).map(move |row| &row[..ow])
    }
}

/// The forward pass at stride 1: [`Flat::plane_s1`] per output channel.
fn forward_s1<T: Scalar>(g: &Conv2dGeometry, x: &[T], w: &[T], bias: Option<&[T]>) -> Vec<T> {
    let fma = has_fma();
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    // Every output is written once, in order: appended rather than zeroed first.
    let mut y = Vec::with_capacity(g.n * g.o * hw);
    let mut flat = Flat::new();
    for idx in 0..g.n * g.o {
        let (n, o) = (idx / g.o, idx % g.o);
        let xc = &x[(n * g.c + o / m) * plane..][..plane];
        let b = bias.map_or(T::zero(), |b| b[o]);
        let wk = &w[o * 9..][..9];
        for row in flat.plane_s1(fma, xc, [g.h, g.w], g.options.padding, wk, b) {
            y.extend_from_slice(row);
        }
    }
    y
}

/// The input gradient at stride 1 and padding at most 2: the forward pass on `dy` with the
/// kernel rotated by 180 degrees and padding `2 - p`,
/// `dx[r, s] = sum_{p, q} w[2-p, 2-q] dyp[r + p, s + q]`.
fn backward_input_s1<T: Scalar>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    let fma = has_fma();
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    let [ph, pw] = g.options.padding;
    // The planes of dx in order: the first output channel of each group appends its plane, the
    // others (a channel multiplier above 1) add into it.
    let mut dx = Vec::with_capacity(g.n * g.c * plane);
    let mut flat = Flat::new();
    for (idx, dyp) in dy.chunks_exact(hw).enumerate() {
        let o = idx % g.o;
        let mut rotated = [T::zero(); 9];
        for (r, &v) in rotated.iter_mut().zip(w[o * 9..][..9].iter().rev()) {
            *r = v;
        }
        let (size, pad) = ([g.out_h, g.out_w], [2 - ph, 2 - pw]);
        let rows = flat.plane_s1(fma, dyp, size, pad, &rotated, T::zero());
        if o.is_multiple_of(m) {
            rows.for_each(|row| dx.extend_from_slice(row));
        } else {
            let start = dx.len() - plane;
            for (d, row) in dx[start..].chunks_exact_mut(g.w).zip(rows) {
                for (a, &v) in d.iter_mut().zip(row) {
                    *a = *a + v;
                }
            }
        }
    }
    dx
}

/// The forward pass (see the module docs), `y` of shape `[n, o, out_h, out_w]`.
pub(super) fn forward<T: Scalar>(
    g: &Conv2dGeometry,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
) -> Vec<T> {
    if g.options.stride == [1, 1] {
        return forward_s1(g, x, w, bias);
    }
    let fma = has_fma();
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    let pw = g.options.padding[1];
    let layout = Phases {
        width: g.w + 2 * pw,
        sw: g.options.stride[1],
    };
    let mut xp = vec![T::zero(); g.h * layout.width];
    let mut y = vec![T::zero(); g.n * g.o * hw];
    for (idx, xc) in x.chunks_exact(plane).enumerate() {
        layout.fill(xc, g.w, pw, &mut xp);
        let (n, c) = (idx / g.c, idx % g.c);
        for o in c * m..(c + 1) * m {
            let wk = &w[o * 9..][..9];
            let b = bias.map_or(T::zero(), |b| b[o]);
            let yp = &mut y[(n * g.o + o) * hw..][..hw];
            for (i, yrow) in yp.chunks_exact_mut(g.out_w).enumerate() {
                yrow.fill(b);
                let mut taps = Taps::new();
                for p in 0..3 {
                    let Some(r) = input_row(g, i, p) else {
                        continue;
                    };
                    let row = &xp[r * layout.width..][..layout.width];
                    for q in 0..3 {
                        taps.push(layout.tap(row, q, g.out_w), wk[p * 3 + q]);
                    }
                }
                taps.run(fma, yrow);
            }
        }
    }
    y
}

/// The rows `i_p` of `dy` that input row `r` receives from, with their kernel rows `p`.
fn dy_rows(g: &Conv2dGeometry, r: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let (sh, ph) = (g.options.stride[0], g.options.padding[0]);
    (0..3).filter_map(move |p| {
        let num = (r + ph).checked_sub(p)?;
        (num % sh == 0 && num / sh < g.out_h).then_some((p, num / sh))
    })
}

/// The input gradient (see the module docs), `dx` of shape `[n, c, h, w]`.
pub(super) fn backward_input<T: Scalar>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    if g.options.stride == [1, 1] && g.options.padding.iter().all(|&p| p <= 2) {
        return backward_input_s1(g, w, dy);
    }
    if g.options.stride[1] == 2 {
        return backward_input_s2(g, w, dy);
    }
    let fma = has_fma();
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    let pw = g.options.padding[1];
    // dy shifted right by 2 columns: dyp[i, s + pw + q'] = dy[i, s + pw + q' - 2].
    let width = g.w + pw + 2;
    let mut dyp = vec![T::zero(); g.out_h * width];
    let mut dx = vec![T::zero(); g.n * g.c * plane];
    for (idx, dxp) in dx.chunks_exact_mut(plane).enumerate() {
        let (n, c) = (idx / g.c, idx % g.c);
        for o in c * m..(c + 1) * m {
            pad_plane(&dy[(n * g.o + o) * hw..][..hw], g.out_w, 2, width, &mut dyp);
            let wk = &w[o * 9..][..9];
            for (r, dxrow) in dxp.chunks_exact_mut(g.w).enumerate() {
                let mut taps = Taps::new();
                for (p, i) in dy_rows(g, r) {
                    let row = &dyp[i * width..][..width];
                    for q in 0..3 {
                        taps.push(&row[pw + q..][..g.w], wk[p * 3 + 2 - q]);
                    }
                }
                taps.run(fma, dxrow);
            }
        }
    }
    dx
}

/// The input gradient at column stride 2: the even padded columns `E` and the odd ones `O` of
/// each row (see the module docs), interleaved into `dx`.
fn backward_input_s2<T: Scalar>(g: &Conv2dGeometry, w: &[T], dy: &[T]) -> Vec<T> {
    let fma = has_fma();
    let (m, hw, plane) = (g.o / g.c, g.out_h * g.out_w, g.h * g.w);
    let pw = g.options.padding[1];
    // Padded columns u = s + pw < w + pw: ceil of half are even, the floor odd.
    let (n_even, n_odd) = ((g.w + pw).div_ceil(2), (g.w + pw) / 2);
    // D[k] = dy[k - 1]; E reads up to D[n_even], O up to D[n_odd].
    let width = n_even + 1;
    let mut d = vec![T::zero(); g.out_h * width];
    let (mut even, mut odd) = (vec![T::zero(); n_even], vec![T::zero(); n_odd]);
    let mut dx = vec![T::zero(); g.n * g.c * plane];
    for (idx, dxp) in dx.chunks_exact_mut(plane).enumerate() {
        let (n, c) = (idx / g.c, idx % g.c);
        for o in c * m..(c + 1) * m {
            pad_plane(&dy[(n * g.o + o) * hw..][..hw], g.out_w, 1, width, &mut d);
            let wk = &w[o * 9..][..9];
            for (r, dxrow) in dxp.chunks_exact_mut(g.w).enumerate() {
                let (mut taps_e, mut taps_o) = (Taps::new(), Taps::new());
                for (p, i) in dy_rows(g, r) {
                    let row = &d[i * width..][..width];
                    taps_e.push(&row[..n_even], wk[p * 3 + 2]);
                    taps_e.push(&row[1..][..n_even], wk[p * 3]);
                    taps_o.push(&row[1..][..n_odd], wk[p * 3 + 1]);
                }
                if taps_o.k == 0 {
                    continue;
                }
                even.fill(T::zero());
                odd.fill(T::zero());
                taps_e.run(fma, &mut even);
                taps_o.run(fma, &mut odd);
                // Column s is padded column s + pw: even s takes `first`, odd s `second`.
                let (first, second) = if pw.is_multiple_of(2) {
                    (&even[pw / 2..], &odd[pw / 2..])
                } else {
                    (&odd[pw / 2..], &even[pw / 2 + 1..])
                };
                for (t, pair) in dxrow.chunks_mut(2).enumerate() {
                    pair[0] = pair[0] + first[t];
                    if let Some(v) = pair.get_mut(1) {
                        *v = *v + second[t];
                    }
                }
            }
        }
    }
    dx
}
