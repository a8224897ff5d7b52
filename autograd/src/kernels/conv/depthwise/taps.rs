//! The register-blocked core of the square depthwise kernels: `out[j] += sum_t w_t * s_t[j]`
//! over contiguous source rows `s_t`, with the tap count a const generic so each block of 32
//! (then 16, 8, single) outputs keeps its accumulators in registers through a fully unrolled tap
//! loop: one load and one (fused, with AVX2 and FMA) multiply-add per tap and vector.
//!
//! Also the two layout shuffles of the stride-2 passes, compiled with the same features:
//! splitting a row into its even and odd columns, and interleaving two rows back.

use crate::scalar::Scalar;

/// The most taps one output row sums (a 5x5 kernel).
pub(super) const MAX_TAPS: usize = 25;

/// The smallest block of [`Simd::taps`] in vector registers: a row whose length is a multiple
/// of it has no scalar tail.
pub(super) const BLOCK: usize = 8;

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

/// `out[j] = init + sum_t w[t] * src[t][j]` (`out[j] += ...` without `init`) for the blocks of
/// `L` outputs from `j` while one fits; returns where it stopped.
#[inline(always)]
fn blocks<T: Scalar, const K: usize, const L: usize, const FMA: bool>(
    out: &mut [T],
    init: Option<T>,
    src: &[&[T]; K],
    w: &[T; K],
    mut j: usize,
) -> usize {
    while j + L <= out.len() {
        let o: &mut [T; L] = (&mut out[j..j + L]).try_into().expect("a full block");
        let mut acc = init.map_or(*o, |v| [v; L]);
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

/// `out[j] = init + sum_t w[t] * src[t][j]` (`out[j] += ...` without `init`) over the whole row
/// (every `src[t]` at least as long as `out`): blocks of 32 (four AVX2 registers of `f32`,
/// independent accumulators), then at most one of 16 and one of 8, then single outputs. Each
/// output adds its taps in order `t = 0..K`.
#[inline(always)]
fn taps<T: Scalar, const K: usize, const FMA: bool>(
    out: &mut [T],
    init: Option<T>,
    src: &[&[T]],
    w: &[T],
) {
    let n = out.len();
    let src: [&[T]; K] = std::array::from_fn(|t| &src[t][..n]);
    let w: &[T; K] = w.try_into().expect("K weights");
    let j = blocks::<T, K, 32, FMA>(out, init, &src, w, 0);
    let j = blocks::<T, K, 16, FMA>(out, init, &src, w, j);
    let j = blocks::<T, K, 8, FMA>(out, init, &src, w, j);
    blocks::<T, K, 1, FMA>(out, init, &src, w, j);
}

/// The tap counts with their own unrolled code: the counts the passes produce (multiples of a
/// 3x3 or 5x5 kernel's rows and half-rows).
const COUNTS: [usize; 13] = [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 20, 25];

/// [`taps`] for any tap count up to [`MAX_TAPS`]: one unrolled call for the [`COUNTS`], others
/// in consecutive chunks of those (the first from `init`, the others adding into `out`). Chunks
/// add in the same tap order, so the result does not depend on the split.
#[inline(always)]
fn taps_any<T: Scalar, const FMA: bool>(
    out: &mut [T],
    mut init: Option<T>,
    mut src: &[&[T]],
    mut w: &[T],
) {
    macro_rules! by_count {
        ($k:expr, $($c:literal)*) => {
            match $k {
                $($c => taps::<T, $c, FMA>(out, init, &src[..$c], &w[..$c]),)*
                k => unreachable!("{k} taps"),
            }
        };
    }
    if let (Some(v), true) = (init, src.is_empty()) {
        out.fill(v);
    }
    while !src.is_empty() {
        let k = COUNTS
            .into_iter()
            .filter(|&c| c <= src.len())
            .max()
            .expect("one tap");
        by_count!(k, 1 2 3 4 5 6 8 9 10 12 15 20 25);
        (init, src, w) = (None, &src[k..], &w[k..]);
    }
}

/// [`taps_any`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn taps_fma<T: Scalar>(out: &mut [T], init: Option<T>, src: &[&[T]], w: &[T]) {
    taps_any::<T, true>(out, init, src, w);
}

/// Lanes of the partial sums of [`Simd::dots`].
pub(super) const LANES: usize = 8;

/// `acc[t][l] += sum_{j = l mod LANES} dy[j] * src[t][j]`: `K` dot products sharing `dy`, each
/// in [`LANES`] partial sums (one vector), the tail's elements in the first lanes.
#[inline(always)]
fn dots_any<T: Scalar, const K: usize, const FMA: bool>(
    dy: &[T],
    src: &[&[T]; K],
    acc: &mut [[T; LANES]; K],
) {
    let n = dy.len();
    let src: [&[T]; K] = std::array::from_fn(|t| &src[t][..n]);
    let mut a = *acc;
    let blocks = n / LANES * LANES;
    for j in (0..blocks).step_by(LANES) {
        let d: &[T; LANES] = dy[j..j + LANES].try_into().expect("a full block");
        for (at, s) in a.iter_mut().zip(&src) {
            let xs: &[T; LANES] = s[j..j + LANES].try_into().expect("a full block");
            for ((v, &u), &x) in at.iter_mut().zip(d).zip(xs) {
                *v = madd::<T, FMA>(u, x, *v);
            }
        }
    }
    for (at, s) in a.iter_mut().zip(&src) {
        for ((v, &u), &x) in at.iter_mut().zip(&dy[blocks..]).zip(&s[blocks..]) {
            *v = madd::<T, FMA>(u, x, *v);
        }
    }
    *acc = a;
}

/// [`dots_any`] compiled for AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dots_fma<T: Scalar, const K: usize>(dy: &[T], src: &[&[T]; K], acc: &mut [[T; LANES]; K]) {
    dots_any::<T, K, true>(dy, src, acc);
}

/// `even[t] = src[2t]`, `odd[t] = src[2t + 1]` for as many pairs as all three hold.
#[inline(always)]
fn split_any<T: Scalar>(src: &[T], even: &mut [T], odd: &mut [T]) {
    for ((pair, e), o) in src.chunks_exact(2).zip(even).zip(odd) {
        *e = pair[0];
        *o = pair[1];
    }
}

/// For each `(dst, first, second)`: `dst[2t] = first[t]`, `dst[2t + 1] = second[t]` over `dst`
/// (a last odd element takes `first` only).
#[inline(always)]
fn interleave_any<'a, T: Scalar + 'a>(rows: impl Iterator<Item = (&'a mut [T], &'a [T], &'a [T])>) {
    for (dst, first, second) in rows {
        let pairs = dst.len() / 2;
        let (head, tail) = dst.split_at_mut(2 * pairs);
        let (first, second) = (&first[..pairs + tail.len()], &second[..pairs]);
        for ((pair, &a), &b) in head.chunks_exact_mut(2).zip(first).zip(second) {
            pair[0] = a;
            pair[1] = b;
        }
        if let Some(v) = tail.first_mut() {
            *v = first[pairs];
        }
    }
}

/// [`split_any`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn split_avx2<T: Scalar>(src: &[T], even: &mut [T], odd: &mut [T]) {
    split_any(src, even, odd);
}

/// [`interleave_any`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn interleave_avx2<'a, T: Scalar + 'a>(
    rows: impl Iterator<Item = (&'a mut [T], &'a [T], &'a [T])>,
) {
    interleave_any(rows);
}

/// The code the CPU runs: AVX2 and FMA when it has both (checked once per pass, cached by
/// `std`), else the baseline build. Fused and unfused multiply-adds round differently, so one
/// CPU always takes the same path.
#[derive(Clone, Copy)]
pub(super) struct Simd {
    fma: bool,
}

impl Simd {
    /// Detects the CPU's features.
    pub(super) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        let fma = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let fma = false;
        Simd { fma }
    }

    /// `out[j] = init + sum_t w[t] * src[t][j]`, or `out[j] += sum_t w[t] * src[t][j]`
    /// without `init`, taps added in order (every `src[t]` at least as long as `out`, as many
    /// weights as sources, at most [`MAX_TAPS`]). Starting from `init` gives the same bits as
    /// filling `out` with it first, without the pass over `out`.
    #[inline]
    pub(super) fn taps<T: Scalar>(self, out: &mut [T], init: Option<T>, src: &[&[T]], w: &[T]) {
        assert_eq!(src.len(), w.len(), "one weight per source");
        #[cfg(target_arch = "x86_64")]
        if self.fma {
            // SAFETY: `fma` is only true when the CPU has AVX2 and FMA, the function's features.
            unsafe { taps_fma(out, init, src, w) };
            return;
        }
        taps_any::<T, false>(out, init, src, w);
    }

    /// `acc[t][l] += sum_{j = l mod LANES} dy[j] * src[t][j]` (every `src[t]` at least as
    /// long as `dy`): `K` dot products in partial sums, each added in order of `j`.
    #[inline]
    pub(super) fn dots<T: Scalar, const K: usize>(
        self,
        dy: &[T],
        src: &[&[T]; K],
        acc: &mut [[T; LANES]; K],
    ) {
        #[cfg(target_arch = "x86_64")]
        if self.fma {
            // SAFETY: as in `taps`.
            unsafe { dots_fma(dy, src, acc) };
            return;
        }
        dots_any::<T, K, false>(dy, src, acc);
    }

    /// `even[t] = src[2t]`, `odd[t] = src[2t + 1]` for as many pairs as all three hold.
    #[inline]
    pub(super) fn split<T: Scalar>(self, src: &[T], even: &mut [T], odd: &mut [T]) {
        #[cfg(target_arch = "x86_64")]
        if self.fma {
            // SAFETY: as in `taps`.
            unsafe { split_avx2(src, even, odd) };
            return;
        }
        split_any(src, even, odd);
    }

    /// For each row `(dst, first, second)`: `dst[2t] = first[t]`, `dst[2t + 1] = second[t]`
    /// over `dst` (`first` holding at least `ceil(len / 2)` values, `second` `floor(len / 2)`);
    /// the rows of a whole plane in one call, so the loop is compiled with the wide vectors.
    #[inline]
    pub(super) fn interleave<'a, T: Scalar + 'a>(
        self,
        rows: impl Iterator<Item = (&'a mut [T], &'a [T], &'a [T])>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if self.fma {
            // SAFETY: as in `taps`.
            unsafe { interleave_avx2(rows) };
            return;
        }
        interleave_any(rows);
    }
}

/// Up to [`MAX_TAPS`] taps of one output row: source rows and their weights.
pub(super) struct Taps<'a, T> {
    src: [&'a [T]; MAX_TAPS],
    w: [T; MAX_TAPS],
    k: usize,
}

impl<'a, T: Scalar> Taps<'a, T> {
    /// No taps.
    pub(super) fn new() -> Self {
        Taps {
            src: [&[]; MAX_TAPS],
            w: [T::zero(); MAX_TAPS],
            k: 0,
        }
    }

    /// Adds the tap `w * src[j]`.
    pub(super) fn push(&mut self, src: &'a [T], w: T) {
        self.src[self.k] = src;
        self.w[self.k] = w;
        self.k += 1;
    }

    /// `out[j] = init + sum_t w[t] * src[t][j]`, or `+=` without `init` (see [`Simd::taps`]).
    pub(super) fn run(&self, simd: Simd, init: Option<T>, out: &mut [T]) {
        simd.taps(out, init, &self.src[..self.k], &self.w[..self.k]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tap count up to the maximum, on a row covering every block size (32 + 16 + 8 + 3),
    /// against the plain sum in the same order; chunked counts (7, 11, ...) included.
    #[test]
    fn every_tap_count_matches_plain_sums() {
        let n = 59;
        let rows: Vec<Vec<f64>> = (0..MAX_TAPS)
            .map(|t| {
                (0..n)
                    .map(|j| ((t * 31 + j * 7) % 13) as f64 - 6.0)
                    .collect()
            })
            .collect();
        let w: Vec<f64> = (0..MAX_TAPS).map(|t| t as f64 * 0.5 - 3.0).collect();
        for simd in [Simd { fma: false }, Simd::detect()] {
            for k in 0..=MAX_TAPS {
                let src: Vec<&[f64]> = rows[..k].iter().map(Vec::as_slice).collect();
                let mut out = vec![1.0; n];
                simd.taps(&mut out, None, &src, &w[..k]);
                let mut from = vec![f64::NAN; n];
                simd.taps(&mut from, Some(1.0), &src, &w[..k]);
                for (j, &v) in out.iter().enumerate() {
                    let want = (0..k).fold(1.0, |s, t| s + w[t] * rows[t][j]);
                    assert_eq!(v, want, "{k} taps, output {j}");
                    assert_eq!(
                        from[j].to_bits(),
                        v.to_bits(),
                        "{k} taps from 1, output {j}"
                    );
                }
            }
        }
    }

    #[test]
    fn split_and_interleave_are_inverse() {
        let simd = Simd::detect();
        for len in [1usize, 2, 7, 8, 33, 64] {
            let src: Vec<f32> = (0..len).map(|v| v as f32).collect();
            let (mut even, mut odd) = (vec![0.0; len.div_ceil(2)], vec![0.0; len / 2]);
            simd.split(&src, &mut even, &mut odd);
            assert!(even[..len / 2]
                .iter()
                .enumerate()
                .all(|(t, &v)| v == (2 * t) as f32));
            assert!(odd
                .iter()
                .enumerate()
                .all(|(t, &v)| v == (2 * t + 1) as f32));
            if len % 2 == 1 {
                even[len / 2] = (len - 1) as f32;
            }
            let mut back = vec![-1.0; len];
            simd.interleave(std::iter::once((&mut back[..], &even[..], &odd[..])));
            assert!(back.iter().enumerate().all(|(s, &v)| v == s as f32));
        }
    }
}
